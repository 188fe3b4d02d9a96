//! What `policy = expr` accepts.

use crate::policy::RetryPolicy;

/// A value that yields a [`RetryPolicy`]: a policy or a reference to one.
///
/// `#[retry(policy = expr)]` evaluates `expr` once per call, before the first
/// attempt, and copies the policy out of it, so the call never keeps a borrow
/// of `self` (or of a lock guard) across the body.
///
/// ```
/// use retry_runtime::{IntoPolicy, RetryPolicy};
/// let policy = RetryPolicy::new().max_attempts(7);
/// assert_eq!((&policy).into_policy().max_attempts, 7);
/// ```
#[diagnostic::on_unimplemented(
    message = "`policy = …` needs a `retry_runtime::RetryPolicy` or a reference to one, not `{Self}`",
    label = "not a `RetryPolicy`"
)]
pub trait IntoPolicy {
    /// The policy to use for this call.
    fn into_policy(self) -> RetryPolicy;
}

impl IntoPolicy for RetryPolicy {
    #[inline(always)]
    fn into_policy(self) -> RetryPolicy {
        self
    }
}

impl IntoPolicy for &RetryPolicy {
    #[inline(always)]
    fn into_policy(self) -> RetryPolicy {
        *self
    }
}

impl IntoPolicy for &mut RetryPolicy {
    #[inline(always)]
    fn into_policy(self) -> RetryPolicy {
        *self
    }
}
