//! What a classifier says about an error.

use std::time::Duration;

/// A classifier's answer for one failed attempt.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::{retry, testing::SleepRecorder, Verdict};
///
/// #[derive(Debug)]
/// enum ApiError { RateLimited { retry_after_secs: u64 }, Unavailable, BadRequest }
///
/// fn classify(error: &ApiError) -> Verdict {
///     match error {
///         ApiError::RateLimited { retry_after_secs } => Verdict::RetryAfter(Duration::from_secs(*retry_after_secs)),
///         ApiError::Unavailable => Verdict::Retry,
///         ApiError::BadRequest => Verdict::Stop,
///     }
/// }
///
/// #[retry(max = 5, base = "10ms", jitter = "none", on = classify)]
/// fn call(replies: &mut Vec<ApiError>) -> Result<(), ApiError> {
///     match replies.pop() {
///         Some(error) => Err(error),
///         None => Ok(()),
///     }
/// }
///
/// let sleeps = SleepRecorder::install();
/// let mut replies = vec![ApiError::Unavailable, ApiError::RateLimited { retry_after_secs: 2 }];
/// assert!(call(&mut replies).is_ok());
/// // The server's hint replaced the first delay; the second is the policy's.
/// assert_eq!(sleeps.delays(), [Duration::from_secs(2), Duration::from_millis(20)]);
///
/// let mut replies = vec![ApiError::BadRequest];
/// assert!(matches!(call(&mut replies), Err(ApiError::BadRequest)));
/// assert_eq!(sleeps.delays().len(), 2); // `Stop`: no further sleep
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
    label = "the classifier given in `on = …` returns `{Self}`",
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
