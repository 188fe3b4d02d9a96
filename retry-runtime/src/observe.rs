//! Where the retry loop reports what happened: [`crate::stats`], `tracing`
//! events (feature `tracing`) and OpenTelemetry metrics (feature
//! `opentelemetry`). Everything here runs on the cold paths, except the
//! first-try success, which only touches the metrics when that feature is on.

use std::fmt;
use std::time::Duration;

/// An error formatted by the describer the macro generated: `Display` when
/// the error type has it, `Debug` otherwise, else the type's name.
pub(crate) struct ErrorText<'a, E, D>(pub(crate) &'a E, pub(crate) &'a D);

impl<E, D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for ErrorText<'_, E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

/// `100ms`, `2600ms`, `12.5s`, `250µs`: a delay as a person reads it in a log line.
pub(crate) struct Human(pub(crate) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d < Duration::from_millis(1) {
            write!(f, "{}µs", d.as_micros())
        } else if d < Duration::from_secs(10) {
            write!(f, "{}ms", d.as_millis())
        } else {
            write!(f, "{:.1}s", d.as_secs_f64())
        }
    }
}

/// Whether this build reports anything (logs or metrics): without either
/// feature, a call that records no statistics skips reporting altogether.
pub(crate) const REPORTS: bool = cfg!(any(feature = "tracing", feature = "opentelemetry"));

/// The function's own name, without the module path: `load` in `app::repo::load`.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn short_name(function: &str) -> &str {
    function.rsplit("::").next().unwrap_or(function)
}

/// A failed attempt will be retried after `delay`.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn retrying(
    function: &'static str,
    attempt: u32,
    max_attempts: u32,
    delay: Duration,
    error: &dyn fmt::Display,
) {
    #[cfg(feature = "tracing")]
    tracing::warn!(
        retry.function = function,
        retry.attempt = attempt,
        retry.max_attempts = max_attempts,
        retry.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        error = %error,
        "retrying {} after attempt {attempt} failed: {error}; next in {} (attempt {attempt}/{max_attempts})",
        short_name(function),
        Human(delay),
    );
    #[cfg(feature = "opentelemetry")]
    crate::metrics::retrying(function, delay);
}

/// The call succeeded on attempt `attempts`.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn succeeded(function: &'static str, attempts: u32, max_attempts: u32) {
    #[cfg(feature = "tracing")]
    if attempts > 1 {
        tracing::info!(
            retry.function = function,
            retry.attempts = attempts,
            retry.max_attempts = max_attempts,
            "{} succeeded after {attempts} attempts",
            short_name(function),
        );
    }
    #[cfg(feature = "opentelemetry")]
    crate::metrics::ended(function, "success");
}

/// The call failed for good on attempt `attempts`: `outcome` says why.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn failed(
    function: &'static str,
    attempts: u32,
    max_attempts: u32,
    outcome: crate::stats::Outcome,
    error: &dyn fmt::Display,
) {
    let outcome = outcome.name();
    // A first attempt's error is the caller's to report: logging it here too
    // would log every permanent error twice.
    #[cfg(feature = "tracing")]
    if attempts > 1 && outcome != "cancelled" {
        tracing::error!(
            retry.function = function,
            retry.attempts = attempts,
            retry.max_attempts = max_attempts,
            retry.outcome = outcome,
            error = %error,
            "giving up on {} after {attempts} attempts: {error}",
            short_name(function),
        );
    }
    #[cfg(feature = "opentelemetry")]
    crate::metrics::ended(function, outcome);
}

/// A call of `function` moved the circuit breaker `breaker` to `state`.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn circuit_changed(function: &'static str, breaker: &'static str, state: crate::CircuitState) {
    #[cfg(feature = "tracing")]
    match state {
        crate::CircuitState::Open => tracing::warn!(
            retry.function = function,
            retry.breaker = breaker,
            retry.circuit = %state,
            "circuit breaker {breaker} opened after a failure of {}: calls fail fast until it cools down",
            short_name(function),
        ),
        crate::CircuitState::HalfOpen | crate::CircuitState::Closed => tracing::info!(
            retry.function = function,
            retry.breaker = breaker,
            retry.circuit = %state,
            "circuit breaker {breaker} is {state} (after a call of {})",
            short_name(function),
        ),
    }
}
