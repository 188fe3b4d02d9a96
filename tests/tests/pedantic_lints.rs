//! Generated code stays clean under the strictest lints users turn on.
//! CI runs clippy with `--all-targets`, so this file is linted as written.
#![deny(warnings, clippy::pedantic)]

use retry_runtime::{RetryEvent, RetryPolicy, retry};

/// A failure that knows whether it is worth retrying.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    transient: bool,
    code: u32,
}

fn is_transient(error: &Failure) -> bool {
    error.transient
}

fn log(event: &RetryEvent<'_, Failure>) {
    assert!(event.attempt() >= 1);
}

/// A documented function under every lint.
///
/// # Errors
/// A transient error naming the code, when it is not zero.
#[retry(max = 2, base = "1ms", cap = "5ms", multiplier = 1.5, backoff = "linear", jitter = 0.1, on = is_transient, on_retry = log)]
pub fn strict(code: u32) -> Result<u32, Failure> {
    if code == 0 { Ok(0) } else { Err(Failure { transient: true, code }) }
}

/// The async form.
///
/// # Errors
/// Always.
#[retry(max = 2, base = "1ms", deadline = "1s")]
pub async fn strict_async(code: u32) -> Result<(), u32> {
    Err(code)
}

/// Hedged, with a fallback, under every lint.
///
/// # Errors
/// Never: the fallback answers.
#[retry(max = 2, hedge = "5ms", deadline = "1s", on = is_transient, fallback = |error: Failure| async move { Ok(error.code) })]
pub async fn strict_hedged(code: u32) -> Result<u32, Failure> {
    Err(Failure { transient: true, code })
}

impl From<retry_runtime::TimedOut> for Failure {
    fn from(_: retry_runtime::TimedOut) -> Self {
        Failure { transient: true, code: 504 }
    }
}

struct Service {
    policy: RetryPolicy,
}

impl Service {
    #[retry(policy = self.policy, clone(name))]
    fn greet(&self, name: String) -> Result<String, String> {
        if name.is_empty() { Err(name) } else { Ok(format!("hello {name}")) }
    }
}

#[tokio::test(start_paused = true)]
async fn strict_hedged_code_runs() {
    assert_eq!(strict_hedged(7).await, Ok(7));
}

#[test]
fn strict_code_runs() {
    let _sleeps = retry_runtime::testing::SleepRecorder::install();
    assert_eq!(strict(0), Ok(0));
    assert_eq!(strict(3), Err(Failure { transient: true, code: 3 }));
    let service = Service { policy: RetryPolicy::new().max_attempts(2) };
    assert_eq!(service.greet("ann".to_owned()), Ok("hello ann".to_owned()));
    assert_eq!(service.greet(String::new()), Err(String::new()));
}

#[tokio::test(start_paused = true)]
async fn strict_async_runs() {
    assert_eq!(strict_async(4).await, Err(4));
}

/// A unit error with the default classifier and hook: was
/// `clippy::ignored_unit_patterns` on the `_` they matched the error with.
///
/// # Errors
/// Always.
#[retry(max = 2, base = "0ms")]
pub fn unit_error() -> Result<(), ()> {
    Err(())
}

#[test]
fn a_unit_error_is_retried() {
    assert_eq!(unit_error(), Err(()));
}
