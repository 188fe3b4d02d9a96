//! The error of an attempt that ran past its `timeout`.

use std::fmt;
use std::time::Duration;

use crate::classify::Transient;

/// An attempt of an async `#[retry(timeout = "…")]` function ran past its
/// time limit and was dropped.
///
/// The function's error type converts from it (`E: From<TimedOut>`), which
/// is how the timed-out attempt reaches the classifier and, if it is the
/// last attempt, the caller. `std::io::Error` converts already (as
/// [`ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut), which the I/O
/// classifier retries); for an error enum, add a variant:
///
/// ```
/// use retry_runtime::{TimedOut, Transient};
///
/// #[derive(Debug, thiserror::Error)]
/// enum FetchError {
///     #[error(transparent)]
///     TimedOut(#[from] TimedOut),
///     #[error("not found")]
///     NotFound,
/// }
///
/// impl Transient for FetchError {
///     fn is_transient(&self) -> bool {
///         matches!(self, FetchError::TimedOut(_))
///     }
/// }
///
/// let error = FetchError::from(TimedOut::after(std::time::Duration::from_millis(500)));
/// assert!(error.is_transient());
/// assert!(!FetchError::NotFound.is_transient());
/// assert_eq!(error.to_string(), "attempt timed out after 500ms");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimedOut {
    limit: Duration,
}

impl TimedOut {
    /// An attempt stopped after `limit`.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(retry_runtime::TimedOut::after(Duration::from_secs(2)).limit(), Duration::from_secs(2));
    /// ```
    #[must_use]
    pub const fn after(limit: Duration) -> Self {
        TimedOut { limit }
    }

    /// How long the attempt was allowed: the `timeout`, or less when the
    /// call's `deadline` was nearer.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert_eq!(retry_runtime::TimedOut::after(Duration::ZERO).limit(), Duration::ZERO);
    /// ```
    #[must_use]
    pub const fn limit(&self) -> Duration {
        self.limit
    }
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "attempt timed out after {}", crate::duration::Human(self.limit))
    }
}

impl std::error::Error for TimedOut {}

/// A timed-out attempt is worth retrying: the next one may be faster.
impl Transient for TimedOut {
    fn is_transient(&self) -> bool {
        true
    }
}

/// As [`std::io::ErrorKind::TimedOut`], so `io::Result` functions take a
/// `timeout` as they are.
///
/// ```
/// use std::time::Duration;
/// let error = std::io::Error::from(retry_runtime::TimedOut::after(Duration::from_millis(20)));
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// assert_eq!(retry_runtime::is_transient(&error), retry_runtime::Verdict::Retry);
/// ```
impl From<TimedOut> for std::io::Error {
    fn from(timed_out: TimedOut) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, timed_out)
    }
}
