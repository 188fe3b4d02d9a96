//! Where a call's record goes: its [`crate::stats`], `tracing` events
//! (feature `tracing`) and OpenTelemetry metrics (feature `opentelemetry`).
//! The engine reports each retry and each end here, once, and every sink
//! reads that one record, so the three always agree. Everything here runs
//! on the cold paths, except a retry's two counter adds.

use crate::breaker::CircuitState;
use crate::outcome::{Ended, Outcome, Retried};
use crate::stats::Stats;

/// Whether this build reports anything besides statistics (logs or
/// metrics): without either feature, the reporting calls fold away.
pub(crate) const REPORTS: bool = cfg!(any(feature = "tracing", feature = "opentelemetry"));

/// Whether a first-try success is reported beyond its statistics (metrics
/// count every call).
pub(crate) const REPORTS_FIRST_TRY: bool = cfg!(feature = "opentelemetry");

/// The function's own name, without its path: `load` in `app::repo::Repo::load`.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn short_name(function: &str) -> &str {
    function.rsplit("::").next().unwrap_or(function)
}

/// A failed attempt will be retried.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub(crate) fn retried(stats: Option<&Stats>, retried: &Retried<'_>) {
    if let Some(stats) = stats {
        stats.record_retry(retried.delay);
    }
    if REPORTS {
        report_retried(retried);
    }
}

#[cold]
#[inline(never)]
#[cfg_attr(not(any(feature = "tracing", feature = "opentelemetry")), allow(unused_variables))]
fn report_retried(retried: &Retried<'_>) {
    #[cfg(feature = "tracing")]
    {
        let Retried { function, attempt, max_attempts, delay, error, .. } = *retried;
        let function = function.get();
        tracing::warn!(
            retry.function = function,
            retry.attempt = attempt,
            retry.max_attempts = max_attempts,
            retry.delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            error = %error,
            "retrying {} after attempt {attempt} failed: {error}; next in {} (attempt {attempt}/{max_attempts})",
            short_name(function),
            crate::duration::Human(delay),
        );
    }
    #[cfg(feature = "opentelemetry")]
    crate::metrics::retrying(retried.function.get(), retried.delay, retried.budget);
}

/// The call ended: its statistics inline (a few relaxed adds, with the
/// outcome a constant where the caller knows it), logs and metrics out of
/// line.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub(crate) fn ended(stats: Option<&Stats>, ended: &Ended<'_>) {
    if let Some(stats) = stats {
        if ended.outcome == Outcome::Success && ended.attempts == 1 {
            stats.record_first_try_success();
        } else {
            stats.record_end(ended.outcome, ended.attempts, ended.unrecorded);
        }
    }
    if REPORTS {
        report_ended(ended);
    }
}

#[cold]
#[cfg_attr(not(any(feature = "tracing", feature = "opentelemetry")), allow(unused_variables))]
fn report_ended(ended: &Ended<'_>) {
    #[cfg(feature = "tracing")]
    {
        let Ended { function, outcome, attempts, max_attempts, error, .. } = *ended;
        let function = function.get();
        // A first attempt's error is the caller's to report: logging it here
        // too would log every permanent error twice.
        match outcome {
            _ if attempts <= 1 => {}
            Outcome::Success => tracing::info!(
                retry.function = function,
                retry.attempts = attempts,
                retry.max_attempts = max_attempts,
                "{} succeeded after {attempts} attempts",
                short_name(function),
            ),
            Outcome::Cancelled => {}
            _ => tracing::error!(
                retry.function = function,
                retry.attempts = attempts,
                retry.max_attempts = max_attempts,
                retry.outcome = outcome.name(),
                error = %error,
                "giving up on {} after {attempts} attempts: {error}",
                short_name(function),
            ),
        }
    }
    #[cfg(feature = "opentelemetry")]
    crate::metrics::ended(ended.function.get(), ended.outcome.name(), ended.unrecorded, ended.budget);
}

/// A hedged call of `function` started attempt `attempt` while the others
/// run: counted as a retry (with no sleep) and as a hedged attempt.
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn hedged(stats: Option<&Stats>, function: &'static str, attempt: u32) {
    if let Some(stats) = stats {
        stats.record_retry(std::time::Duration::ZERO);
        stats.record_hedged();
    }
    #[cfg(feature = "tracing")]
    tracing::debug!(
        retry.function = function,
        retry.attempt = attempt,
        retry.hedged = true,
        "hedging {}: attempt {attempt} started",
        short_name(function)
    );
    #[cfg(feature = "opentelemetry")]
    crate::metrics::hedged(function);
}

/// A failed call of `function` returns its `fallback`'s result instead of its error.
#[cold]
#[inline(never)]
#[cfg_attr(not(any(feature = "tracing", feature = "opentelemetry")), allow(unused_variables))]
pub(crate) fn fell_back(stats: Option<&Stats>, function: &'static str) {
    if let Some(stats) = stats {
        stats.record_fallback();
    }
    #[cfg(feature = "tracing")]
    tracing::info!(
        retry.function = function,
        retry.fallback = true,
        "{} failed: calling its fallback",
        short_name(function)
    );
    #[cfg(feature = "opentelemetry")]
    crate::metrics::fell_back(function);
}

/// A call of `function` moved the circuit breaker `breaker` to `state`.
#[cold]
#[inline(never)]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn circuit_changed(
    stats: Option<&Stats>,
    function: &'static str,
    breaker: &'static str,
    circuit: CircuitState,
) {
    if let (CircuitState::Open, Some(stats)) = (circuit, stats) {
        stats.record_circuit_opened();
    }
    #[cfg(feature = "opentelemetry")]
    crate::metrics::circuit_changed(breaker, circuit);
    #[cfg(feature = "tracing")]
    match circuit {
        CircuitState::Open => tracing::warn!(
            retry.function = function,
            retry.breaker = breaker,
            retry.circuit = %circuit,
            "circuit breaker {breaker} opened after a failure of {}: calls fail fast until it cools down",
            short_name(function),
        ),
        CircuitState::HalfOpen | CircuitState::Closed => tracing::info!(
            retry.function = function,
            retry.breaker = breaker,
            retry.circuit = %circuit,
            "circuit breaker {breaker} is {circuit} (after a call of {})",
            short_name(function),
        ),
    }
}

/// The circuit breaker `breaker` refused an attempt (`admitted` is `None`),
/// or an attempt it admitted in state `admitted` ended, `failed` (a
/// transient failure) or not. Only metrics count these (the breaker counts
/// its own refusals).
#[cold]
#[inline(never)]
#[cfg_attr(not(feature = "opentelemetry"), allow(unused_variables))]
pub(crate) fn circuit_call(breaker: &'static str, admitted: Option<CircuitState>, failed: bool) {
    #[cfg(feature = "opentelemetry")]
    crate::metrics::circuit_call(breaker, admitted, failed);
}
