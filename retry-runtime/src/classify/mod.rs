//! Classifiers: which errors are worth retrying.
//!
//! A classifier is what `#[retry(on = …)]` calls with each error: any
//! `Fn(&E) -> bool` or `Fn(&E) -> Verdict`. This module gives one that knows
//! the real error types of common crates, [`is_transient`], and a way to
//! combine classifiers, [`ClassifierExt`].
//!
//! ```
//! use retry_runtime::classify::{is_transient, ClassifierExt};
//! use retry_runtime::retry;
//! use std::io;
//!
//! // The error of a cache that is full is worth a retry too, in this program.
//! fn is_cache_full(error: &io::Error) -> bool {
//!     error.kind() == io::ErrorKind::StorageFull
//! }
//!
//! #[retry(max = 4, base = "1ms", on = is_transient.or(is_cache_full))]
//! fn store(replies: &mut Vec<io::ErrorKind>) -> io::Result<()> {
//!     match replies.pop() {
//!         Some(kind) => Err(kind.into()),
//!         None => Ok(()),
//!     }
//! }
//!
//! // Popped from the end: a reset connection, then a full cache, then success.
//! let mut replies = vec![io::ErrorKind::StorageFull, io::ErrorKind::ConnectionReset];
//! assert!(store(&mut replies).is_ok());
//!
//! // Permission denied is permanent: returned at once, the rest untouched.
//! let mut replies = vec![io::ErrorKind::ConnectionReset, io::ErrorKind::PermissionDenied];
//! assert_eq!(store(&mut replies).unwrap_err().kind(), io::ErrorKind::PermissionDenied);
//! assert_eq!(replies.len(), 1);
//! ```
//!
//! # What is transient
//!
//! [`Transient`] is implemented for these types; each module has the full
//! table.
//!
//! | type | module | feature |
//! |---|---|---|
//! | `std::io::Error`, `std::io::ErrorKind` | [`io`] | — |
//! | `http::StatusCode`, `http::Response<B>` (with `Retry-After`) | `http` | `http` |
//! | `reqwest::Error`, `reqwest::Response` | `reqwest` | `reqwest` |
//! | `rusqlite::Error`, `rusqlite::ErrorCode` | `sqlite` | `rusqlite` |
//! | `tokio_postgres::Error`, `DbError`, `SqlState` (and SQLSTATE strings, for `sqlx` users) | [`postgres`] | `tokio-postgres` |
//! | `tonic::Status` (with `grpc-retry-pushback-ms`), `tonic::Code` | `grpc` | `tonic` |
//!
//! For an error type of your own, implement [`Transient`], usually by asking
//! the error it wraps; for errors that carry nothing but text, [`message`]
//! matches known phrases as a last resort.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::verdict::{IntoVerdict, Verdict};

#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod grpc;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod io;
pub mod message;
pub mod postgres;
#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
pub mod reqwest;
#[cfg(feature = "rusqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "rusqlite")))]
pub mod sqlite;

/// An error that knows whether retrying the operation could succeed.
///
/// Implemented for the error types listed in the [module docs](self); implement
/// it for your own error type to use [`is_transient`] on it, usually by
/// delegating to the error it wraps.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::classify::{is_transient, Transient};
/// use retry_runtime::{retry, Verdict};
///
/// #[derive(Debug)]
/// enum StoreError {
///     Io(std::io::Error),
///     Throttled { wait_ms: u64 },
///     Invalid,
/// }
///
/// impl Transient for StoreError {
///     fn is_transient(&self) -> bool {
///         match self {
///             StoreError::Io(error) => error.is_transient(),
///             StoreError::Throttled { .. } => true,
///             StoreError::Invalid => false,
///         }
///     }
///
///     fn retry_after(&self) -> Option<Duration> {
///         match self {
///             StoreError::Throttled { wait_ms } => Some(Duration::from_millis(*wait_ms)),
///             _ => None,
///         }
///     }
/// }
///
/// #[retry(max = 3, base = "1ms", on = is_transient)]
/// fn put(error: &mut Option<StoreError>) -> Result<(), StoreError> {
///     error.take().map_or(Ok(()), Err)
/// }
///
/// let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
/// assert!(put(&mut Some(StoreError::Io(timed_out))).is_ok());
/// assert!(put(&mut Some(StoreError::Throttled { wait_ms: 1 })).is_ok());
/// assert!(put(&mut Some(StoreError::Invalid)).is_err());
/// assert_eq!(is_transient(&StoreError::Throttled { wait_ms: 20 }), Verdict::RetryAfter(Duration::from_millis(20)));
/// ```
pub trait Transient {
    /// Whether retrying could succeed: `true` for a timeout, a dropped
    /// connection, a busy database; `false` for a bad request, a missing
    /// row, a constraint violation.
    fn is_transient(&self) -> bool;

    /// How long the other side asked us to wait before retrying (an HTTP
    /// `Retry-After`, a gRPC pushback), if it said. Only consulted when
    /// [`is_transient`](Self::is_transient) is `true`.
    ///
    /// ```
    /// use retry_runtime::classify::Transient;
    /// let error = std::io::Error::from(std::io::ErrorKind::TimedOut);
    /// assert_eq!(error.retry_after(), None); // the default
    /// ```
    fn retry_after(&self) -> Option<Duration> {
        None
    }
}

impl<T: Transient + ?Sized> Transient for &T {
    fn is_transient(&self) -> bool {
        T::is_transient(self)
    }
    fn retry_after(&self) -> Option<Duration> {
        T::retry_after(self)
    }
}

impl<T: Transient + ?Sized> Transient for Box<T> {
    fn is_transient(&self) -> bool {
        T::is_transient(self)
    }
    fn retry_after(&self) -> Option<Duration> {
        T::retry_after(self)
    }
}

impl<T: Transient + ?Sized> Transient for Arc<T> {
    fn is_transient(&self) -> bool {
        T::is_transient(self)
    }
    fn retry_after(&self) -> Option<Duration> {
        T::retry_after(self)
    }
}

impl<T: Transient + ?Sized> Transient for Rc<T> {
    fn is_transient(&self) -> bool {
        T::is_transient(self)
    }
    fn retry_after(&self) -> Option<Duration> {
        T::retry_after(self)
    }
}

/// The classifier for every [`Transient`] error: write `on = is_transient`.
///
/// Answers [`Verdict::Stop`] for a permanent error, and for a transient one
/// [`Verdict::RetryAfter`] when the error carries the server's hint
/// ([`Transient::retry_after`]), [`Verdict::Retry`] otherwise.
///
/// ```
/// use retry_runtime::classify::is_transient;
/// use retry_runtime::{retry, Verdict};
/// use std::io::{Error, ErrorKind};
///
/// #[retry(max = 3, base = "1ms", on = is_transient)]
/// fn connect(refusals: &mut u32) -> std::io::Result<&'static str> {
///     if *refusals > 0 {
///         *refusals -= 1;
///         return Err(ErrorKind::ConnectionRefused.into());
///     }
///     Ok("connected")
/// }
///
/// assert_eq!(connect(&mut 2).unwrap(), "connected");
/// assert_eq!(is_transient(&Error::from(ErrorKind::ConnectionReset)), Verdict::Retry);
/// assert_eq!(is_transient(&Error::from(ErrorKind::NotFound)), Verdict::Stop);
/// ```
pub fn is_transient<E: Transient + ?Sized>(error: &E) -> Verdict {
    if !error.is_transient() {
        return Verdict::Stop;
    }
    error.retry_after().map_or(Verdict::Retry, Verdict::RetryAfter)
}

/// Combinators for classifiers, so an attribute can say
/// `on = is_transient.or(is_deadlock)`.
///
/// Implemented for every classifier: any `Fn(&E) -> bool` or
/// `Fn(&E) -> Verdict`, functions and closures alike. Each combinator
/// returns a classifier answering a [`Verdict`], so they chain:
/// `is_transient.or(is_deadlock).and(is_idempotent.not())`. Bring the trait
/// into scope where the attribute is written.
///
/// ```
/// use retry_runtime::classify::{is_transient, ClassifierExt};
/// use retry_runtime::{retry, Verdict};
/// use std::io::{self, ErrorKind};
///
/// fn is_would_block(error: &io::Error) -> bool {
///     error.kind() == ErrorKind::WouldBlock
/// }
///
/// // Transient, but not `WouldBlock`: this caller polls instead.
/// #[retry(max = 3, base = "1ms", on = is_transient.and(is_would_block.not()))]
/// fn read(replies: &mut Vec<ErrorKind>) -> io::Result<()> {
///     replies.pop().map_or(Ok(()), |kind| Err(kind.into()))
/// }
///
/// let mut replies = vec![ErrorKind::Interrupted];
/// assert!(read(&mut replies).is_ok());
/// let mut replies = vec![ErrorKind::WouldBlock];
/// assert_eq!(read(&mut replies).unwrap_err().kind(), ErrorKind::WouldBlock);
///
/// let classify = is_transient.and(is_would_block.not());
/// assert_eq!(classify(&io::Error::from(ErrorKind::TimedOut)), Verdict::Retry);
/// ```
pub trait ClassifierExt<E: ?Sized, V>: Fn(&E) -> V {
    /// Retries when either classifier says so.
    ///
    /// Short-circuits like `||`: `other` is asked only when `self` answers
    /// `Stop`, and the first answer to retry is kept, with its hint.
    ///
    /// ```
    /// use retry_runtime::classify::ClassifierExt;
    /// use retry_runtime::Verdict;
    ///
    /// let busy = |code: &u16| *code == 503;
    /// let throttled = |code: &u16| *code == 429;
    /// let either = busy.or(throttled);
    /// assert_eq!(either(&429), Verdict::Retry);
    /// assert_eq!(either(&404), Verdict::Stop);
    /// ```
    fn or<B, W>(self, other: B) -> impl Fn(&E) -> Verdict
    where
        Self: Sized,
        V: IntoVerdict,
        B: Fn(&E) -> W,
        W: IntoVerdict,
    {
        move |error: &E| match self(error).into_verdict() {
            Verdict::Stop => other(error).into_verdict(),
            retry => retry,
        }
    }

    /// Retries only when both classifiers say so.
    ///
    /// Short-circuits like `&&`: `other` is asked only when `self` answers
    /// to retry. If either carries a hint ([`Verdict::RetryAfter`]), the
    /// answer keeps it (the longer one, if both do).
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::classify::ClassifierExt;
    /// use retry_runtime::Verdict;
    ///
    /// let server_error = |code: &u16| *code >= 500;
    /// let not_501 = |code: &u16| *code != 501;
    /// let hinted = |_: &u16| Verdict::RetryAfter(Duration::from_secs(2));
    /// assert_eq!(server_error.and(not_501)(&503), Verdict::Retry);
    /// assert_eq!(server_error.and(not_501)(&501), Verdict::Stop);
    /// assert_eq!(server_error.and(hinted)(&503), Verdict::RetryAfter(Duration::from_secs(2)));
    /// ```
    fn and<B, W>(self, other: B) -> impl Fn(&E) -> Verdict
    where
        Self: Sized,
        V: IntoVerdict,
        B: Fn(&E) -> W,
        W: IntoVerdict,
    {
        move |error: &E| {
            let first = self(error).into_verdict();
            if first == Verdict::Stop {
                return Verdict::Stop;
            }
            match (first, other(error).into_verdict()) {
                (_, Verdict::Stop) => Verdict::Stop,
                (Verdict::RetryAfter(a), Verdict::RetryAfter(b)) => Verdict::RetryAfter(a.max(b)),
                (Verdict::RetryAfter(hint), _) | (_, Verdict::RetryAfter(hint)) => Verdict::RetryAfter(hint),
                _ => Verdict::Retry,
            }
        }
    }

    /// Retries exactly when this classifier says not to.
    ///
    /// Mostly useful inside [`and`](Self::and): `is_transient.and(is_timeout.not())`.
    ///
    /// ```
    /// use retry_runtime::classify::ClassifierExt;
    /// use retry_runtime::Verdict;
    ///
    /// let client_error = |code: &u16| (400..500).contains(code);
    /// assert_eq!(client_error.not()(&503), Verdict::Retry);
    /// assert_eq!(client_error.not()(&404), Verdict::Stop);
    /// ```
    fn not(self) -> impl Fn(&E) -> Verdict
    where
        Self: Sized,
        V: IntoVerdict,
    {
        move |error: &E| match self(error).into_verdict() {
            Verdict::Stop => Verdict::Retry,
            Verdict::Retry | Verdict::RetryAfter(_) => Verdict::Stop,
        }
    }
}

impl<E: ?Sized, V, F: Fn(&E) -> V> ClassifierExt<E, V> for F {}

/// Walks `error` and its [`source`](std::error::Error::source) chain and
/// returns the first cause of type `T`.
#[cfg(any(feature = "reqwest", feature = "tokio-postgres"))]
pub(crate) fn find_source<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        next = current.source();
    }
    None
}
