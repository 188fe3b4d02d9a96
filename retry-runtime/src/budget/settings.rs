//! A budget from configuration: `Deserialize` for [`RetryBudget`] (feature
//! `serde`).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::{BudgetError, BudgetMode, MAX_CAPACITY, RetryBudget};

/// Every key, for the message about an unknown one.
const KEYS: &[&str] =
    &["mode", "capacity", "ratio", "min_retries_per_second", "max_tokens", "token_ratio", "retry_cost", "timeout_cost"];

/// The mode's name in configuration, and the keys it takes.
fn keys_of(mode: BudgetMode) -> (&'static str, &'static [&'static str]) {
    match mode {
        BudgetMode::Proportional => ("proportional", &["capacity", "ratio", "min_retries_per_second"]),
        BudgetMode::Grpc => ("grpc", &["max_tokens", "token_ratio"]),
        BudgetMode::AwsStandard => ("aws_standard", &["capacity", "retry_cost", "timeout_cost"]),
    }
}

/// The budget's settings as written: every key optional until the mode says
/// which apply.
#[derive(Default)]
struct Settings {
    mode: Option<BudgetMode>,
    capacity: Option<u32>,
    ratio: Option<f64>,
    min_retries_per_second: Option<u32>,
    max_tokens: Option<u32>,
    token_ratio: Option<f64>,
    retry_cost: Option<u32>,
    timeout_cost: Option<u32>,
}

/// Reads a budget from any serde format, validated; unknown keys and keys of
/// another mode are refused, and every error names its key.
///
/// The mode is `mode = "proportional"` (the default when absent: keys
/// `capacity`, `ratio`, `min_retries_per_second`), `"grpc"` (`max_tokens`
/// and `token_ratio`, both required, as in gRPC's `retryThrottling`) or
/// `"aws_standard"` (`capacity`, `retry_cost`, `timeout_cost`). A key left
/// out keeps the mode's default.
///
/// ```
/// use retry_runtime::{BudgetMode, RetryBudget};
///
/// let budget: RetryBudget = serde_json::from_str(r#"{ "mode": "grpc", "max_tokens": 10, "token_ratio": 0.5466 }"#)?;
/// assert_eq!((budget.mode(), budget.max_tokens(), budget.tokens_per_call()), (BudgetMode::Grpc, 10, 0.546));
///
/// let error = serde_json::from_str::<RetryBudget>(r#"{ "mode": "aws_standard", "retry_cost": 0 }"#).unwrap_err();
/// assert!(error.to_string().starts_with("retry_cost: must be from 1 to the capacity (500) tokens, got 0"), "{error}");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de> Deserialize<'de> for RetryBudget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(SettingsVisitor)
    }
}

struct SettingsVisitor;

impl<'de> Visitor<'de> for SettingsVisitor {
    type Value = RetryBudget;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(
            "a retry budget's settings (a map such as { mode = \"grpc\", max_tokens = 10, token_ratio = 0.1 })",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RetryBudget, A::Error> {
        let mut settings = Settings::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "mode" => set(&mut settings.mode, &key, map.next_value::<ModeName>().map(|name| name.0))?,
                "capacity" => set(&mut settings.capacity, &key, map.next_value())?,
                "ratio" => set(&mut settings.ratio, &key, map.next_value())?,
                "min_retries_per_second" => set(&mut settings.min_retries_per_second, &key, map.next_value())?,
                "max_tokens" => set(&mut settings.max_tokens, &key, map.next_value())?,
                "token_ratio" => set(&mut settings.token_ratio, &key, map.next_value())?,
                "retry_cost" => set(&mut settings.retry_cost, &key, map.next_value())?,
                "timeout_cost" => set(&mut settings.timeout_cost, &key, map.next_value())?,
                _ => return Err(de::Error::unknown_field(&key, KEYS)),
            }
        }
        settings.budget()
    }
}

/// Stores one key's value, or the error about it, prefixed with the key.
fn set<T, E: de::Error>(slot: &mut Option<T>, key: &str, value: Result<T, E>) -> Result<(), E> {
    if slot.is_some() {
        return Err(de::Error::custom(format_args!("{key}: given twice")));
    }
    *slot = Some(value.map_err(|error| de::Error::custom(format_args!("{key}: {error}")))?);
    Ok(())
}

/// A mode by its configuration name.
struct ModeName(BudgetMode);

impl<'de> Deserialize<'de> for ModeName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        const NAMES: &[&str] = &["proportional", "grpc", "aws_standard"];
        let name = String::deserialize(deserializer)?;
        match name.as_str() {
            "proportional" => Ok(ModeName(BudgetMode::Proportional)),
            "grpc" => Ok(ModeName(BudgetMode::Grpc)),
            "aws_standard" => Ok(ModeName(BudgetMode::AwsStandard)),
            _ => Err(de::Error::unknown_variant(&name, NAMES)),
        }
    }
}

impl Settings {
    /// The budget these settings make, validated.
    fn budget<E: de::Error>(self) -> Result<RetryBudget, E> {
        let mode = self.mode.unwrap_or(BudgetMode::Proportional);
        let (name, keys) = keys_of(mode);
        let given = [
            ("capacity", self.capacity.is_some()),
            ("ratio", self.ratio.is_some()),
            ("min_retries_per_second", self.min_retries_per_second.is_some()),
            ("max_tokens", self.max_tokens.is_some()),
            ("token_ratio", self.token_ratio.is_some()),
            ("retry_cost", self.retry_cost.is_some()),
            ("timeout_cost", self.timeout_cost.is_some()),
        ];
        if let Some((key, _)) = given.iter().find(|(key, given)| *given && !keys.contains(key)) {
            return Err(E::custom(format_args!(
                "{key}: not a setting of mode = \"{name}\", whose keys are {}",
                keys.join(", ")
            )));
        }
        let budget = match mode {
            BudgetMode::Proportional => {
                let defaults = RetryBudget::new();
                RetryBudget::new()
                    .capacity(self.capacity.unwrap_or(defaults.requested_capacity))
                    .ratio(self.ratio.unwrap_or(defaults.requested_ratio))
                    .min_retries_per_second(self.min_retries_per_second.unwrap_or(defaults.min_retries_per_second))
            }
            BudgetMode::Grpc => {
                let max_tokens = self.max_tokens.ok_or_else(|| E::missing_field("max_tokens"))?;
                let token_ratio = self.token_ratio.ok_or_else(|| E::missing_field("token_ratio"))?;
                RetryBudget::grpc(max_tokens, token_ratio)
            }
            BudgetMode::AwsStandard => {
                let defaults = RetryBudget::aws_standard();
                RetryBudget::aws_standard()
                    .capacity(self.capacity.unwrap_or(defaults.requested_capacity))
                    .retry_cost(self.retry_cost.unwrap_or(defaults.retry_cost))
                    .timeout_cost(self.timeout_cost.unwrap_or(defaults.timeout_cost))
            }
        };
        match budget.validate() {
            Ok(()) => Ok(budget),
            Err(error) => {
                let (key, problem) = explain(&budget, error);
                Err(E::custom(format_args!("{key}: {problem}")))
            }
        }
    }
}

/// The key a validation error is about, in the budget's mode, and what is
/// wrong with its value.
fn explain(budget: &RetryBudget, error: BudgetError) -> (&'static str, String) {
    let capacity_key = if budget.mode == BudgetMode::Grpc { "max_tokens" } else { "capacity" };
    match error {
        BudgetError::ZeroCapacity => (capacity_key, "must be at least 1 token, got 0".to_owned()),
        BudgetError::CapacityTooLarge(tokens) => {
            (capacity_key, format!("must be at most {MAX_CAPACITY} tokens, got {tokens}"))
        }
        BudgetError::RatioOutOfRange(ratio) => {
            let key = if budget.mode == BudgetMode::Grpc { "token_ratio" } else { "ratio" };
            (key, format!("must be a finite number from 0.0 to 1000.0, got {ratio}"))
        }
        BudgetError::TokenRatioTooSmall(ratio) => {
            ("token_ratio", format!("must be at least 0.001 (gRFC A6: above zero, three decimal places), got {ratio}"))
        }
        BudgetError::CostOutOfRange(key, cost) => {
            (key, format!("must be from 1 to the capacity ({}) tokens, got {cost}", budget.requested_capacity))
        }
        BudgetError::NotInMode(key, _) => (key, "not a setting of this mode".to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp, reason = "ratios are whole thousandths, exact in f64 after the one division")]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<RetryBudget, String> {
        serde_json::from_str::<RetryBudget>(json).map_err(|error| error.to_string())
    }

    /// The message without the position `serde_json` appends.
    fn error(json: &str) -> String {
        let message = parse(json).map_or_else(|error| error, |budget| format!("parsed: {budget:?}"));
        message.split(" at line ").next().unwrap_or_default().to_owned()
    }

    #[test]
    fn every_mode_deserializes_with_its_defaults() -> Result<(), String> {
        let budget = parse("{}")?;
        assert_eq!(
            (budget.mode(), budget.max_tokens(), budget.tokens_per_call(), budget.floor_per_second()),
            (BudgetMode::Proportional, 100, 0.1, 10)
        );
        let budget =
            parse(r#"{ "mode": "proportional", "capacity": 20, "ratio": 0.5466, "min_retries_per_second": 0 }"#)?;
        assert_eq!((budget.max_tokens(), budget.tokens_per_call(), budget.floor_per_second()), (20, 0.547, 0));

        let budget = parse(r#"{ "mode": "grpc", "max_tokens": 10, "token_ratio": 0.5466 }"#)?;
        assert_eq!((budget.mode(), budget.max_tokens(), budget.tokens_per_call()), (BudgetMode::Grpc, 10, 0.546));
        assert_eq!(budget.tokens(), 10.0);

        let budget = parse(r#"{ "mode": "aws_standard" }"#)?;
        assert_eq!(
            (budget.mode(), budget.max_tokens(), budget.retry_cost, budget.timeout_cost),
            (BudgetMode::AwsStandard, 500, 5, 10)
        );
        let budget = parse(r#"{ "mode": "aws_standard", "capacity": 100, "retry_cost": 2, "timeout_cost": 4 }"#)?;
        assert_eq!((budget.max_tokens(), budget.retry_cost, budget.timeout_cost), (100, 2, 4));
        Ok(())
    }

    #[test]
    fn every_bad_value_is_an_error_naming_its_key() {
        let cases = [
            (r#"{ "capacity": 0 }"#, "capacity: must be at least 1 token, got 0"),
            (r#"{ "capacity": 4294968 }"#, "capacity: must be at most 4294967 tokens, got 4294968"),
            (r#"{ "capacity": -1 }"#, "capacity: invalid value: integer `-1`, expected u32"),
            (r#"{ "capacity": "ten" }"#, "capacity: invalid type: string \"ten\", expected u32"),
            (r#"{ "ratio": -0.5 }"#, "ratio: must be a finite number from 0.0 to 1000.0, got -0.5"),
            (r#"{ "ratio": 1000.5 }"#, "ratio: must be a finite number from 0.0 to 1000.0, got 1000.5"),
            (
                r#"{ "mode": "grpc", "max_tokens": 0, "token_ratio": 0.1 }"#,
                "max_tokens: must be at least 1 token, got 0",
            ),
            (
                r#"{ "mode": "grpc", "max_tokens": 10, "token_ratio": 0.0004 }"#,
                "token_ratio: must be at least 0.001 (gRFC A6: above zero, three decimal places), got 0.0004",
            ),
            (
                r#"{ "mode": "grpc", "max_tokens": 10, "token_ratio": -1.0 }"#,
                "token_ratio: must be a finite number from 0.0 to 1000.0, got -1",
            ),
            (r#"{ "mode": "grpc", "token_ratio": 0.1 }"#, "missing field `max_tokens`"),
            (r#"{ "mode": "grpc", "max_tokens": 10 }"#, "missing field `token_ratio`"),
            (
                r#"{ "mode": "aws_standard", "retry_cost": 0 }"#,
                "retry_cost: must be from 1 to the capacity (500) tokens, got 0",
            ),
            (
                r#"{ "mode": "aws_standard", "capacity": 8 }"#,
                "timeout_cost: must be from 1 to the capacity (8) tokens, got 10",
            ),
            (
                r#"{ "mode": "grpc", "max_tokens": 10, "token_ratio": 0.1, "capacity": 5 }"#,
                "capacity: not a setting of mode = \"grpc\", whose keys are max_tokens, token_ratio",
            ),
            (
                r#"{ "retry_cost": 5 }"#,
                "retry_cost: not a setting of mode = \"proportional\", whose keys are capacity, ratio, min_retries_per_second",
            ),
            (
                r#"{ "min_retries_per_second": 3, "mode": "aws_standard" }"#,
                "min_retries_per_second: not a setting of mode = \"aws_standard\", whose keys are capacity, retry_cost, timeout_cost",
            ),
            (
                r#"{ "mode": "finagle" }"#,
                "mode: unknown variant `finagle`, expected one of `proportional`, `grpc`, `aws_standard`",
            ),
            (
                r#"{ "capacty": 5 }"#,
                "unknown field `capacty`, expected one of `mode`, `capacity`, `ratio`, `min_retries_per_second`, `max_tokens`, `token_ratio`, `retry_cost`, `timeout_cost`",
            ),
            (r#"{ "capacity": 5, "capacity": 6 }"#, "capacity: given twice"),
            (
                "[10, 0.1]",
                "invalid type: sequence, expected a retry budget's settings (a map such as { mode = \"grpc\", max_tokens = 10, token_ratio = 0.1 })",
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(error(json), expected, "{json}");
        }
    }
}
