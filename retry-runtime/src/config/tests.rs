#![allow(clippy::unwrap_used, reason = "a test that expects an error fails if there is none")]
#![allow(clippy::float_cmp, reason = "the multiplier is copied, not computed")]

use super::*;

const MS: Duration = Duration::from_millis(1);

/// The file of the design documents.
const TOML: &str = r#"
[default]
max_attempts = 3
base = "100ms"
cap = "5s"
multiplier = 2.0
jitter = "equal"

[operations.list_products]
timeout = "10s"

[operations.get_product]
max_attempts = 5
base = "200ms"
timeout = "3s"
jitter = 0.3

[breakers.query_service]
failure_threshold = 5
success_threshold = 2
cool_down = "30s"
"#;

/// The same in JSON, durations in milliseconds.
const JSON: &str = r#"{
    "default": { "max_attempts": 3, "base": 100, "cap": "5s", "multiplier": 2.0, "jitter": "equal" },
    "operations": {
        "list_products": { "timeout": 10000 },
        "get_product": { "max_attempts": 5, "base": "200ms", "timeout": 3000, "jitter": 0.3 }
    },
    "breakers": { "query_service": { "failure_threshold": 5, "success_threshold": 2, "cool_down": 30000 } }
}"#;

fn from_toml(text: &str) -> Result<Policies, String> {
    toml::from_str(text).map_err(|error| error.to_string())
}

#[test]
fn toml_and_json_read_the_same() {
    let from_json: Result<Policies, _> = serde_json::from_str(JSON);
    assert_eq!(from_toml(TOML).ok(), from_json.ok());
    assert!(from_toml(TOML).is_ok());
}

#[test]
fn each_key_comes_from_the_operation_else_the_default_else_the_fallback() {
    let Ok(policies) = from_toml(TOML) else { panic!("the documented file is valid") };
    let attribute = RetryPolicy::new().max_attempts(9).multiplier(3.0).backoff(Backoff::Linear);

    let get = policies.policy("get_product", attribute);
    assert_eq!(get.max_attempts, 5, "the operation's");
    assert_eq!(get.base, 200 * MS, "the operation's");
    assert_eq!(get.jitter, Jitter::Proportional(0.3), "the operation's");
    assert_eq!(get.cap, 5000 * MS, "the default's");
    assert_eq!(get.multiplier, 2.0, "the default's, over the attribute's");
    assert_eq!(get.backoff, Backoff::Linear, "the attribute's: the file gives none");
    assert_eq!(get.deadline, None, "the library's");

    let list = policies.policy("list_products", attribute);
    assert_eq!((list.max_attempts, list.base, list.jitter), (3, 100 * MS, Jitter::Equal));
    let unknown = policies.policy("not_in_the_file", RetryPolicy::new());
    assert_eq!(unknown, policies.policy("list_products", RetryPolicy::new()));

    assert_eq!(policies.timeout("get_product", Some(MS)), Some(3000 * MS));
    assert_eq!(policies.timeout("list_products", None), Some(10_000 * MS));
    assert_eq!(policies.timeout("not_in_the_file", Some(MS)), Some(MS), "the attribute's");
    assert_eq!(policies.timeout("not_in_the_file", None), None);

    let breaker = policies.breaker("query_service").copied();
    assert_eq!(breaker.and_then(|b| b.failure_threshold), Some(5));
    assert_eq!(breaker.and_then(|b| b.cool_down), Some(Duration::from_secs(30)));
    assert!(policies.breaker("other").is_none());
}

#[test]
fn an_empty_file_changes_nothing() {
    let Ok(policies) = from_toml("") else { panic!("an empty file is valid") };
    let attribute = RetryPolicy::new().max_attempts(7);
    assert_eq!(policies.policy("any", attribute), attribute);
    assert_eq!(policies.timeout("any", None), None);
}

#[test]
fn every_bad_value_is_an_error_naming_its_path() {
    for (text, expected) in [
        (
            "[operations.get_product]\nmultiplier = 0.5",
            "operations.get_product.multiplier: must be at least 1.0, got 0.5",
        ),
        ("[default]\nmax_attempts = 0", "default.max_attempts: must be at least 1 (the first attempt counts), got 0"),
        ("[default]\ncap = \"1s\"\n[operations.slow]\nbase = \"2s\"", "operations.slow.cap: 1s is below base (2s)"),
        ("[default]\nbase = \"31s\"", "default.cap: 30s is below base (31s)"),
        ("[operations.a]\njitter = 1.5", "a jitter factor must be in (0, 1], got 1.5"),
        ("[operations.a]\njitter = \"eqaul\"", "unknown jitter `eqaul`"),
        ("[operations.a]\nbackoff = \"quadratic\"", "unknown variant `quadratic`"),
        ("[operations.a]\nbase = \"100xs\"", "invalid duration `100xs`"),
        ("[operations.a]\nbase = -1", "invalid value: integer `-1`, expected a duration"),
        ("[operations.a]\ntimeout = \"0s\"", "operations.a.timeout: must be above zero"),
        ("[operations.a]\nretries = 3", "unknown field `retries`"),
        (
            "[defaults]\nmax_attempts = 3",
            "unknown field `defaults`, expected one of `default`, `operations`, `breakers`",
        ),
        ("[breakers.db]\nfailure_threshold = 0", "breakers.db.failure_threshold: must be at least 1"),
        ("[breakers.db]\nhalf_open_trials = 0", "breakers.db.half_open_trials: must be from 1 to 16777215, got 0"),
        ("[breakers.db]\ncooldown = \"1s\"", "unknown field `cooldown`"),
    ] {
        let error = from_toml(text).map(|_| ()).unwrap_err();
        assert!(error.contains(expected), "{text}\n{error}");
    }
    let error = serde_json::from_str::<Policies>(r#"{"operations": {"get_product": {"multiplier": 0.5}}}"#)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("operations.get_product.multiplier: must be at least 1.0, got 0.5"), "{error}");
}

#[cfg(feature = "tonic")]
#[test]
fn retryable_codes_by_name() {
    use crate::classify::grpc::RetryableCodes;
    use tonic::Code;

    let text = "[default]\nretryable_codes = [\"unavailable\"]\n[operations.get_product]\nretryable_codes = [\"unavailable\", \"deadline_exceeded\", \"resource_exhausted\", \"aborted\"]";
    let Ok(policies) = from_toml(text) else { panic!("valid") };
    assert_eq!(policies.retryable_codes("get_product"), Some(RetryableCodes::DEFAULT));
    assert_eq!(policies.retryable_codes("other"), Some(RetryableCodes::NONE.with(Code::Unavailable)));
    let error = from_toml("[operations.a]\nretryable_codes = [\"unavailible\"]").map(|_| ()).unwrap_err();
    assert!(error.contains("unknown gRPC code `unavailible`: expected one of ok, cancelled"), "{error}");
}
