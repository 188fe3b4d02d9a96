//! `fallback`: the last answer of a call whose attempts all failed.
//!
//! The engine decides when a call falls back ([`crate::engine::Call::fall_back`]:
//! whenever it would return an error, however it ended) and counts it; this
//! file holds what calls the user's fallback: typed helpers for the
//! expansion of `#[retry(fallback = …)]` and the closure API's
//! [`Fallback`] / [`FallbackAsync`].

use std::future::{Future, Pending};

use crate::engine::RetryOutcome;

/// Calls a sync function's `fallback` with `error`. The bound names the
/// declared return type `R`, so a closure's argument type is inferred and a
/// wrong signature is reported on the expression.
#[inline]
pub fn fallback<R: RetryOutcome, F: FnOnce(R::Error) -> R>(fallback: F, error: R::Error) -> R {
    fallback(error)
}

/// Calls an async function's `fallback` with `error` and awaits it. An
/// `async fn`, so that a fallback that returns no future is reported once,
/// on the expression, and not again where its result is awaited.
pub async fn fallback_async<R: RetryOutcome, F: FnOnce(R::Error) -> Fut, Fut: Future<Output = R>>(
    fallback: F,
    error: R::Error,
) -> R {
    fallback(error).await
}

/// What a [`crate::Retry`] returns instead of its error: nothing
/// ([`NoFallback`], the default) or the result of the function given to
/// [`crate::Retry::fallback`]. Not meant to be implemented elsewhere.
///
/// ```
/// use std::time::Duration;
/// let cached: Result<&str, &str> = retry_runtime::RetryPolicy::new()
///     .base(Duration::ZERO)
///     .retry(|| Err("down"))
///     .fallback(|_error| Ok("cached"))
///     .call();
/// assert_eq!(cached, Ok("cached"));
/// ```
pub trait Fallback<T, E> {
    /// Whether there is a fallback: only then is a failed call counted as
    /// falling back.
    fn given(&self) -> bool;

    /// The result returned instead of `error`.
    ///
    /// # Errors
    /// Whatever the fallback returns; `error` itself for [`NoFallback`].
    fn fall_back(self, error: E) -> Result<T, E>;
}

/// The async form of [`Fallback`], for [`crate::RetryAsync::fallback`].
pub trait FallbackAsync<T, E> {
    /// The future of the result returned instead of the error.
    type Future: Future<Output = Result<T, E>>;

    /// Whether there is a fallback (see [`Fallback::given`]).
    fn given(&self) -> bool;

    /// The future of the result returned instead of `error`, or `error`
    /// itself for [`NoFallback`] (no future holds it: an error that is not
    /// `Send` then leaves the call's future `Send`).
    ///
    /// # Errors
    /// `error`, when there is no fallback.
    fn fall_back(self, error: E) -> Result<Self::Future, E>;
}

/// No fallback: the call returns its error.
///
/// ```
/// use retry_runtime::{Fallback, NoFallback};
/// assert_eq!(Fallback::<(), _>::fall_back(NoFallback, "down"), Err("down"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFallback;

impl<T, E> Fallback<T, E> for NoFallback {
    #[inline]
    fn given(&self) -> bool {
        false
    }

    #[inline]
    fn fall_back(self, error: E) -> Result<T, E> {
        Err(error)
    }
}

impl<T, E> FallbackAsync<T, E> for NoFallback {
    // Never made: `Pending` is `Send` whatever `T` and `E` are.
    type Future = Pending<Result<T, E>>;

    #[inline]
    fn given(&self) -> bool {
        false
    }

    #[inline]
    fn fall_back(self, error: E) -> Result<Self::Future, E> {
        Err(error)
    }
}

/// A function given to [`crate::Retry::fallback`] or [`crate::RetryAsync::fallback`].
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct FallBackTo<F>(pub(crate) F);

impl<T, E, F: FnOnce(E) -> Result<T, E>> Fallback<T, E> for FallBackTo<F> {
    #[inline]
    fn given(&self) -> bool {
        true
    }

    #[inline]
    fn fall_back(self, error: E) -> Result<T, E> {
        (self.0)(error)
    }
}

impl<T, E, F: FnOnce(E) -> Fut, Fut: Future<Output = Result<T, E>>> FallbackAsync<T, E> for FallBackTo<F> {
    type Future = Fut;

    #[inline]
    fn given(&self) -> bool {
        true
    }

    #[inline]
    fn fall_back(self, error: E) -> Result<Fut, E> {
        Ok((self.0)(error))
    }
}
