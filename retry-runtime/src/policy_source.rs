//! What `policy = expr` accepts.

use std::rc::Rc;
use std::sync::Arc;

use crate::policy::RetryPolicy;

/// A value that holds a [`RetryPolicy`]: the policy itself, a reference to
/// one, or a `Box`/`Rc`/`Arc` of one.
///
/// `#[retry(policy = expr)]` evaluates `expr` once per call, before the first
/// attempt, and copies the policy out of it, so the call never keeps a borrow
/// of `self` (or of a lock guard) across the body.
///
/// ```
/// use std::sync::Arc;
/// use retry_runtime::{RetryPolicy, ToPolicy};
///
/// let shared = Arc::new(RetryPolicy::new().max_attempts(7));
/// assert_eq!(shared.to_policy().max_attempts, 7);
/// assert_eq!((&&*shared).to_policy().max_attempts, 7);
/// ```
#[diagnostic::on_unimplemented(
    message = "`policy = …` needs a `retry_runtime::RetryPolicy` or a reference to one, not `{Self}`",
    label = "not a `RetryPolicy`"
)]
pub trait ToPolicy {
    /// A copy of the policy to use for this call.
    fn to_policy(&self) -> RetryPolicy;
}

impl ToPolicy for RetryPolicy {
    #[inline]
    fn to_policy(&self) -> RetryPolicy {
        *self
    }
}

macro_rules! forward_to_policy {
    ($($pointer:ty),*) => {$(
        impl<P: ToPolicy + ?Sized> ToPolicy for $pointer {
            #[inline]
            fn to_policy(&self) -> RetryPolicy {
                (**self).to_policy()
            }
        }
    )*};
}

forward_to_policy!(&P, &mut P, Box<P>, Rc<P>, Arc<P>);
