//! `Deserialize` for the policy types, in the forms people write in files:
//! durations as strings (`"100ms"`, `"1m30s"`) or integer milliseconds,
//! backoff by name, jitter by name or as a factor (`0.3`). Unknown keys are
//! refused, and a policy is validated as it is read: a bad value is an error
//! naming its key (`multiplier: must be at least 1.0, got 0.5`), never a
//! value that surprises later.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};

use crate::backoff::Backoff;
use crate::duration_text::{self, Invalid};
use crate::jitter::Jitter;
use crate::policy::{PolicyError, RetryPolicy};

/// A duration: a string with units, or a whole number of milliseconds.
pub(crate) fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    deserializer.deserialize_any(DurationVisitor)
}

/// An optional [`duration`], for `Option<Duration>` fields.
pub(crate) fn optional_duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    duration(deserializer).map(Some)
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration such as \"250ms\", \"2s\", \"1m30s\", or a whole number of milliseconds")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
        duration_text::parse(text.trim()).map_err(|invalid| {
            E::custom(match invalid {
                Invalid::Syntax => format!(
                    "invalid duration `{text}`: expected a number with a unit like \"250ms\", \"2s\", \"1m30s\" (units: ns, us, ms, s, m, h), or whole milliseconds"
                ),
                Invalid::TooLarge => format!("duration `{text}` is too large: a duration holds at most u64::MAX seconds"),
                Invalid::TooPrecise => {
                    format!("duration `{text}` is not a whole number of nanoseconds: the smallest step is \"1ns\"")
                }
            })
        })
    }

    fn visit_u64<E: de::Error>(self, millis: u64) -> Result<Duration, E> {
        Ok(Duration::from_millis(millis))
    }

    fn visit_i64<E: de::Error>(self, millis: i64) -> Result<Duration, E> {
        u64::try_from(millis)
            .map(Duration::from_millis)
            .map_err(|_| E::invalid_value(Unexpected::Signed(millis), &self))
    }
}

impl<'de> Deserialize<'de> for Backoff {
    /// `"exponential"`, `"linear"` or `"fixed"`.
    ///
    /// ```
    /// use retry_runtime::Backoff;
    /// assert_eq!(serde_json::from_str::<Backoff>("\"linear\"")?, Backoff::Linear);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["exponential", "linear", "fixed"];
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        match &*name {
            "exponential" => Ok(Backoff::Exponential),
            "linear" => Ok(Backoff::Linear),
            "fixed" => Ok(Backoff::Fixed),
            other => Err(de::Error::unknown_variant(other, NAMES)),
        }
    }
}

impl<'de> Deserialize<'de> for Jitter {
    /// `"none"`, `"full"`, `"equal"`, `"decorrelated"`, or a factor in
    /// `(0, 1]` for [`Jitter::Proportional`].
    ///
    /// ```
    /// use retry_runtime::Jitter;
    /// assert_eq!(serde_json::from_str::<Jitter>("\"equal\"")?, Jitter::Equal);
    /// assert_eq!(serde_json::from_str::<Jitter>("0.3")?, Jitter::Proportional(0.3));
    /// assert!(serde_json::from_str::<Jitter>("1.5").is_err());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JitterVisitor)
    }
}

struct JitterVisitor;

impl JitterVisitor {
    fn factor<E: de::Error>(factor: f64) -> Result<Jitter, E> {
        if factor > 0.0 && factor <= 1.0 {
            Ok(Jitter::Proportional(factor))
        } else {
            Err(E::custom(format_args!("a jitter factor must be in (0, 1], got {factor}")))
        }
    }
}

impl Visitor<'_> for JitterVisitor {
    type Value = Jitter;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"none\", \"full\", \"equal\", \"decorrelated\", or a factor in (0, 1] such as 0.3")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Jitter, E> {
        match name {
            "none" => Ok(Jitter::None),
            "full" => Ok(Jitter::Full),
            "equal" => Ok(Jitter::Equal),
            "decorrelated" => Ok(Jitter::Decorrelated),
            other => Err(E::custom(format_args!(
                "unknown jitter `{other}`: expected one of \"none\", \"full\", \"equal\", \"decorrelated\", or a factor in (0, 1] such as 0.3"
            ))),
        }
    }

    fn visit_f64<E: de::Error>(self, factor: f64) -> Result<Jitter, E> {
        Self::factor(factor)
    }

    #[allow(clippy::cast_precision_loss, reason = "a factor is at most 1: any larger integer is refused anyway")]
    fn visit_u64<E: de::Error>(self, factor: u64) -> Result<Jitter, E> {
        Self::factor(factor as f64)
    }

    #[allow(clippy::cast_precision_loss, reason = "a factor is at most 1: any other integer is refused anyway")]
    fn visit_i64<E: de::Error>(self, factor: i64) -> Result<Jitter, E> {
        Self::factor(factor as f64)
    }
}

/// The keys of a policy as a file gives them: each optional, none unknown.
/// Laid over a policy by [`PolicyKeys::over`].
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyKeys {
    pub(crate) max_attempts: Option<u32>,
    #[serde(default, deserialize_with = "optional_duration")]
    pub(crate) base: Option<Duration>,
    #[serde(default, deserialize_with = "optional_duration")]
    pub(crate) cap: Option<Duration>,
    pub(crate) multiplier: Option<f64>,
    pub(crate) backoff: Option<Backoff>,
    pub(crate) jitter: Option<Jitter>,
    #[serde(default, deserialize_with = "optional_duration")]
    pub(crate) deadline: Option<Duration>,
}

impl PolicyKeys {
    /// `policy` with the keys given here replacing its own.
    pub(crate) fn over(&self, policy: RetryPolicy) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.unwrap_or(policy.max_attempts),
            base: self.base.unwrap_or(policy.base),
            cap: self.cap.unwrap_or(policy.cap),
            multiplier: self.multiplier.unwrap_or(policy.multiplier),
            backoff: self.backoff.unwrap_or(policy.backoff),
            jitter: self.jitter.unwrap_or(policy.jitter),
            deadline: self.deadline.or(policy.deadline),
        }
    }
}

/// `error` as `key: what is wrong`, the key being the one a file spells.
pub(crate) fn keyed(error: PolicyError) -> String {
    match error {
        PolicyError::ZeroAttempts => "max_attempts: must be at least 1 (the first attempt counts), got 0".to_owned(),
        PolicyError::MultiplierBelowOne(multiplier) => format!("multiplier: must be at least 1.0, got {multiplier}"),
        PolicyError::JitterFactorOutOfRange(factor) => format!("jitter: a factor must be in (0, 1], got {factor}"),
        PolicyError::CapBelowBase { cap, base } => format!("cap: {cap:?} is below base ({base:?})"),
    }
}

impl<'de> Deserialize<'de> for RetryPolicy {
    /// The keys of [`RetryPolicy`]'s builder, each optional (a missing one
    /// keeps [`RetryPolicy::new`]'s value), validated.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::{Jitter, RetryPolicy};
    ///
    /// let policy: RetryPolicy = serde_json::from_str(r#"{"max_attempts": 5, "base": "200ms", "cap": 5000, "jitter": 0.3}"#)?;
    /// assert_eq!(policy.max_attempts, 5);
    /// assert_eq!(policy.cap, Duration::from_secs(5));
    /// assert_eq!(policy.jitter, Jitter::Proportional(0.3));
    ///
    /// let error = serde_json::from_str::<RetryPolicy>(r#"{"multiplier": 0.5}"#).unwrap_err();
    /// assert!(error.to_string().starts_with("multiplier: must be at least 1.0, got 0.5"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let keys = PolicyKeys::deserialize(deserializer)?;
        keys.over(RetryPolicy::new()).validate().map_err(|error| de::Error::custom(keyed(error)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test that expects an error fails if there is none")]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<RetryPolicy, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn durations_as_strings_or_milliseconds() {
        let p = policy(r#"{"base": "1m30s", "cap": 120000, "deadline": "2h"}"#).unwrap_or_default();
        assert_eq!(p.base, Duration::from_secs(90));
        assert_eq!(p.cap, Duration::from_secs(120));
        assert_eq!(p.deadline, Some(Duration::from_secs(7200)));
        for (json, expected) in [
            (r#"{"base": "100xs"}"#, "invalid duration `100xs`"),
            (r#"{"base": -5}"#, "invalid value: integer `-5`, expected a duration"),
            (r#"{"base": "18446744073709551615s 1000ms"}"#, "is too large"),
            (r#"{"base": "0.5ns"}"#, "not a whole number of nanoseconds"),
            (r#"{"base": true}"#, "invalid type: boolean `true`, expected a duration"),
        ] {
            let error = policy(json).unwrap_err();
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    #[test]
    fn jitter_by_name_or_factor() {
        for (json, expected) in [
            ("\"none\"", Jitter::None),
            ("\"full\"", Jitter::Full),
            ("\"equal\"", Jitter::Equal),
            ("\"decorrelated\"", Jitter::Decorrelated),
            ("0.3", Jitter::Proportional(0.3)),
            ("1", Jitter::Proportional(1.0)),
        ] {
            assert_eq!(serde_json::from_str::<Jitter>(json).ok(), Some(expected), "{json}");
        }
        for (json, expected) in [
            ("\"eqaul\"", "unknown jitter `eqaul`"),
            ("1.5", "a jitter factor must be in (0, 1], got 1.5"),
            ("0", "a jitter factor must be in (0, 1], got 0"),
            ("-1", "a jitter factor must be in (0, 1], got -1"),
        ] {
            let error = serde_json::from_str::<Jitter>(json).map(|_| ()).unwrap_err().to_string();
            assert!(error.contains(expected), "{json}: {error}");
        }
    }

    #[test]
    fn backoff_by_name() {
        assert_eq!(serde_json::from_str::<Backoff>("\"fixed\"").ok(), Some(Backoff::Fixed));
        let error = serde_json::from_str::<Backoff>("\"quadratic\"").map(|_| ()).unwrap_err().to_string();
        assert!(
            error.contains("unknown variant `quadratic`, expected one of `exponential`, `linear`, `fixed`"),
            "{error}"
        );
    }

    #[test]
    fn every_bad_value_names_its_key() {
        for (json, expected) in [
            (r#"{"max_attempts": 0}"#, "max_attempts: must be at least 1"),
            (r#"{"multiplier": 0.5}"#, "multiplier: must be at least 1.0, got 0.5"),
            (r#"{"base": "10s", "cap": "1s"}"#, "cap: 1s is below base (10s)"),
            (r#"{"max_attempts": -1}"#, "invalid value: integer `-1`, expected u32"),
            (r#"{"retries": 3}"#, "unknown field `retries`, expected one of `max_attempts`"),
        ] {
            let error = policy(json).unwrap_err();
            assert!(error.starts_with(expected), "{json}: {error}");
        }
    }
}
