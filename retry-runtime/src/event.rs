//! What an `on_retry` hook is told about each retry.

use std::time::Duration;

/// A failed attempt that is about to be retried, handed to `on_retry` before the sleep.
///
/// ```
/// use std::cell::Cell;
/// use retry_runtime::{retry, RetryEvent};
///
/// thread_local!(static SEEN: Cell<u32> = const { Cell::new(0) });
///
/// fn log(event: &RetryEvent<'_, String>) {
///     assert!(event.function().ends_with("::flaky"));
///     assert_eq!(event.max_attempts(), 3);
///     eprintln!("attempt {} failed: {}; next in {:?}", event.attempt(), event.error(), event.delay());
///     SEEN.set(event.attempt());
/// }
///
/// #[retry(max = 3, base = "1ms", on_retry = log)]
/// fn flaky() -> Result<(), String> {
///     Err("boom".to_owned())
/// }
///
/// assert!(flaky().is_err());
/// assert_eq!(SEEN.get(), 2); // attempts 1 and 2 were retried; 3 was the last
/// ```
#[derive(Debug)]
pub struct RetryEvent<'a, E> {
    pub(crate) function: crate::name::FunctionName,
    pub(crate) attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) error: &'a E,
    pub(crate) delay: Duration,
}

impl<'a, E> RetryEvent<'a, E> {
    /// The retried function: module path and name, such as
    /// `my_app::repo::load`, with the `Self` type of a method
    /// (`my_app::repo::Repo::load`).
    pub fn function(&self) -> &'static str {
        self.function.get()
    }

    /// The attempt that failed, 1-based.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The total number of attempts the policy allows.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The error the attempt failed with.
    pub fn error(&self) -> &'a E {
        self.error
    }

    /// How long the loop will sleep before the next attempt.
    pub fn delay(&self) -> Duration {
        self.delay
    }
}
