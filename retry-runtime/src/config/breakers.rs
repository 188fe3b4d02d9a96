//! A circuit breaker's settings as a file gives them.

use std::time::Duration;

use serde::Deserialize;

use crate::breaker::{BreakerError, CircuitBreaker};
use crate::deserialize::optional_duration;

/// The settings of a `[breakers.<name>]` entry, each optional: a missing one
/// keeps the breaker's own.
///
/// ```
/// use retry_runtime::{CircuitBreaker, config::BreakerSettings};
///
/// let settings: BreakerSettings = serde_json::from_str(r#"{"failure_threshold": 2, "cool_down": "1m"}"#)?;
/// let breaker = settings.apply(CircuitBreaker::new());
/// assert_eq!(breaker.validate(), Ok(()));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BreakerSettings {
    /// Transient failures in a row that open the breaker.
    pub failure_threshold: Option<u32>,
    /// Successful trials in a row that close a half-open breaker.
    pub success_threshold: Option<u32>,
    /// How long an open breaker refuses calls before it lets a trial through.
    #[serde(default, deserialize_with = "optional_duration")]
    pub cool_down: Option<Duration>,
    /// Trials a half-open breaker lets through at once.
    pub half_open_trials: Option<u32>,
}

impl BreakerSettings {
    /// `breaker` (not yet used: its counts are not copied) with the settings given here.
    #[must_use]
    pub const fn apply(&self, mut breaker: CircuitBreaker) -> CircuitBreaker {
        if let Some(failures) = self.failure_threshold {
            breaker = breaker.failure_threshold(failures);
        }
        if let Some(successes) = self.success_threshold {
            breaker = breaker.success_threshold(successes);
        }
        if let Some(cool_down) = self.cool_down {
            breaker = breaker.cool_down(cool_down);
        }
        if let Some(trials) = self.half_open_trials {
            breaker = breaker.half_open_trials(trials);
        }
        breaker
    }

    /// The settings over the library's defaults, checked: `key: what is wrong`.
    pub(crate) fn check(&self) -> Result<(), String> {
        self.apply(CircuitBreaker::new()).validate().map_err(|error| match error {
            BreakerError::ZeroFailureThreshold => {
                "failure_threshold: must be at least 1 (the failure that opens the breaker counts), got 0".to_owned()
            }
            BreakerError::SuccessThresholdOutOfRange(n) => {
                format!("success_threshold: must be from 1 to {}, got {n}", CircuitBreaker::MAX_SUCCESS_THRESHOLD)
            }
            BreakerError::HalfOpenTrialsOutOfRange(n) => {
                format!("half_open_trials: must be from 1 to {}, got {n}", CircuitBreaker::MAX_HALF_OPEN_TRIALS)
            }
        })
    }
}
