//! What an async call sleeps on between attempts: tokio's timer by default,
//! async-io's (smol's) with the `async-io` feature, or any function a user
//! names with `#[retry(sleep = path)]` or [`RetryAsync::sleep`](crate::RetryAsync::sleep),
//! so that async-std, embassy, wasm or a simulated clock work too.
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::retry;
//!
//! // Any function from a `Duration` to a future is a sleeper: here one that
//! // does not wait at all (a test's, or a runtime's own timer in its place).
//! async fn no_wait(_delay: Duration) {}
//!
//! #[retry(max = 3, sleep = no_wait)]
//! async fn fetch() -> Result<u32, &'static str> {
//!     Err("unavailable")
//! }
//!
//! assert_eq!(futures_lite::future::block_on(fetch()), Err("unavailable"));
//! ```

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

/// A timer an async call sleeps on: implemented by every function or closure
/// taking a [`Duration`] and returning a future (its output is ignored, so
/// `tokio::time::sleep`, `async_std::task::sleep` and
/// `async_io::Timer::after` all qualify), and by [`Tokio`], [`AsyncIo`] and
/// [`DefaultSleeper`].
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::sleep::Sleeper;
///
/// async fn instant(_: Duration) {}
/// futures_lite::future::block_on(instant.sleep(Duration::from_secs(60)));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used to sleep between attempts",
    label = "not a sleeper",
    note = "a sleeper is a function taking a `Duration` and returning a future, such as `tokio::time::sleep`, `async_std::task::sleep` or `async_io::Timer::after`",
    note = "without `sleep = path`, an async fn sleeps on tokio's timer (retry-runtime's default feature `tokio`) or on async-io's (its feature `async-io`): enable one of them, or name a sleeper with `#[retry(sleep = path)]`"
)]
pub trait Sleeper {
    /// The future of one sleep.
    type Sleep: Future;

    /// Sleeps for `delay`.
    fn sleep(&self, delay: Duration) -> Self::Sleep;

    /// Whether the call's deadline is measured on tokio's clock (so that
    /// paused time applies) rather than on [`std::time::Instant`].
    #[doc(hidden)]
    fn on_tokio_time(&self) -> bool {
        false
    }
}

impl<F, Fut> Sleeper for F
where
    F: Fn(Duration) -> Fut,
    Fut: Future,
{
    type Sleep = Fut;

    #[inline]
    fn sleep(&self, delay: Duration) -> Fut {
        self(delay)
    }
}

/// What the expansion turns a `sleep = …` value into, once per call: when
/// the value is no sleeper, the error is reported here, where the value is
/// written. The call's later uses of it see only the opaque `impl Sleeper`.
#[doc(hidden)]
#[inline]
pub fn checked<S: Sleeper>(sleeper: S) -> impl Sleeper {
    sleeper
}

/// The timer of an async fn that names none: [`DefaultSleeper`].
#[doc(hidden)]
#[cfg(any(feature = "tokio", feature = "async-io"))]
#[inline]
pub fn default_sleeper<S: Sleeper + Default>() -> S {
    S::default()
}

/// Without a timer feature, the timer of an async fn that names none is an
/// error, reported once: the value returned in its place is a sleeper, so
/// the call's later uses of it type-check.
#[doc(hidden)]
#[cfg(not(any(feature = "tokio", feature = "async-io")))]
pub fn default_sleeper<S: TimerFeature>() -> NoTimer {
    NoTimer
}

/// Implemented by nothing: a build without a timer feature has no default timer.
#[doc(hidden)]
#[cfg(not(any(feature = "tokio", feature = "async-io")))]
#[diagnostic::on_unimplemented(
    message = "an async #[retry] fn needs a timer to sleep between attempts, and retry-runtime was built without one",
    label = "no timer for this async fn",
    note = "enable retry-runtime's feature `tokio` (a default feature) or `async-io` (smol's timer), or name a sleeper with `#[retry(sleep = path)]`: any function from a `Duration` to a future, such as `async_std::task::sleep`"
)]
pub trait TimerFeature {}

/// The stand-in [`default_sleeper`] returns in a build without a timer,
/// which does not compile.
#[doc(hidden)]
#[cfg(not(any(feature = "tokio", feature = "async-io")))]
#[derive(Debug)]
pub struct NoTimer;

#[cfg(not(any(feature = "tokio", feature = "async-io")))]
impl Sleeper for NoTimer {
    type Sleep = std::future::Pending<()>;

    fn sleep(&self, _: Duration) -> Self::Sleep {
        std::future::pending()
    }
}

/// tokio's timer (feature `tokio`): the deadline is measured on tokio's
/// clock, so `#[tokio::test(start_paused = true)]` makes sleeps instant and
/// deadlines pass in virtual time.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use retry_runtime::{retry, sleep::Tokio};
///
/// #[retry(max = 2, base = "1h", cap = "1h", sleep = Tokio)]
/// async fn slow_to_recover() -> Result<(), &'static str> {
///     Err("down")
/// }
///
/// assert_eq!(slow_to_recover().await, Err("down")); // an hour, in paused time
/// # }
/// ```
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

#[cfg(feature = "tokio")]
impl Sleeper for Tokio {
    type Sleep = tokio::time::Sleep;

    #[inline]
    fn sleep(&self, delay: Duration) -> tokio::time::Sleep {
        tokio::time::sleep(delay)
    }

    fn on_tokio_time(&self) -> bool {
        true
    }
}

/// async-io's timer (feature `async-io`), the one smol runs on.
///
/// ```
/// use retry_runtime::{retry, sleep::AsyncIo};
///
/// #[retry(max = 3, base = "1ms", sleep = AsyncIo)]
/// async fn flaky() -> Result<(), &'static str> {
///     Err("busy")
/// }
///
/// assert_eq!(async_io::block_on(flaky()), Err("busy"));
/// ```
#[cfg(feature = "async-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct AsyncIo;

#[cfg(feature = "async-io")]
impl Sleeper for AsyncIo {
    type Sleep = async_io::Timer;

    #[inline]
    fn sleep(&self, delay: Duration) -> async_io::Timer {
        async_io::Timer::after(delay)
    }
}

/// The timer an async call sleeps on when none is named: [`Tokio`] with the
/// `tokio` feature (the default), else [`AsyncIo`] with the `async-io`
/// feature. With neither, it is no sleeper, and an async `#[retry]` fn
/// without `sleep = path` does not compile.
///
/// ```
/// use retry_runtime::sleep::{DefaultSleeper, Sleeper};
///
/// fn is_sleeper(_: &impl Sleeper) {}
/// is_sleeper(&DefaultSleeper); // retry-runtime's default features include `tokio`
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultSleeper;

#[cfg(feature = "tokio")]
impl Sleeper for DefaultSleeper {
    type Sleep = tokio::time::Sleep;

    #[inline]
    fn sleep(&self, delay: Duration) -> tokio::time::Sleep {
        Tokio.sleep(delay)
    }

    fn on_tokio_time(&self) -> bool {
        true
    }
}

#[cfg(all(feature = "async-io", not(feature = "tokio")))]
impl Sleeper for DefaultSleeper {
    type Sleep = async_io::Timer;

    #[inline]
    fn sleep(&self, delay: Duration) -> async_io::Timer {
        AsyncIo.sleep(delay)
    }
}

/// Runs `attempt` until it finishes or `timer` fires, whichever is first:
/// `None` when the timer won. The attempt is polled first, so one that is
/// ready when the time is up still counts.
pub(crate) async fn race<A: Future, T: Future>(attempt: A, timer: T) -> Option<A::Output> {
    let (mut attempt, mut timer) = (pin!(attempt), pin!(timer));
    poll_fn(|context| {
        if let Poll::Ready(output) = attempt.as_mut().poll(context) {
            return Poll::Ready(Some(output));
        }
        if timer.as_mut().poll(context).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::future::{pending, ready};
    use std::time::Duration;

    use super::{Sleeper, race};

    #[test]
    fn the_attempt_wins_a_tie() {
        let output = futures_lite::future::block_on(race(ready(7), ready(())));
        assert_eq!(output, Some(7));
    }

    #[test]
    fn the_timer_ends_an_attempt_that_never_finishes() {
        let output = futures_lite::future::block_on(race(pending::<u8>(), ready(())));
        assert_eq!(output, None);
    }

    #[test]
    fn any_function_to_a_future_is_a_sleeper() {
        let slept = std::cell::Cell::new(Duration::ZERO);
        let recorder = |delay| {
            slept.set(delay);
            ready(42_u64)
        };
        futures_lite::future::block_on(recorder.sleep(Duration::from_millis(3)));
        assert_eq!(slept.get(), Duration::from_millis(3));
        assert!(!recorder.on_tokio_time());
    }
}
