//! How a retried call ended: the one record statistics, logs and metrics are fed from.

use std::fmt;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `Ok`.
    Success,
    /// The attempts or the deadline ran out.
    Exhausted,
    /// The classifier refused to retry.
    NonRetryable,
    /// The retry budget refused the next retry.
    BudgetRefused,
    /// The circuit breaker was open: before the first attempt, or when the
    /// next retry asked it.
    CircuitOpen,
    /// The call was dropped (its future cancelled, or its body, classifier or
    /// hook panicked) before it returned.
    Cancelled,
}

impl Outcome {
    /// The name logs and metrics (`retry.outcome`) give it.
    #[cfg_attr(
        not(any(feature = "tracing", feature = "opentelemetry")),
        allow(dead_code, reason = "read only by logs and metrics")
    )]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Exhausted => "exhausted",
            Outcome::NonRetryable => "non_retryable",
            Outcome::BudgetRefused => "budget_refused",
            Outcome::CircuitOpen => "circuit_open",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// The end of a call, as every sink sees it.
#[cfg_attr(not(feature = "tracing"), allow(dead_code, reason = "read only by logs (and some by metrics)"))]
pub(crate) struct Ended<'a> {
    /// Read only when reported: it may take a look-up.
    pub(crate) function: crate::name::FunctionName,
    pub(crate) outcome: Outcome,
    /// Attempts made, the last one included (0: refused before the first).
    pub(crate) attempts: u32,
    pub(crate) max_attempts: u32,
    /// Attempts not yet counted as retried: the last one, usually; none when
    /// the call was refused before an attempt or dropped while sleeping.
    pub(crate) unrecorded: u32,
    /// The last attempt's error, or why the call ended without one.
    pub(crate) error: &'a dyn fmt::Display,
    /// The site's retry budget, for its metrics.
    #[cfg_attr(not(feature = "opentelemetry"), allow(dead_code, reason = "read only by metrics"))]
    pub(crate) budget: Option<&'static crate::budget::RetryBudget>,
}

/// A failed attempt that will be retried, as every sink sees it.
#[cfg_attr(not(feature = "tracing"), allow(dead_code, reason = "read only by logs (and some by metrics)"))]
pub(crate) struct Retried<'a> {
    /// Read only when reported: it may take a look-up.
    pub(crate) function: crate::name::FunctionName,
    pub(crate) attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) delay: std::time::Duration,
    pub(crate) error: &'a dyn fmt::Display,
    /// The site's retry budget, for its metrics.
    #[cfg_attr(not(feature = "opentelemetry"), allow(dead_code, reason = "read only by metrics"))]
    pub(crate) budget: Option<&'static crate::budget::RetryBudget>,
}
