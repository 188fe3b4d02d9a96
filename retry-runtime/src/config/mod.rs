//! Retry policies from a configuration file: a default, per-operation
//! overrides, named circuit breakers' settings; installed process-wide and
//! replaceable while the program runs.
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::config::Policies;
//!
//! let policies: Policies = serde_json::from_str(r#"{
//!     "default": { "max_attempts": 3, "base": "100ms", "cap": "5s", "jitter": "equal" },
//!     "operations": {
//!         "list_products": { "timeout": "10s" },
//!         "get_product": { "max_attempts": 5, "base": 200, "timeout": 3000 }
//!     },
//!     "breakers": { "query_service": { "failure_threshold": 5, "cool_down": "30s" } }
//! }"#)?;
//! let get = policies.policy("get_product", retry_runtime::RetryPolicy::new());
//! assert_eq!((get.max_attempts, get.base, get.cap), (5, Duration::from_millis(200), Duration::from_secs(5)));
//! assert_eq!(policies.timeout("get_product", None), Some(Duration::from_secs(3)));
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! Each key of an operation's policy comes from the first of: the
//! operation's entry, the file's `default`, the attribute's own literal
//! keys (`#[retry(config = "get_product", max = 2)]`), the library's
//! defaults ([`RetryPolicy::new`]).

mod breakers;
#[cfg(feature = "tonic")]
mod codes;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use serde::Deserialize;

use crate::backoff::Backoff;
use crate::deserialize::{PolicyKeys, keyed, optional_duration};
use crate::jitter::Jitter;
use crate::policy::RetryPolicy;

pub use breakers::BreakerSettings;

/// The policies of a program: a `default`, per-operation entries that
/// override only the keys they give, and named breakers' settings.
///
/// Deserialized from any serde format with this shape (TOML shown):
///
/// ```toml
/// [default]
/// max_attempts = 3
/// base = "100ms"          # or whole milliseconds: 100
/// cap = "5s"
/// multiplier = 2.0
/// backoff = "exponential" # "linear", "fixed"
/// jitter = "equal"        # "none", "full", "decorrelated", or a factor such as 0.3
/// deadline = "20s"
///
/// [operations.get_product]
/// max_attempts = 5
/// timeout = "3s"          # each attempt of an async fn
/// retryable_codes = ["unavailable", "aborted"]   # feature `tonic`
///
/// [breakers.query_service]
/// failure_threshold = 5
/// success_threshold = 2
/// cool_down = "30s"
/// half_open_trials = 1
/// ```
///
/// Unknown keys are refused; every entry is validated over the default
/// (and the library's defaults) as it is read, and an error names the key's
/// path: `operations.get_product.multiplier: must be at least 1.0, got 0.5`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policies {
    default: Entry,
    operations: BTreeMap<String, Entry>,
    breakers: BTreeMap<String, BreakerSettings>,
}

/// One entry of the file: the policy keys it gives, and its timeout.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    max_attempts: Option<u32>,
    #[serde(default, deserialize_with = "optional_duration")]
    base: Option<Duration>,
    #[serde(default, deserialize_with = "optional_duration")]
    cap: Option<Duration>,
    multiplier: Option<f64>,
    backoff: Option<Backoff>,
    jitter: Option<Jitter>,
    #[serde(default, deserialize_with = "optional_duration")]
    deadline: Option<Duration>,
    #[serde(default, deserialize_with = "optional_duration")]
    timeout: Option<Duration>,
    #[cfg(feature = "tonic")]
    retryable_codes: Option<crate::classify::grpc::RetryableCodes>,
}

impl Entry {
    fn keys(&self) -> PolicyKeys {
        PolicyKeys {
            max_attempts: self.max_attempts,
            base: self.base,
            cap: self.cap,
            multiplier: self.multiplier,
            backoff: self.backoff,
            jitter: self.jitter,
            deadline: self.deadline,
        }
    }
}

/// The file as written, before it is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    default: Entry,
    #[serde(default)]
    operations: BTreeMap<String, Entry>,
    #[serde(default)]
    breakers: BTreeMap<String, BreakerSettings>,
}

impl<'de> Deserialize<'de> for Policies {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let File { default, operations, breakers } = File::deserialize(deserializer)?;
        let fallback = default.keys().over(RetryPolicy::new());
        fallback.validate().map_err(|error| serde::de::Error::custom(format_args!("default.{}", keyed(error))))?;
        for (name, entry) in &operations {
            entry
                .keys()
                .over(fallback)
                .validate()
                .map_err(|error| serde::de::Error::custom(format_args!("operations.{name}.{}", keyed(error))))?;
        }
        for (key, timeout) in [("default".to_owned(), default.timeout)]
            .into_iter()
            .chain(operations.iter().map(|(n, e)| (format!("operations.{n}"), e.timeout)))
        {
            if timeout == Some(Duration::ZERO) {
                return Err(serde::de::Error::custom(format_args!(
                    "{key}.timeout: must be above zero, or every attempt would fail before it starts"
                )));
            }
        }
        for (name, settings) in &breakers {
            settings.check().map_err(|message| serde::de::Error::custom(format_args!("breakers.{name}.{message}")))?;
        }
        Ok(Policies { default, operations, breakers })
    }
}

/// The installed policies. Read with one atomic load and no lock.
static INSTALLED: ArcSwapOption<Policies> = ArcSwapOption::const_empty();

impl Policies {
    /// The policy of `operation`: each key from its entry, else the file's
    /// `default`, else `fallback` (the attribute's literal keys over the
    /// library's defaults).
    ///
    /// The result is not validated again: `fallback`'s keys under the file's
    /// may disagree (a file's `base` above an attribute's `cap`), and the
    /// engine handles any policy without panicking (every delay is at most
    /// `cap`).
    ///
    /// ```
    /// use retry_runtime::{RetryPolicy, config::Policies};
    /// let policies: Policies = serde_json::from_str(r#"{"default": {"max_attempts": 4}}"#)?;
    /// assert_eq!(policies.policy("anything", RetryPolicy::new().max_attempts(9)).max_attempts, 4);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn policy(&self, operation: &str, fallback: RetryPolicy) -> RetryPolicy {
        let over_default = self.default.keys().over(fallback);
        match self.operations.get(operation) {
            Some(entry) => entry.keys().over(over_default),
            None => over_default,
        }
    }

    /// The time limit of each attempt of `operation`: its entry's, else the
    /// default's, else `fallback` (the attribute's `timeout`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::config::Policies;
    /// let policies: Policies = serde_json::from_str(r#"{"operations": {"get": {"timeout": "3s"}}}"#)?;
    /// assert_eq!(policies.timeout("get", None), Some(Duration::from_secs(3)));
    /// assert_eq!(policies.timeout("put", Some(Duration::from_secs(1))), Some(Duration::from_secs(1)));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn timeout(&self, operation: &str, fallback: Option<Duration>) -> Option<Duration> {
        self.operations.get(operation).and_then(|entry| entry.timeout).or(self.default.timeout).or(fallback)
    }

    /// The gRPC codes `operation` retries, if its entry (or the default)
    /// lists them (`retryable_codes = ["unavailable", "aborted"]`); see
    /// [`grpc::codes_from_config`](crate::classify::grpc::codes_from_config).
    ///
    /// ```
    /// use tonic::Code;
    /// use retry_runtime::config::Policies;
    /// let policies: Policies = serde_json::from_str(r#"{"operations": {"get": {"retryable_codes": ["unavailable"]}}}"#)?;
    /// assert_eq!(policies.retryable_codes("get").map(|codes| codes.contains(Code::Aborted)), Some(false));
    /// assert_eq!(policies.retryable_codes("put"), None);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[cfg(feature = "tonic")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
    pub fn retryable_codes(&self, operation: &str) -> Option<crate::classify::grpc::RetryableCodes> {
        self.operations.get(operation).and_then(|entry| entry.retryable_codes).or(self.default.retryable_codes)
    }

    /// The settings of the breaker named `name`, if the file has them.
    pub fn breaker(&self, name: &str) -> Option<&BreakerSettings> {
        self.breakers.get(name)
    }

    /// Makes these the policies of the whole process, replacing any
    /// installed before. Calls in flight keep the policy they started with;
    /// the next call reads these. Named breakers take their
    /// `[breakers.<name>]` settings (see [`CircuitBreaker::named`](crate::CircuitBreaker::named)).
    ///
    /// ```
    /// use retry_runtime::config::{self, Policies};
    /// let policies: Policies = serde_json::from_str(r#"{"default": {"max_attempts": 2}}"#)?;
    /// policies.install();
    /// assert_eq!(config::installed().map(|p| p.policy("x", Default::default()).max_attempts), Some(2));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn install(self) {
        INSTALLED.store(Some(Arc::new(self)));
        crate::breaker::configure_all();
    }
}

/// The policies installed, if any.
pub fn installed() -> Option<Arc<Policies>> {
    INSTALLED.load_full()
}

/// Removes the installed policies: every `#[retry(config = …)]` call uses
/// its attribute's own policy again.
///
/// ```
/// retry_runtime::config::uninstall();
/// assert!(retry_runtime::config::installed().is_none());
/// ```
pub fn uninstall() {
    INSTALLED.store(None);
    crate::breaker::configure_all();
}

/// What a `#[retry(config = "…")]` call runs under, taken once per call.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Resolved {
    /// The policy of the call.
    pub policy: RetryPolicy,
    /// The time limit of each attempt.
    pub timeout: Option<Duration>,
}

/// The policy and timeout of `operation` under the installed policies, the
/// attribute's own (`policy`, `timeout`) filling the keys the file does not
/// give. One atomic load, no lock, no allocation.
#[doc(hidden)]
#[inline]
pub fn resolve(operation: &str, policy: &RetryPolicy, timeout: Option<Duration>) -> Resolved {
    let installed = INSTALLED.load();
    match &*installed {
        Some(policies) => {
            Resolved { policy: policies.policy(operation, *policy), timeout: policies.timeout(operation, timeout) }
        }
        None => Resolved { policy: *policy, timeout },
    }
}

#[cfg(test)]
mod tests;
