//! The spans of a retried call (feature `tracing`): one span per call and a
//! child span per attempt, so that a trace shows each failed attempt and the
//! wait after it.
//!
//! ```text
//! handle_request                       (the caller's span, e.g. #[tracing::instrument])
//! └── retry        retry.function=app::load retry.max_attempts=5 retry.attempts=3 retry.outcome=success
//!     ├── retry.attempt  retry.attempt=1 otel.status_code=ERROR error.type=std::io::error::Error retry.verdict=retry retry.delay_ms=100
//!     ├── retry.attempt  retry.attempt=2 otel.status_code=ERROR error.type=std::io::error::Error retry.verdict=retry retry.delay_ms=200
//!     └── retry.attempt  retry.attempt=3
//! ```
//!
//! Both spans are at level `INFO`. The call span is a child of the caller's
//! current span; each attempt span is a child of the call span and is
//! entered while the attempt's body runs (for an async body, while it is
//! polled), so spans and events of the body nest under it.
//!
//! | span | field | when | value |
//! |---|---|---|---|
//! | `retry` | `otel.name` | start | the function's path (the OpenTelemetry span name) |
//! | `retry` | `retry.function` | start | the function's path, as in logs and metrics |
//! | `retry` | `retry.max_attempts` | start | the policy's attempts, the first included |
//! | `retry` | `retry.attempts` | end | attempts made (0: refused before the first) |
//! | `retry` | `retry.outcome` | end | `success`, `exhausted`, `non_retryable`, `budget_refused`, `circuit_open` or `cancelled` |
//! | `retry` | `otel.status_code` | end, unless `success` | `ERROR` |
//! | `retry` | `error.type` | end, when an attempt's error ended it | the error's Rust type |
//! | `retry.attempt` | `retry.attempt` | start | 1 for the first attempt |
//! | `retry.attempt` | `otel.status_code` | failed | `ERROR` |
//! | `retry.attempt` | `otel.status_description` | failed | the error, as logs write it |
//! | `retry.attempt` | `error.type` | failed | the error's Rust type (OpenTelemetry's `error.type`) |
//! | `retry.attempt` | `retry.verdict` | failed | the classifier's answer: `retry`, `retry_after` or `stop` |
//! | `retry.attempt` | `retry.delay_ms` | failed and retried | the delay before the next attempt, in milliseconds |
//!
//! When tracing's global level filter is below `INFO` (no subscriber, or a
//! level filter such as `WARN`), no span is made: a call then costs a load
//! and a compare of that filter, a null pointer kept in the call and two
//! tests of it, and allocates nothing. When the filter lets `INFO` through,
//! the spans are kept in one allocation (their `Span` handles are ten words:
//! held inline, they cost every call their stores and their drop), and
//! `tracing` asks the subscriber whether it wants them.

use std::fmt;
#[cfg(feature = "tracing")]
use std::mem::ManuallyDrop;
use std::time::Duration;

use crate::engine::CallSite;
use crate::outcome::Outcome;
use crate::policy::RetryPolicy;
use crate::verdict::Verdict;

/// The spans of one call: `None` when the level filter disables them, and
/// nothing at all without the `tracing` feature.
///
/// Ended by [`Spans::close`] (the call's `Drop`), never by drop glue of
/// their own: with none, the call's drop stays small enough to be inlined
/// where an unwinding attempt drops it. Called there out of line, it takes
/// the call by address, and the call's state is then kept in memory on
/// every path (twice the instructions of a first-try success).
#[derive(Debug)]
pub(crate) struct Spans {
    #[cfg(feature = "tracing")]
    enabled: ManuallyDrop<Option<Box<Enabled>>>,
}

#[cfg(feature = "tracing")]
#[derive(Debug)]
struct Enabled {
    call: tracing::Span,
    /// The latest attempt's span, kept for what the step records on it.
    attempt: tracing::Span,
}

/// Without the feature, there are never spans to record.
#[cfg(not(feature = "tracing"))]
#[derive(Debug)]
enum Enabled {}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables, clippy::unused_self))]
impl Spans {
    /// The call's span, a child of the caller's current span.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn start(site: &CallSite, policy: &RetryPolicy) -> Self {
        #[cfg(feature = "tracing")]
        {
            use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
            // The same first test as `info_span!`'s, made here so that a
            // disabled call keeps only a null pointer.
            let enabled = STATIC_MAX_LEVEL >= LevelFilter::INFO && LevelFilter::current() >= LevelFilter::INFO;
            Spans { enabled: ManuallyDrop::new(if enabled { Self::start_enabled(site, policy) } else { None }) }
        }
        #[cfg(not(feature = "tracing"))]
        Spans {}
    }

    #[cfg(feature = "tracing")]
    #[cold]
    #[inline(never)]
    fn start_enabled(site: &CallSite, policy: &RetryPolicy) -> Option<Box<Enabled>> {
        {
            let call = tracing::info_span!(
                "retry",
                otel.name = site.function(),
                retry.function = site.function(),
                // Numbers as `i64`: tracing-opentelemetry exports a `u64` as text.
                retry.max_attempts = i64::from(policy.max_attempts),
                retry.attempts = tracing::field::Empty,
                retry.outcome = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
                error.type = tracing::field::Empty,
            );
            // A subscriber that does not want it (a per-target filter) leaves it disabled.
            (!call.is_disabled()).then(|| Box::new(Enabled { call, attempt: tracing::Span::none() }))
        }
    }

    /// The spans, moved out (`self` keeps none) to be ended out of line by
    /// [`Spans::close`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn take(&mut self) -> Spans {
        #[cfg(feature = "tracing")]
        return Spans { enabled: ManuallyDrop::new(self.enabled.take()) };
        #[cfg(not(feature = "tracing"))]
        Spans {}
    }

    /// Ends the spans, if any: called once, by the call's `Drop` (the spans
    /// have no drop glue of their own). `cancelled_after`: the attempts of
    /// a call dropped before it returned.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn close(self, cancelled_after: Option<u32>) {
        #[cfg(feature = "tracing")]
        if let Some(enabled) = ManuallyDrop::into_inner(self.enabled) {
            close(enabled, cancelled_after);
        }
    }

    /// The spans, if recorded: never without the feature.
    ///
    /// Everything out of line is handed this, the heap pointer's value, and
    /// never `&self`: the address of a field of the `Call` passed to a
    /// function not inlined, even on a path never taken, makes the optimiser
    /// keep the whole call in memory (its state too, on the happy path).
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn enabled(&self) -> Option<&Enabled> {
        #[cfg(feature = "tracing")]
        return self.enabled.as_deref();
        #[cfg(not(feature = "tracing"))]
        None
    }

    /// The spans, moved out of the call: by value, for code out of line,
    /// and dropped (ended) if that code unwinds.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn take_enabled(&mut self) -> Option<Box<Enabled>> {
        #[cfg(feature = "tracing")]
        return self.enabled.take();
        #[cfg(not(feature = "tracing"))]
        None
    }

    /// Runs the attempt after `failures` failed ones of a sync body inside
    /// its span. (The attempt's number is counted out of line: on the happy
    /// path it is not needed.)
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn in_attempt<R>(&mut self, failures: u32, body: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        if let Some(enabled) = self.enabled.as_deref_mut() {
            return in_span(enabled.new_attempt(failures), body);
        }
        body()
    }

    /// The attempt after `failures` failed ones of an async body, entering
    /// its span at each poll.
    #[cfg(feature = "tracing")]
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn instrument<F: Future>(
        &mut self,
        failures: u32,
        attempt: F,
    ) -> impl Future<Output = F::Output> + use<F> {
        let span = self.enabled.as_deref_mut().map(|enabled| enabled.new_attempt(failures));
        // Not `Instrumented` with a disabled span: its poll, drop and moves
        // of the span cost a disabled call some fifty instructions.
        async move {
            match span {
                Some(span) => tracing::Instrument::instrument(attempt, span).await,
                None => attempt.await,
            }
        }
    }

    /// An attempt of an async body (no spans without the feature).
    #[cfg(not(feature = "tracing"))]
    #[inline]
    pub(crate) fn instrument<F: Future>(&mut self, failures: u32, attempt: F) -> F {
        attempt
    }
}

#[cfg(feature = "tracing")]
impl Enabled {
    #[cold]
    #[inline(never)]
    fn new_attempt(&mut self, failures: u32) -> tracing::Span {
        let number = failures.saturating_add(1);
        let attempt = tracing::info_span!(
            parent: &self.call,
            "retry.attempt",
            retry.attempt = i64::from(number),
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
            error.type = tracing::field::Empty,
            retry.verdict = tracing::field::Empty,
            retry.delay_ms = tracing::field::Empty,
        );
        self.attempt = attempt.clone();
        attempt
    }
}

#[cfg_attr(not(feature = "tracing"), allow(unused_variables, clippy::unused_self))]
impl Spans {
    // The call ends, and its spans with it, in each of the three below:
    // the call's `Drop` looks at the spans only for a call that did not end
    // (see there).

    /// The attempt after `failures` failed ones succeeded: the call ends.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn succeeded(&mut self, failures: u32) {
        if let Some(enabled) = self.take_enabled() {
            end(enabled, Outcome::Success, failures.saturating_add(1), None);
        }
    }

    /// The attempt failed with an error of type `error_type`, written
    /// `error`; the classifier said `verdict` and the engine decided
    /// `decided`: a retry after a delay, or the end of the call.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn failed(
        &mut self,
        error_type: &'static str,
        error: &dyn fmt::Display,
        verdict: Verdict,
        decided: Result<Duration, Outcome>,
        attempts: u32,
    ) {
        if decided.is_ok() {
            if let Some(enabled) = self.enabled() {
                enabled.record_failure(error_type, error, verdict, decided, attempts);
            }
        // Taken out before `error` is written: they are ended even if that panics.
        } else if let Some(enabled) = self.take_enabled() {
            last_failure(enabled, error_type, error, verdict, decided, attempts);
        }
    }

    /// The call ended before an attempt's result decided it: refused by the
    /// breaker (`attempts` 0) or dropped.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn interrupted(&mut self, outcome: Outcome, attempts: u32) {
        if let Some(enabled) = self.take_enabled() {
            end(enabled, outcome, attempts, None);
        }
    }
}

/// What a call whose spans are recorded does out of line.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables, clippy::unused_self))]
impl Enabled {
    #[cold]
    #[inline(never)]
    fn record_failure(
        &self,
        error_type: &'static str,
        error: &dyn fmt::Display,
        verdict: Verdict,
        decided: Result<Duration, Outcome>,
        attempts: u32,
    ) {
        #[cfg(feature = "tracing")]
        {
            let attempt = &self.attempt;
            attempt.record("otel.status_code", "ERROR");
            attempt.record("otel.status_description", tracing::field::display(error));
            attempt.record("error.type", error_type);
            attempt.record("retry.verdict", verdict_name(verdict));
            match decided {
                Ok(delay) => {
                    attempt.record("retry.delay_ms", i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                }
                Err(outcome) => self.ended(outcome, attempts, Some(error_type)),
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn ended(&self, outcome: Outcome, attempts: u32, error_type: Option<&'static str>) {
        #[cfg(feature = "tracing")]
        {
            let call = &self.call;
            call.record("retry.attempts", i64::from(attempts));
            call.record("retry.outcome", outcome.name());
            if outcome != Outcome::Success {
                call.record("otel.status_code", "ERROR");
            }
            if let Some(error_type) = error_type {
                call.record("error.type", error_type);
            }
        }
    }
}

/// Runs `body` inside `span`, out of line: the span's handling (its drop
/// glue, the unwinding path that ends it) then costs the disabled case's
/// code nothing.
#[cfg(feature = "tracing")]
#[cold]
#[inline(never)]
fn in_span<R>(span: tracing::Span, body: impl FnOnce() -> R) -> R {
    let _entered = span.entered();
    body()
}

/// Ends the spans out of line: their drop glue is long.
#[cfg(feature = "tracing")]
#[cold]
#[inline(never)]
fn close(enabled: Box<Enabled>, cancelled_after: Option<u32>) {
    if let Some(attempts) = cancelled_after {
        enabled.ended(Outcome::Cancelled, attempts, None);
    }
    drop(enabled);
}

/// Records how the call ended and ends its spans.
#[cold]
#[inline(never)]
fn end(enabled: Box<Enabled>, outcome: Outcome, attempts: u32, error_type: Option<&'static str>) {
    enabled.ended(outcome, attempts, error_type);
    drop(enabled);
}

/// Records the failure that ended the call and ends its spans.
#[cold]
#[inline(never)]
fn last_failure(
    enabled: Box<Enabled>,
    error_type: &'static str,
    error: &dyn fmt::Display,
    verdict: Verdict,
    decided: Result<Duration, Outcome>,
    attempts: u32,
) {
    enabled.record_failure(error_type, error, verdict, decided, attempts);
    drop(enabled);
}

/// The name spans give a classifier's answer.
#[cfg(feature = "tracing")]
fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Retry => "retry",
        Verdict::RetryAfter(_) => "retry_after",
        Verdict::Stop => "stop",
    }
}
