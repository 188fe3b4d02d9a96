//! Hedged attempts: the cure for a call that is slow rather than failing.
//!
//! The first attempt starts at once. If it has not finished after the hedge
//! delay, a copy starts while it keeps running, and so on, up to the
//! policy's `max_attempts` started. The first success wins and the other
//! attempts are dropped (cancelled). An error the classifier calls permanent
//! ends the call at once. A transient error lets the others run and, as
//! gRPC's hedging policy does for non-fatal codes, starts the next copy at
//! once instead of waiting for the hedge delay. When every attempt has
//! failed, the last error is returned.
//!
//! This is the engine's [`Call`] driven differently, not a second retry
//! loop: every copy is asked of the deadline, the breaker (one permit per
//! attempt in flight) and the budget (a retry token per copy) exactly as a
//! retry is, and the call's end is recorded the same way.
//!
//! The attempts run concurrently inside the caller's task: no spawn, so no
//! `Send` or `'static` bound is added. The first attempt is pinned in place
//! (a call whose first attempt answers in time allocates nothing); only the
//! copies are boxed.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use crate::breaker::{CircuitBreaker, Permit};
use crate::describe::ErrorText;
use crate::engine::{Call, RetryOutcome};
use crate::event::RetryEvent;
use crate::outcome::Outcome;
use crate::sleep::Sleeper;
use crate::timeout::TimedOut;
use crate::verdict::Verdict;

/// What the driver waits for next.
enum Event<R> {
    /// Attempt `number` finished with this result.
    Finished(u32, R),
    /// The hedge delay passed with no answer: time for a copy.
    HedgeDue,
    /// The deadline passed.
    Deadline,
}

/// The breaker permits of the attempts in flight, by attempt number: given
/// back when the call is dropped (a cancelled future) or its losers are.
/// Empty, and never allocated, without a breaker.
struct Permits {
    breaker: Option<&'static CircuitBreaker>,
    held: Vec<(u32, Permit)>,
}

impl Permits {
    fn hold(&mut self, number: u32, permit: Option<Permit>) {
        if let Some(permit) = permit {
            self.held.push((number, permit));
        }
    }

    fn take(&mut self, number: u32) -> Option<Permit> {
        let index = self.held.iter().position(|(held, _)| *held == number)?;
        Some(self.held.swap_remove(index).1)
    }
}

impl Drop for Permits {
    fn drop(&mut self) {
        if let Some(breaker) = self.breaker {
            for (_, permit) in self.held.drain(..) {
                breaker.release(permit);
            }
        }
    }
}

/// Runs a hedged call: `start` makes the attempt `call` is at (called once
/// per attempt started), `hedge` is the delay before a copy. The breaker
/// (if any) must already have admitted the first attempt ([`Call::admit`]).
///
/// `timed_out` makes the result of a call whose deadline passed before an
/// attempt answered: given it, the deadline drops every attempt in flight;
/// without it (no `E: From<TimedOut>` was asked for), the deadline only
/// stops copies from starting.
#[allow(clippy::too_many_arguments, reason = "the same hooks as `Call::step`, plus the attempt factory")]
#[allow(
    clippy::too_many_lines,
    reason = "one state machine over pinned attempts: split, it would pass them all around"
)]
pub async fn hedged<S, R, Fut, Start, K, N, D>(
    call: &mut Call<'_>,
    sleeper: &S,
    hedge: Duration,
    mut start: Start,
    classify: K,
    notify: N,
    describe: D,
    timed_out: Option<fn(TimedOut) -> R>,
) -> R
where
    S: Sleeper,
    R: RetryOutcome,
    Fut: Future<Output = R>,
    Start: FnMut(&Call<'_>) -> Fut,
    K: Fn(&R::Error) -> Verdict,
    N: Fn(&RetryEvent<'_, R::Error>),
    D: Fn(&R::Error, &mut fmt::Formatter<'_>) -> fmt::Result,
{
    let mut permits = Permits { breaker: call.breaker(), held: Vec::new() };
    permits.hold(1, call.hedge_begin());
    let max_attempts = call.parts().1.max_attempts;
    let mut first = pin!(Some(start(call)));
    let mut copies: Vec<(u32, Pin<Box<Fut>>)> = Vec::new();
    let mut started = 1_u32;
    // The hedge timer, restarted at each copy; `None` once no copy may start.
    let mut timer = pin!((max_attempts > 1).then(|| sleeper.sleep(hedge)));
    let mut deadline = pin!(timed_out.and(call.time_left()).map(|left| sleeper.sleep(left)));
    loop {
        let event = poll_fn(|context| {
            if let Some(attempt) = first.as_mut().as_pin_mut()
                && let Poll::Ready(result) = attempt.poll(context)
            {
                first.set(None);
                return Poll::Ready(Event::Finished(1, result));
            }
            for index in 0..copies.len() {
                if let Poll::Ready(result) = copies[index].1.as_mut().poll(context) {
                    let (number, _) = copies.swap_remove(index);
                    return Poll::Ready(Event::Finished(number, result));
                }
            }
            if let Some(sleep) = deadline.as_mut().as_pin_mut()
                && sleep.poll(context).is_ready()
            {
                return Poll::Ready(Event::Deadline);
            }
            if let Some(sleep) = timer.as_mut().as_pin_mut()
                && sleep.poll(context).is_ready()
            {
                return Poll::Ready(Event::HedgeDue);
            }
            Poll::Pending
        })
        .await;
        let in_flight = u32::from(first.is_some()) + u32::try_from(copies.len()).unwrap_or(u32::MAX);
        let (number, result) = match event {
            Event::Finished(number, result) => (number, result),
            Event::HedgeDue => {
                timer.set(None);
                if started < max_attempts {
                    match call.hedge_copy() {
                        Ok(permit) => {
                            started += 1;
                            permits.hold(started, permit);
                            copies.push((started, Box::pin(start(call))));
                            if started < max_attempts {
                                timer.set(Some(sleeper.sleep(hedge)));
                            }
                        }
                        // Refused (deadline, breaker, budget): the attempts
                        // in flight go on, and no more copies start.
                        Err(_) => started = max_attempts,
                    }
                }
                continue;
            }
            Event::Deadline => {
                deadline.set(None);
                // Armed only with `timed_out`.
                let Some(timed_out) = timed_out else { continue };
                // Everything in flight is dropped here, unanswered.
                drop(copies);
                first.set(None);
                for number in 1..=started {
                    call.hedge_release(permits.take(number));
                }
                let limit = call.parts().1.deadline.unwrap_or_default();
                let result = timed_out(TimedOut::after(limit));
                call.hedge_end(Outcome::Exhausted, 0, &"deadline");
                return result;
            }
        };
        let Some(error) = result.failure() else {
            call.hedge_answered(permits.take(number), false);
            drop(copies);
            first.set(None);
            for loser in 1..=started {
                call.hedge_release(permits.take(loser));
            }
            call.hedge_end(Outcome::Success, number, &"success");
            return result;
        };
        let verdict = classify(error);
        call.hedge_answered(permits.take(number), verdict != Verdict::Stop);
        let text = ErrorText(error, &describe);
        let last = in_flight == 0;
        if verdict == Verdict::Stop || (last && started >= max_attempts) {
            drop(copies);
            first.set(None);
            for loser in 1..=started {
                call.hedge_release(permits.take(loser));
            }
            let outcome = if verdict == Verdict::Stop { Outcome::NonRetryable } else { Outcome::Exhausted };
            call.hedge_end(outcome, 0, &text);
            return result;
        }
        if started < max_attempts {
            // A transient error: the next copy starts now, not at the hedge delay.
            match call.hedge_copy() {
                Ok(permit) => {
                    notify(&RetryEvent {
                        function: call.parts().0.name(),
                        attempt: number,
                        max_attempts,
                        error,
                        delay: Duration::ZERO,
                    });
                    started += 1;
                    permits.hold(started, permit);
                    copies.push((started, Box::pin(start(call))));
                    timer.set((started < max_attempts).then(|| sleeper.sleep(hedge)));
                }
                Err(outcome) => {
                    started = max_attempts;
                    timer.set(None);
                    if last {
                        call.hedge_end(outcome, 0, &text);
                        return result;
                    }
                }
            }
        }
    }
}

/// One hedged attempt within `limit` ([`Call::attempt_limit`]): past it, the
/// attempt is dropped and fails with the result `timed_out` makes.
pub async fn within<S: Sleeper, R>(
    sleeper: &S,
    limit: Option<Duration>,
    attempt: impl Future<Output = R>,
    timed_out: fn(TimedOut) -> R,
) -> R {
    let limit = limit.unwrap_or(Duration::MAX);
    if !limit.is_zero()
        && let Some(result) = crate::sleep::race(attempt, sleeper.sleep(limit)).await
    {
        return result;
    }
    timed_out(TimedOut::after(limit))
}

/// A by-value argument of a hedged function: each attempt running at once
/// needs its own copy.
#[diagnostic::on_unimplemented(
    message = "`hedge` runs attempts at once, and each hedged attempt needs its own `{Self}`: list the argument in `clone(…)` or take it by reference",
    label = "moved into the first attempt"
)]
pub trait HedgedArgument {}

impl<T: Copy> HedgedArgument for T {}

/// Checks, at compile time, that an argument can be copied into each attempt.
#[inline]
pub fn hedged_argument<T: HedgedArgument>(_: &T) {}
