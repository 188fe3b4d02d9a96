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
use std::time::Duration;

use crate::engine::CallSite;
use crate::outcome::Outcome;
use crate::policy::RetryPolicy;
use crate::verdict::Verdict;

/// The spans of one call: `None` when the level filter disables them, and
/// nothing at all without the `tracing` feature.
#[derive(Debug)]
pub(crate) struct Spans {
    #[cfg(feature = "tracing")]
    enabled: Option<Box<Enabled>>,
}

#[cfg(feature = "tracing")]
#[derive(Debug)]
struct Enabled {
    call: tracing::Span,
    /// The latest attempt's span, kept for what the step records on it.
    attempt: tracing::Span,
}

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
            Spans { enabled: if enabled { Self::start_enabled(site, policy) } else { None } }
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
                retry.max_attempts = policy.max_attempts,
                retry.attempts = tracing::field::Empty,
                retry.outcome = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
                error.type = tracing::field::Empty,
            );
            // A subscriber that does not want it (a per-target filter) leaves it disabled.
            (!call.is_disabled()).then(|| Box::new(Enabled { call, attempt: tracing::Span::none() }))
        }
    }

    /// Ends the spans, if any: called by the call's `Drop`, so that the
    /// field's own drop glue, which then sees `None`, folds away instead of
    /// being called on every call.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn close(&mut self) {
        #[cfg(feature = "tracing")]
        if let Some(enabled) = self.enabled.take() {
            close(enabled);
        }
    }

    /// Whether anything is recorded: a constant `false` without the feature.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    fn enabled(&self) -> bool {
        #[cfg(feature = "tracing")]
        return self.enabled.is_some();
        #[cfg(not(feature = "tracing"))]
        false
    }

    /// Runs attempt `number` of a sync body inside its span.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn in_attempt<R>(&mut self, number: u32, body: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        if let Some(enabled) = &mut self.enabled {
            return in_span(enabled.new_attempt(number), body);
        }
        body()
    }

    /// Attempt `number` of an async body, entering its span at each poll.
    #[cfg(feature = "tracing")]
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn instrument<F: Future>(&mut self, number: u32, attempt: F) -> tracing::instrument::Instrumented<F> {
        let span = match &mut self.enabled {
            Some(enabled) => enabled.new_attempt(number),
            None => tracing::Span::none(),
        };
        tracing::Instrument::instrument(attempt, span)
    }

    /// Attempt `number` of an async body (no spans without the feature).
    #[cfg(not(feature = "tracing"))]
    #[inline]
    pub(crate) fn instrument<F: Future>(&mut self, number: u32, attempt: F) -> F {
        attempt
    }
}

#[cfg(feature = "tracing")]
impl Enabled {
    #[cold]
    #[inline(never)]
    fn new_attempt(&mut self, number: u32) -> tracing::Span {
        let attempt = tracing::info_span!(
            parent: &self.call,
            "retry.attempt",
            retry.attempt = number,
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
    /// The attempt succeeded: the call ends after `attempts` attempts.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn succeeded(&self, attempts: u32) {
        if self.enabled() {
            self.ended(Outcome::Success, attempts, None);
        }
    }

    /// The attempt failed with an error of type `error_type`, written
    /// `error`; the classifier said `verdict` and the engine decided
    /// `decided`: a retry after a delay, or the end of the call.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn failed(
        &self,
        error_type: &'static str,
        error: &dyn fmt::Display,
        verdict: Verdict,
        decided: Result<Duration, Outcome>,
        attempts: u32,
    ) {
        if self.enabled() {
            self.record_failure(error_type, error, verdict, decided, attempts);
        }
    }

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
        if let Some(enabled) = &self.enabled {
            let attempt = &enabled.attempt;
            attempt.record("otel.status_code", "ERROR");
            attempt.record("otel.status_description", tracing::field::display(error));
            attempt.record("error.type", error_type);
            attempt.record("retry.verdict", verdict_name(verdict));
            match decided {
                Ok(delay) => {
                    attempt.record("retry.delay_ms", u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                }
                Err(outcome) => self.ended(outcome, attempts, Some(error_type)),
            }
        }
    }

    /// The call ended before an attempt's result decided it: refused by the
    /// breaker (`attempts` 0) or dropped.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn interrupted(&self, outcome: Outcome, attempts: u32) {
        if self.enabled() {
            self.ended(outcome, attempts, None);
        }
    }

    #[cold]
    #[inline(never)]
    fn ended(&self, outcome: Outcome, attempts: u32, error_type: Option<&'static str>) {
        #[cfg(feature = "tracing")]
        if let Some(enabled) = &self.enabled {
            let call = &enabled.call;
            call.record("retry.attempts", attempts);
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

/// Drops the spans out of line: their drop glue is long.
#[cfg(feature = "tracing")]
#[cold]
#[inline(never)]
fn close(enabled: Box<Enabled>) {
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
