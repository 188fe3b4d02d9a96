//! What a classifier says about an error.

use std::time::Duration;

/// A classifier's answer for one failed attempt.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::{retry, Verdict};
///
/// #[derive(Debug)]
/// enum ApiError { RateLimited { retry_after_secs: u64 }, BadRequest, Unavailable }
///
/// fn classify(error: &ApiError) -> Verdict {
///     match error {
///         ApiError::RateLimited { retry_after_secs } => Verdict::RetryAfter(Duration::from_secs(*retry_after_secs)),
///         ApiError::Unavailable => Verdict::Retry,
///         ApiError::BadRequest => Verdict::Stop,
///     }
/// }
///
/// #[retry(max = 3, base = "1ms", on = classify)]
/// fn call() -> Result<(), ApiError> {
///     Err(ApiError::BadRequest)
/// }
///
/// assert!(matches!(call(), Err(ApiError::BadRequest)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Transient: retry after the policy's next delay.
    Retry,
    /// Transient, and the server said when: retry after this delay (still
    /// capped by the policy's `cap`, and refused if it would end past the
    /// `deadline`) instead of the computed one.
    RetryAfter(Duration),
    /// Permanent: return this error now.
    Stop,
}

/// A classifier's return type: `bool` (`true` = retry) or [`Verdict`].
///
/// ```
/// use retry_runtime::{IntoVerdict, Verdict};
/// assert_eq!(true.into_verdict(), Verdict::Retry);
/// assert_eq!(false.into_verdict(), Verdict::Stop);
/// ```
#[diagnostic::on_unimplemented(
    message = "a #[retry] classifier must return `bool` or `retry_runtime::Verdict`, not `{Self}`",
    label = "this classifier returns `{Self}`",
    note = "return `true` to retry, `false` to stop, or a `Verdict` (`Retry`, `RetryAfter(duration)`, `Stop`)"
)]
pub trait IntoVerdict {
    /// Converts the classifier's answer.
    fn into_verdict(self) -> Verdict;
}

impl IntoVerdict for bool {
    fn into_verdict(self) -> Verdict {
        if self { Verdict::Retry } else { Verdict::Stop }
    }
}

impl IntoVerdict for Verdict {
    fn into_verdict(self) -> Verdict {
        self
    }
}
