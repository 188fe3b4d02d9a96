//! The retry engine: the state machine of one retried call.
//!
//! A call is admitted (by its circuit breaker, if any), makes an attempt,
//! has the attempt's error classified, decides (another attempt after a
//! delay, or the end), sleeps, and records what happened. The code
//! `#[retry]` expands to and the closure API ([`crate::Retry`]) both drive
//! this one machine: a [`Call`] built from a [`CallSite`], stepped after each
//! attempt with [`Call::step`]. Async calls sleep on a [`Sleeper`] passed
//! in (tokio's timer by default).
//!
//! What depends on the retried function's types (running the body,
//! classifying its error, describing it, the `on_retry` hook) is the small
//! generic [`Call::step`]; everything else (delays, random draws, clocks,
//! statistics, budget, breaker, logs, metrics) is ordinary code compiled
//! once, here.

// The hot path (a step, its decision, the record of a retry or an end) is
// `#[inline(always)]` in optimised builds: left to the optimiser's
// heuristics, it was inlined in one build and called in the next (a call
// takes the state out of registers; twice the instructions per retried call
// were measured), depending on how the caller's crate was split into codegen
// units. Debug builds only hint (`#[inline]`): forced inlining there costs
// compile time and buys nothing.
#![allow(clippy::inline_always, reason = "measured: see above")]

use std::fmt;
use std::time::Duration;

use crate::attempt::{Attempt, Origin};
use crate::breaker::{CircuitBreaker, CircuitOpen, CircuitState, Permit};
use crate::budget::{Paid, RetryBudget};
use crate::clock::Timeline;
use crate::describe::ErrorText;
use crate::event::RetryEvent;
use crate::name::FunctionName;
use crate::observe;
use crate::outcome::{Ended, Outcome, Retried};
use crate::policy::RetryPolicy;
use crate::random::PerThread;
use crate::schedule::Delays;
use crate::sleep::{Sleeper, race};
use crate::span::Spans;
use crate::stats::Stats;
use crate::timeout::TimedOut;
use crate::verdict::{IntoVerdict, Verdict};

/// What a retried function is, fixed at compile time: its name, its
/// policy, what it records and the breaker it asks. `#[retry]` declares one
/// `static` per function, so everything the engine reads through it is a
/// constant.
#[derive(Debug)]
pub struct CallSite {
    name: FunctionName,
    policy: RetryPolicy,
    stats: Option<(&'static Stats, Option<&'static str>)>,
    budget: Option<&'static RetryBudget>,
    breaker: Option<(&'static CircuitBreaker, &'static str)>,
    timeout: Option<Duration>,
}

impl CallSite {
    /// A function named `name`, retried under `policy`, recording nothing.
    #[must_use]
    pub const fn new(name: &'static str, policy: RetryPolicy) -> Self {
        CallSite { name: FunctionName::Given(name), policy, stats: None, budget: None, breaker: None, timeout: None }
    }

    /// A function named by the item `marker` nested in it: the marker's type
    /// name (`app::Repo::load::marker`) without its last segment. Unlike
    /// `module_path!()`, that path names the `Self` type of a method, so
    /// `A::load` and `B::load` in one module are two functions.
    #[must_use]
    pub const fn inside(marker: fn() -> &'static str, policy: RetryPolicy) -> Self {
        CallSite { name: FunctionName::Inside(marker), policy, stats: None, budget: None, breaker: None, timeout: None }
    }

    /// Counts calls into `stats`, listed under this function's name, or
    /// under `name` when given (a shared `static`).
    #[must_use]
    pub const fn with_stats(mut self, stats: &'static Stats, name: Option<&'static str>) -> Self {
        self.stats = Some((stats, name));
        self
    }

    /// Pays for each retry from `budget` (and deposits once per call).
    #[must_use]
    pub const fn with_budget(mut self, budget: &'static RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Asks `breaker` (named `name` in logs) before the first attempt and
    /// before each retry's sleep, and tells it each outcome.
    #[must_use]
    pub const fn with_breaker(mut self, breaker: &'static CircuitBreaker, name: &'static str) -> Self {
        self.breaker = Some((breaker, name));
        self
    }

    /// Drops each attempt of an async call after `timeout` (see [`Call::within_timeout`]).
    #[must_use]
    pub const fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The policy the attribute's arguments make.
    #[must_use]
    pub const fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The function's name, for a [`RetryEvent`].
    pub(crate) fn name(&self) -> FunctionName {
        self.name
    }

    /// The function's name in statistics, logs, metrics and [`RetryEvent::function`].
    pub(crate) fn function(&self) -> &'static str {
        self.name.get()
    }

    #[inline]
    fn stats(&self) -> Option<&'static Stats> {
        self.stats.map(|(stats, _)| stats)
    }
}

/// The return type of a retried function: a `Result`, possibly through an
/// alias. Also makes the result of a call that no attempt's error ended.
#[diagnostic::on_unimplemented(
    message = "#[retry] needs a function returning `Result`, but this one returns `{Self}`",
    label = "not a `Result`",
    note = "only an `Err` can be retried: return `Result<T, E>` (or an alias such as `std::io::Result<T>`)"
)]
pub trait RetryOutcome: Sized {
    /// The error the classifier sees.
    type Error;

    /// The error of a failed attempt, `None` on success.
    fn failure(&self) -> Option<&Self::Error>;

    /// The error of a failed call, taken out for a `fallback`; `Ok(self)` on success.
    ///
    /// # Errors
    /// The call's error.
    fn into_failure(self) -> Result<Self, Self::Error>;

    /// The result of a call an open circuit breaker refused:
    /// `Err(E::from(CircuitOpen))`.
    fn circuit_open(open: CircuitOpen) -> Self
    where
        Self::Error: From<CircuitOpen>;

    /// The result of an attempt that ran out of time: `Err(E::from(TimedOut))`.
    fn timed_out(timed_out: TimedOut) -> Self
    where
        Self::Error: From<TimedOut>;
}

impl<T, E> RetryOutcome for Result<T, E> {
    type Error = E;

    #[inline]
    fn failure(&self) -> Option<&E> {
        self.as_ref().err()
    }

    #[inline]
    fn into_failure(self) -> Result<Self, E> {
        match self {
            Ok(value) => Ok(Ok(value)),
            Err(error) => Err(error),
        }
    }

    #[inline]
    fn circuit_open(open: CircuitOpen) -> Self
    where
        E: From<CircuitOpen>,
    {
        Err(E::from(open))
    }

    #[inline]
    fn timed_out(timed_out: TimedOut) -> Self
    where
        E: From<TimedOut>,
    {
        Err(E::from(timed_out))
    }
}

/// What follows an attempt.
#[derive(Debug)]
pub enum Step<R> {
    /// Return this result: a success, a permanent error, or the last error.
    Return(R),
    /// Sleep this long (zero: not at all), then make the next attempt. The
    /// failed attempt's error is already dropped, so nothing of it is held
    /// across the sleep.
    Sleep(Duration),
}

/// Where a call is, for what its end records if it is dropped there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// An attempt is running (or about to).
    Attempting,
    /// A retry was decided and paid for; the `on_retry` hook is running.
    Notifying,
    /// Sleeping before the next attempt.
    Sleeping,
    /// The call has its result.
    Finished,
}

/// One retried call: made from a [`CallSite`] before the first attempt,
/// stepped after each with [`Call::step`].
///
/// Making it reads no clock unless the policy has a deadline, and draws no
/// random number: that waits for the first failure. Dropping it before the
/// call returned (a cancelled future, a panicking body, classifier or hook)
/// records the call as cancelled, gives back a circuit breaker's permit and
/// a retry's budget token that were not used.
#[derive(Debug)]
pub struct Call<'a> {
    site: &'a CallSite,
    policy: &'a RetryPolicy,
    state: State,
    /// Each attempt's time limit: the site's, or the call's own
    /// ([`Call::with_timeout`], a configuration's, taken once per call).
    timeout: Option<Duration>,
    /// The call's span and its latest attempt's (feature `tracing`; see
    /// `span.rs`). Kept out of `State`: spans are not `Copy`.
    spans: Spans,
}

/// What a call changes as it goes: plain values, so that the optimiser
/// keeps them in registers. Code out of line works on a copy
/// ([`Call::apart`]): lending the state itself would make the caller keep
/// it in memory, on the happy path too.
#[derive(Clone, Copy, Debug)]
struct State {
    /// Attempts that returned a failure.
    failures: u32,
    phase: Phase,
    timeline: Timeline,
    /// The breaker's permit for the next attempt, asked for before the
    /// sleep that precedes it: a breaker that opens during the sleep does
    /// not turn a call whose attempts ran into a refusal.
    permit: Option<Permit>,
    /// When the deadline passes, on the timeline.
    deadline: Option<Duration>,
    delays: Delays,
    /// Budget modes: whether the last attempt ran out of its `timeout` (an
    /// AWS quota charges more for the retry after one), and what the budget
    /// took for the last retry (refunded if it is not made, and by an AWS
    /// quota when the call succeeds).
    timed_out: bool,
    paid: Paid,
}

impl<'a> Call<'a> {
    /// A call of a sync function at `site` under `policy` (the site's own, or
    /// one given at run time).
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    #[must_use]
    pub fn sync(site: &'a CallSite, policy: &'a RetryPolicy) -> Self {
        Self::start(site, policy, Timeline::Thread)
    }

    /// A call of an async function at `site` under `policy`, sleeping on
    /// `sleeper`: its deadline is measured on tokio's clock when the sleeper
    /// is tokio's (so paused time applies), else on [`std::time::Instant`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    #[must_use]
    pub fn asynchronous<S: Sleeper>(site: &'a CallSite, policy: &'a RetryPolicy, sleeper: &S) -> Self {
        Self::start(site, policy, Timeline::of(sleeper))
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn start(site: &'a CallSite, policy: &'a RetryPolicy, timeline: Timeline) -> Self {
        if let Some((stats, name)) = site.stats {
            stats.ensure_registered_with(|| name.unwrap_or_else(|| site.function()));
        }
        let deadline = policy.deadline.map(|deadline| timeline.now().saturating_add(deadline));
        let state = State {
            failures: 0,
            phase: Phase::Attempting,
            timeline,
            permit: None,
            deadline,
            delays: Delays::new(),
            timed_out: false,
            paid: Paid::default(),
        };
        Call { site, policy, state, timeout: site.timeout, spans: Spans::start(site, policy) }
    }

    /// Gives each attempt of this call its own time limit instead of the
    /// site's (`None`: none), as `#[retry(config = …)]` does with the
    /// installed configuration's `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs `out_of_line` on a copy of the state, then keeps the copy.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn apart<T>(&mut self, out_of_line: impl FnOnce(&mut State) -> T) -> T {
        let mut state = self.state;
        let output = out_of_line(&mut state);
        self.state = state;
        output
    }

    // Each step is passed the site and the policy the call was made with:
    // to the optimiser they are then constants it folds (the copies kept in
    // the call, for its drop, are values read back from memory).

    /// Asks the circuit breaker, if any, for the first attempt (the others
    /// asked it before their sleep). On refusal the call is over: the caller
    /// returns the result `refused` makes from [`CircuitOpen`] (passed in, so
    /// a missing conversion is reported once, where the macro names it).
    ///
    /// # Errors
    /// The refused call's result.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn admit<R>(&mut self, site: &CallSite, refused: fn(CircuitOpen) -> R) -> Result<(), R> {
        self.debug_assert_same(site);
        if site.breaker.is_none() || self.state.permit.is_some() {
            return Ok(());
        }
        let policy = self.policy;
        let admitted = self.apart(|state| state.admit_first(site, policy));
        if admitted.is_err() {
            self.spans.interrupted(Outcome::CircuitOpen, 0);
        }
        admitted.map_err(refused)
    }

    /// Decides what follows an attempt that returned `result`.
    ///
    /// `classify` is asked about every failure, the last one included, and
    /// `notify` only when a retry will really be made. `describe` writes an
    /// error in logs.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn step<R, V>(
        &mut self,
        site: &CallSite,
        policy: &RetryPolicy,
        result: R,
        classify: impl FnOnce(&R::Error) -> V,
        notify: impl FnOnce(&RetryEvent<'_, R::Error>),
        describe: impl Fn(&R::Error, &mut fmt::Formatter<'_>) -> fmt::Result,
    ) -> Step<R>
    where
        R: RetryOutcome,
        V: IntoVerdict,
    {
        self.debug_assert_same(site);
        let Some(error) = result.failure() else {
            // Spans first: the call's drop ends them only if it did not end.
            self.spans.succeeded(self.state.failures);
            self.succeeded(site, policy);
            return Step::Return(result);
        };
        let verdict = classify(error).into_verdict();
        let text = ErrorText(error, &describe);
        let decided = self.failed(site, policy, verdict, &text);
        self.spans.failed(std::any::type_name::<R::Error>(), &text, verdict, decided, self.state.failures);
        let Ok(delay) = decided else {
            return Step::Return(result);
        };
        let attempt = self.state.failures;
        notify(&RetryEvent { function: site.name, attempt, max_attempts: policy.max_attempts, error, delay });
        Step::Sleep(self.state.retrying(site, policy, delay, &text))
    }

    /// The attempt succeeded. A first-try success without a breaker costs
    /// one relaxed add to the statistics and one load of the budget.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn succeeded(&mut self, site: &CallSite, policy: &RetryPolicy) {
        if self.state.failures == 0 && site.breaker.is_none() && !observe::REPORTS_FIRST_TRY {
            self.state.phase = Phase::Finished;
            // Budget: a first-try success (one atomic load with a full bucket).
            if let Some(budget) = site.budget {
                budget.first_try_succeeded();
            }
            if let Some(stats) = site.stats() {
                stats.record_first_try_success();
            }
        } else {
            // Budget: a success, at the first try or after retries.
            if let Some(budget) = site.budget {
                if self.state.failures == 0 {
                    budget.first_try_succeeded();
                } else {
                    budget.succeeded_after_retries(self.state.paid);
                }
            }
            if site.breaker.is_some() {
                self.apart(|state| state.breaker_answered(site, false));
            }
            self.state.end(site, policy, Outcome::Success, 1, &"success");
        }
    }

    /// The attempt failed with `verdict`: the delay before the next attempt,
    /// paid for, or how the call ends here. Decided inline: with the
    /// site a constant, a call that has no deadline, budget or breaker to
    /// ask folds to a few tests.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    #[allow(
        clippy::inline_always,
        reason = "measured: left to the optimiser, it is called, and the state is kept in memory"
    )]
    fn failed(
        &mut self,
        site: &CallSite,
        policy: &RetryPolicy,
        verdict: Verdict,
        error: &dyn fmt::Display,
    ) -> Result<Duration, Outcome> {
        let state = &mut self.state;
        state.failures = state.failures.saturating_add(1);
        // Budget: every failed attempt, before anything decides whether it
        // is retried (a gRPC budget charges the transient ones, retried or not).
        if let Some(budget) = site.budget {
            budget.attempt_failed(state.failures, verdict != Verdict::Stop);
        }
        let delay = match verdict {
            Verdict::Stop => Err(Outcome::NonRetryable),
            _ if state.failures >= policy.max_attempts => Err(Outcome::Exhausted),
            // A zero base means zero delays (see `Delays::next`): asked here
            // too, so that a policy that is a value, not a constant, is not
            // copied into a curve for nothing.
            Verdict::Retry if policy.base.is_zero() => Ok(Duration::ZERO),
            Verdict::Retry => Ok(state.delays.next(policy.curve(), state.failures, &mut PerThread)),
            // A server's hint replaces the computed delay but does not feed
            // decorrelated jitter's memory: it says nothing about our curve.
            Verdict::RetryAfter(hint) => {
                // Budget: a gRPC budget restarts the curve at `base` after a
                // pushback, as gRFC A6 specifies.
                if site.budget.is_some_and(RetryBudget::restarts_backoff_after_pushback) {
                    state.delays.restart_after(state.failures);
                }
                Ok(hint.min(policy.cap))
            }
        };
        if site.breaker.is_some() {
            // The breaker counts only the failures the classifier calls transient.
            let transient = verdict != Verdict::Stop;
            self.apart(|state| state.breaker_answered(site, transient));
        }
        match delay.and_then(|delay| self.allowed(site, policy, delay)) {
            Ok(delay) => {
                self.state.phase = Phase::Notifying;
                Ok(delay)
            }
            Err(outcome) => {
                self.state.end(site, policy, outcome, 1, error);
                Err(outcome)
            }
        }
    }

    /// Whether a retry after `delay` may be made: it ends before the
    /// deadline, the breaker grants the next attempt, and the budget pays.
    /// Each is asked only when the policy or the site has it: constants.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn allowed(&mut self, site: &CallSite, policy: &RetryPolicy, delay: Duration) -> Result<Duration, Outcome> {
        let state = &mut self.state;
        // No attempt starts once no time is left: the sleep must end before
        // the deadline, a zero delay included.
        if policy.deadline.is_some() && state.time_left().is_some_and(|left| delay >= left) {
            return Err(Outcome::Exhausted);
        }
        if site.breaker.is_some() {
            match ask_breaker(site, state.timeline) {
                Some(Err(CircuitOpen)) => return Err(Outcome::CircuitOpen),
                Some(Ok(permit)) => state.permit = Some(permit),
                None => {}
            }
        }
        // Paid last, so a retry that the deadline or the breaker stops costs no token.
        // Budget: the retry asked for; what it paid is kept for a refund.
        if let Some(budget) = site.budget {
            let timeline = state.timeline;
            let Some(paid) = budget.retry_allowed(state.timed_out, || timeline.now()) else {
                state.release_permit(site);
                return Err(Outcome::BudgetRefused);
            };
            state.paid = paid;
        }
        Ok(delay)
    }

    /// Runs the next attempt of a sync body, inside its span (feature
    /// `tracing`). The explicit return type `R` lets `?` and coercions in the
    /// body see the function's declared return type.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn attempt<R, F: FnOnce() -> R>(&mut self, body: F) -> R {
        self.spans.in_attempt(self.state.failures, body)
    }

    /// The next attempt of an async body, typed with the function's return
    /// type `R` (as [`Call::attempt`]), entering its span (feature
    /// `tracing`) each time it is polled. It borrows nothing of the call, so
    /// that [`Call::within_timeout`] can run it.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn attempt_async<R, F: Future<Output = R>>(&mut self, body: F) -> impl Future<Output = R> + use<R, F> {
        self.spans.instrument(self.state.failures, body)
    }

    /// Sleeps the thread for `delay` (nothing for zero).
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub fn sleep_blocking(&mut self, delay: Duration) {
        if !delay.is_zero() {
            std::thread::sleep(delay);
            self.state.phase = Phase::Attempting;
        }
    }

    /// Sleeps `delay` on `sleeper`. Callers skip a zero delay, so that no
    /// timer future is made (nor polled) for a sleep that does not happen.
    pub async fn sleep_on<S: Sleeper>(&mut self, sleeper: &S, delay: Duration) {
        sleeper.sleep(delay).await;
        self.state.phase = Phase::Attempting;
    }

    /// Runs one attempt of an async body for at most the call's `timeout`,
    /// or less when the deadline is nearer, timed on `sleeper`; past it, the
    /// attempt is dropped and fails with the result `timed_out` makes
    /// (passed in, so a missing conversion is reported once, where the macro
    /// names it). With no time left at all, the attempt is not started.
    pub async fn within_timeout<S: Sleeper, R>(
        &mut self,
        sleeper: &S,
        attempt: impl Future<Output = R>,
        timed_out: fn(TimedOut) -> R,
    ) -> R {
        let timeout = self.timeout.unwrap_or(Duration::MAX);
        let limit = self.state.time_left().map_or(timeout, |left| left.min(timeout));
        // Budget: an AWS quota charges the retry after a timeout more.
        self.state.timed_out = true;
        if !limit.is_zero()
            && let Some(result) = race(attempt, sleeper.sleep(limit)).await
        {
            self.state.timed_out = false;
            return result;
        }
        if let Some(stats) = self.site.stats() {
            stats.record_timeout();
        }
        timed_out(TimedOut::after(limit))
    }

    /// The call has its `result` (a success, or the error it would return,
    /// whichever way it ended: refused, exhausted, permanent, out of time or
    /// budget); a function with a `fallback` asks here whether to call it.
    /// An error is taken out for the fallback and the fallback counted in
    /// the statistics, logs and metrics.
    ///
    /// # Errors
    /// The error the fallback is called with.
    pub fn fall_back<R: RetryOutcome>(&self, result: R) -> Result<R, R::Error> {
        let error = result.into_failure();
        if error.is_err() {
            observe::fell_back(self.site.stats(), self.site.function());
        }
        error
    }

    // Hedging (`hedge.rs`): attempts that overlap instead of following one
    // another. The driver asks the engine the same questions a retry asks
    // (deadline, breaker, budget), with one permit per attempt in flight.
    // While hedging, `failures` counts the attempts started after the first,
    // so that `attempt` numbers them and a dropped call counts them all.

    /// A hedged call begins: a proportional budget takes its one deposit per
    /// call (the gRPC and AWS modes hear only what the copies pay), and the
    /// first attempt's permit, if any, is taken.
    pub(crate) fn hedge_begin(&mut self) -> Option<Permit> {
        if let Some(budget) = self.site.budget {
            budget.hedged_call_started();
        }
        self.state.permit.take()
    }

    /// May another copy start now? Asked as a retry with no delay is: the
    /// deadline, the breaker (its permit returned), the budget (a token
    /// paid). On yes, the copy is counted as a retry and a hedged attempt.
    pub(crate) fn hedge_copy(&mut self) -> Result<Option<Permit>, Outcome> {
        let (site, policy) = (self.site, self.policy);
        self.allowed(site, policy, Duration::ZERO)?;
        self.state.failures = self.state.failures.saturating_add(1);
        observe::hedged(site.stats(), site.function(), self.state.failures.saturating_add(1));
        Ok(self.state.permit.take())
    }

    /// Tells the breaker how the attempt holding `permit` went.
    pub(crate) fn hedge_answered(&mut self, permit: Option<Permit>, failed: bool) {
        let site = self.site;
        self.state.permit = permit;
        self.apart(|state| state.breaker_answered(site, failed));
    }

    /// Gives back the permit of an attempt dropped unanswered.
    pub(crate) fn hedge_release(&mut self, permit: Option<Permit>) {
        self.state.permit = permit;
        self.state.release_permit(self.site);
    }

    /// The hedged call ends with `outcome`: on success, attempt `winner` won.
    pub(crate) fn hedge_end(&mut self, outcome: Outcome, winner: u32, error: &dyn fmt::Display) {
        let (site, policy) = (self.site, self.policy);
        if outcome == Outcome::Success {
            if let Some(stats) = site.stats() {
                stats.record_hedge_win(winner);
            }
        } else {
            self.state.failures = self.state.failures.saturating_add(1);
        }
        // The first attempt is the one not counted as a retry.
        self.state.end(site, policy, outcome, 1, error);
        // The call's drop ends the spans only of a call that did not end.
        self.spans.take().close(None);
    }

    /// How long the next hedged attempt may run: the call's `timeout` (the
    /// site's, or a configuration's), or less when the deadline is nearer;
    /// `None` for no limit.
    pub fn attempt_limit(&self) -> Option<Duration> {
        match (self.timeout, self.state.time_left()) {
            (Some(timeout), Some(left)) => Some(timeout.min(left)),
            (timeout, left) => timeout.or(left),
        }
    }

    /// The time left before the deadline, if there is one.
    pub(crate) fn time_left(&self) -> Option<Duration> {
        self.state.time_left()
    }

    /// The breaker at the call's site, for a guard that gives permits back.
    pub(crate) fn breaker(&self) -> Option<&'static CircuitBreaker> {
        self.site.breaker.map(|(breaker, _)| breaker)
    }

    /// The call's site and policy.
    pub(crate) fn parts(&self) -> (&CallSite, &RetryPolicy) {
        (self.site, self.policy)
    }

    /// What the attempts of this call share, for [`Call::context`]: read
    /// only by a body that asks for its attempt (the clock, a random draw).
    #[must_use]
    pub fn origin(&self) -> Origin {
        Origin::new(self.state.timeline)
    }

    /// The attempt about to run.
    #[inline]
    #[must_use]
    pub fn context(&self, origin: Origin) -> Attempt {
        origin.attempt(self.state.failures.saturating_add(1), self.policy.max_attempts)
    }

    #[inline]
    fn debug_assert_same(&self, site: &CallSite) {
        debug_assert!(std::ptr::eq(site, self.site), "a call must be stepped with the site it was made at");
    }
}

impl Drop for Call<'_> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn drop(&mut self) {
        // One test and one call out of line, given values: a longer drop
        // (a test of the spans too) is not inlined where an unwinding
        // attempt drops the call, and a call dropped there by address is
        // kept in memory on the happy path too (feature `tracing`: its
        // spans, even disabled, doubled a first-try success). A call that
        // ended has ended its spans (`Spans::succeeded`, `failed`,
        // `interrupted`; `hedge_end`).
        if self.state.phase != Phase::Finished {
            dropped(self.state, self.site, self.policy, self.spans.take());
        }
    }
}

/// A call dropped before it returned: recorded as cancelled, and its
/// spans, if any, ended.
#[cold]
#[inline(never)]
fn dropped(mut state: State, site: &CallSite, policy: &RetryPolicy, spans: Spans) {
    state.abandoned(site, policy);
    spans.close(Some(state.failures));
}

impl State {
    #[inline(never)]
    fn admit_first(&mut self, site: &CallSite, policy: &RetryPolicy) -> Result<(), CircuitOpen> {
        match ask_breaker(site, self.timeline) {
            Some(Err(open)) => {
                self.end(site, policy, Outcome::CircuitOpen, 0, &CircuitOpen);
                Err(open)
            }
            Some(Ok(permit)) => {
                self.permit = Some(permit);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The retry after `delay` is made: recorded, and the sleep that it
    /// takes (zero inside a [`crate::testing::SleepRecorder`], which records
    /// it instead, counting it against the deadline as if it had been slept).
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn retrying(
        &mut self,
        site: &CallSite,
        policy: &RetryPolicy,
        delay: Duration,
        error: &dyn fmt::Display,
    ) -> Duration {
        let retried = Retried {
            function: site.name,
            attempt: self.failures,
            max_attempts: policy.max_attempts,
            delay,
            error,
            budget: site.budget,
        };
        observe::retried(site.stats(), &retried);
        let sleep = if crate::testing::intercept(delay) {
            self.deadline = self.deadline.map(|deadline| deadline.saturating_sub(delay));
            Duration::ZERO
        } else {
            delay
        };
        self.phase = if sleep.is_zero() { Phase::Attempting } else { Phase::Sleeping };
        sleep
    }

    /// The time left before the deadline, if there is one.
    fn time_left(&self) -> Option<Duration> {
        let deadline = self.deadline?;
        Some(deadline.saturating_sub(self.timeline.now()))
    }

    /// Tells the breaker, if any, how the attempt it admitted went, and
    /// reports a state change that caused.
    #[inline(never)]
    fn breaker_answered(&mut self, site: &CallSite, failed: bool) {
        let (Some((breaker, name)), Some(permit)) = (site.breaker, self.permit.take()) else { return };
        // For metrics (`retry.circuit_breaker.calls`): the state it was admitted in.
        let admitted = if permit.is_trial() { CircuitState::HalfOpen } else { CircuitState::Closed };
        observe::circuit_call(name, Some(admitted), failed);
        // Only a failure can open the breaker, the one change that dates itself.
        let now = if failed { self.timeline.now() } else { Duration::ZERO };
        if let Some(state) = breaker.record_at(permit, failed, now) {
            observe::circuit_changed(site.stats(), site.function(), name, state);
        }
    }

    /// Gives back a permit that no attempt will use.
    fn release_permit(&mut self, site: &CallSite) {
        if let (Some((breaker, _)), Some(permit)) = (site.breaker, self.permit.take()) {
            breaker.release(permit);
        }
    }

    /// Records the end of the call: `unrecorded` of its attempts were not
    /// recorded as retried.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn end(
        &mut self,
        site: &CallSite,
        policy: &RetryPolicy,
        outcome: Outcome,
        unrecorded: u32,
        error: &dyn fmt::Display,
    ) {
        self.phase = Phase::Finished;
        let attempts = match outcome {
            Outcome::Success => self.failures.saturating_add(1),
            _ => self.failures,
        };
        let ended = Ended {
            function: site.name,
            outcome,
            attempts,
            max_attempts: policy.max_attempts,
            unrecorded,
            error,
            budget: site.budget,
        };
        observe::ended(site.stats(), &ended);
    }

    /// The call was dropped before it returned.
    #[cold]
    #[inline(never)]
    fn abandoned(&mut self, site: &CallSite, policy: &RetryPolicy) {
        let unrecorded = match self.phase {
            Phase::Finished => return,
            // The attempt in flight was made, and is counted now.
            Phase::Attempting => {
                self.failures = self.failures.saturating_add(1);
                1
            }
            // The hook panicked: the retry it was told of is not made.
            Phase::Notifying => {
                if let Some(budget) = site.budget {
                    budget.refund(self.paid);
                }
                1
            }
            Phase::Sleeping => 0,
        };
        self.release_permit(site);
        self.end(site, policy, Outcome::Cancelled, unrecorded, &"cancelled");
    }
}

/// Asks the breaker at `site`, if any, for an attempt. Only an open breaker
/// looks at the time (for its cool-down): a closed one is asked without
/// reading the clock. If it opens between the two reads, the zero time reads
/// as "not cooled down yet" and the attempt is refused, which is what an
/// open breaker does anyway.
#[inline(never)]
fn ask_breaker(site: &CallSite, timeline: Timeline) -> Option<Result<Permit, CircuitOpen>> {
    let (breaker, name) = site.breaker?;
    // A named breaker is listed (`breaker::status`) the first time it is asked.
    breaker.register();
    let now = if breaker.is_open() { timeline.now() } else { Duration::ZERO };
    let permit = breaker.acquire_at(now);
    // For metrics (`retry.circuit_breaker.calls`): a refusal.
    if permit.is_err() {
        observe::circuit_call(name, None, false);
    }
    Some(permit)
}

/// Types one attempt of a hedged async body with the function's return type
/// `R`: the explicit type lets `?` and coercions in the body see the
/// function's declared return type.
#[inline]
pub fn attempt_async<R, F: Future<Output = R>>(body: F) -> F {
    body
}
