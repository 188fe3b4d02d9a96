//! Retrying a closure: the same loop as `#[retry]`, without the macro.

use crate::describe;
use crate::engine::{Call, CallSite, Step};
use crate::event::RetryEvent;
use crate::policy::RetryPolicy;
use crate::verdict::{IntoVerdict, Verdict};

/// Decides whether an error is worth retrying: implemented by every
/// `Fn(&E) -> bool` and `Fn(&E) -> Verdict`, and by [`RetryAll`].
///
/// ```
/// use retry_runtime::{Classify, RetryAll, Verdict};
///
/// let only_timeouts = |e: &std::io::Error| e.kind() == std::io::ErrorKind::TimedOut;
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// assert_eq!(only_timeouts.classify(&refused), Verdict::Stop);
/// assert_eq!(RetryAll.classify(&refused), Verdict::Retry);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot classify errors of type `{E}`",
    note = "a classifier is a function or closure taking `&{E}` and returning `bool` or `retry_runtime::Verdict`"
)]
pub trait Classify<E> {
    /// The verdict for `error`.
    fn classify(&self, error: &E) -> Verdict;
}

impl<E, F, V> Classify<E> for F
where
    F: Fn(&E) -> V,
    V: IntoVerdict,
{
    fn classify(&self, error: &E) -> Verdict {
        self(error).into_verdict()
    }
}

/// The default classifier: every error is retried.
///
/// ```
/// use retry_runtime::{Classify, RetryAll, Verdict};
/// assert_eq!(RetryAll.classify(&"any error"), Verdict::Retry);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RetryAll;

impl<E> Classify<E> for RetryAll {
    fn classify(&self, _: &E) -> Verdict {
        Verdict::Retry
    }
}

/// Observes retries: implemented by every `Fn(&RetryEvent<'_, E>)` and by [`Silent`].
///
/// ```
/// use std::cell::Cell;
/// use std::time::Duration;
/// use retry_runtime::RetryPolicy;
///
/// let retries = Cell::new(0);
/// let result: Result<(), &str> = RetryPolicy::new()
///     .max_attempts(3)
///     .base(Duration::ZERO)
///     .retry(|| Err("down"))
///     .on_retry(|event| retries.set(event.attempt()))
///     .call();
/// assert_eq!((result, retries.get()), (Err("down"), 2));
/// ```
pub trait Notify<E> {
    /// Called before each sleep.
    fn notify(&self, event: &RetryEvent<'_, E>);
}

impl<E, F: Fn(&RetryEvent<'_, E>)> Notify<E> for F {
    fn notify(&self, event: &RetryEvent<'_, E>) {
        self(event);
    }
}

/// The default hook: does nothing.
///
/// ```
/// let result: Result<u8, ()> = retry_runtime::RetryPolicy::new().retry(|| Ok(1)).call(); // uses `Silent`
/// assert_eq!(result, Ok(1));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl<E> Notify<E> for Silent {
    fn notify(&self, _: &RetryEvent<'_, E>) {}
}

/// A retried operation, ready to run: built by [`RetryPolicy::retry`] or
/// [`RetryPolicy::retry_async`], configured with [`when`](Self::when),
/// [`on_retry`](Self::on_retry) and [`named`](Self::named), run with
/// [`call`](Retry::call).
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::RetryPolicy;
///
/// let policy = RetryPolicy::new().max_attempts(4).base(Duration::from_millis(1));
/// let mut calls = 0;
/// let answer = policy
///     .retry(|| {
///         calls += 1;
///         if calls < 3 { Err(std::io::ErrorKind::ConnectionReset) } else { Ok(42) }
///     })
///     .when(|kind| *kind == std::io::ErrorKind::ConnectionReset)
///     .call();
/// assert_eq!(answer, Ok(42));
/// assert_eq!(calls, 3);
/// ```
#[derive(Debug)]
#[must_use = "a retried operation does nothing until `call` runs it"]
pub struct Retry<Op, C = RetryAll, N = Silent> {
    policy: RetryPolicy,
    operation: Op,
    classify: C,
    notify: N,
    function: &'static str,
}

/// The async form of [`Retry`], built by [`RetryPolicy::retry_async`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use retry_runtime::RetryPolicy;
///
/// let mut calls = 0;
/// let answer = RetryPolicy::new()
///     .retry_async(|| {
///         calls += 1;
///         let attempt = calls;
///         async move { if attempt < 2 { Err("busy") } else { Ok(attempt) } }
///     })
///     .call()
///     .await;
/// assert_eq!(answer, Ok(2));
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a retried operation does nothing until `call` runs it"]
pub struct RetryAsync<Op, C = RetryAll, N = Silent> {
    inner: Retry<Op, C, N>,
}

impl RetryPolicy {
    /// Retries `operation` (a closure returning `Result`) under this policy.
    ///
    /// See [`Retry`] for an example.
    pub fn retry<Op, T, E>(&self, operation: Op) -> Retry<Op>
    where
        Op: FnMut() -> Result<T, E>,
    {
        Retry { policy: *self, operation, classify: RetryAll, notify: Silent, function: "closure" }
    }

    /// Retries `operation` (a closure returning a future of `Result`) under
    /// this policy, sleeping on tokio's timer.
    ///
    /// See [`RetryAsync`] for an example.
    pub fn retry_async<Op, Fut, T, E>(&self, operation: Op) -> RetryAsync<Op>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        RetryAsync {
            inner: Retry { policy: *self, operation, classify: RetryAll, notify: Silent, function: "closure" },
        }
    }
}

impl<Op, C, N> Retry<Op, C, N> {
    fn with_classifier<C2>(self, classify: C2) -> Retry<Op, C2, N> {
        Retry { policy: self.policy, operation: self.operation, classify, notify: self.notify, function: self.function }
    }

    fn with_hook<N2>(self, notify: N2) -> Retry<Op, C, N2> {
        Retry {
            policy: self.policy,
            operation: self.operation,
            classify: self.classify,
            notify,
            function: self.function,
        }
    }

    /// Names the operation in [`RetryEvent::function`].
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::time::Duration;
    /// let seen = RefCell::new("");
    /// let _ = retry_runtime::RetryPolicy::new()
    ///     .base(Duration::ZERO)
    ///     .retry(|| Err::<(), _>(()))
    ///     .named("billing::charge")
    ///     .on_retry(|event| *seen.borrow_mut() = event.function())
    ///     .call();
    /// assert_eq!(*seen.borrow(), "billing::charge");
    /// ```
    pub fn named(mut self, function: &'static str) -> Self {
        self.function = function;
        self
    }
}

impl<Op, C, N, T, E> Retry<Op, C, N>
where
    Op: FnMut() -> Result<T, E>,
{
    /// Retries only the errors `classify` calls transient (`true` or a retrying [`Verdict`]).
    ///
    /// ```
    /// let mut calls = 0;
    /// let result = retry_runtime::RetryPolicy::new()
    ///     .retry(|| { calls += 1; Err::<(), _>("permission denied") })
    ///     .when(|e| e.contains("timeout"))
    ///     .call();
    /// assert_eq!((result, calls), (Err("permission denied"), 1));
    /// ```
    pub fn when<V: IntoVerdict, F: Fn(&E) -> V>(self, classify: F) -> Retry<Op, F, N> {
        self.with_classifier(classify)
    }

    /// Calls `hook` before each sleep (see [`Notify`] for an example).
    pub fn on_retry<F: Fn(&RetryEvent<'_, E>)>(self, hook: F) -> Retry<Op, C, F> {
        self.with_hook(hook)
    }

    /// Runs the operation until it succeeds, fails permanently, or runs out of
    /// attempts or time; returns the last result.
    ///
    /// # Errors
    /// The last attempt's error, unchanged.
    #[inline]
    pub fn call(self) -> Result<T, E>
    where
        C: Classify<E>,
        N: Notify<E>,
    {
        let Retry { policy, mut operation, classify, notify, function } = self;
        let site = CallSite::new(function, policy);
        let mut call = Call::sync(&site, site.policy());
        loop {
            let result = call.attempt(&mut operation);
            let step = call.step(
                &site,
                site.policy(),
                result,
                |e| classify.classify(e),
                |event| notify.notify(event),
                describe::by_type_name,
            );
            match step {
                Step::Return(result) => return result,
                Step::Sleep(delay) => call.sleep_blocking(delay),
            }
        }
    }
}

impl<Op, C, N> RetryAsync<Op, C, N> {
    /// Names the operation in [`RetryEvent::function`].
    pub fn named(self, function: &'static str) -> Self {
        RetryAsync { inner: self.inner.named(function) }
    }
}

impl<Op, C, N, Fut, T, E> RetryAsync<Op, C, N>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    /// Retries only the errors `classify` calls transient (`true` or a retrying [`Verdict`]).
    pub fn when<V: IntoVerdict, F: Fn(&E) -> V>(self, classify: F) -> RetryAsync<Op, F, N> {
        RetryAsync { inner: self.inner.with_classifier(classify) }
    }

    /// Calls `hook` before each sleep.
    pub fn on_retry<F: Fn(&RetryEvent<'_, E>)>(self, hook: F) -> RetryAsync<Op, C, F> {
        RetryAsync { inner: self.inner.with_hook(hook) }
    }

    /// Runs the operation until it succeeds, fails permanently, or runs out of
    /// attempts or time; returns the last result.
    ///
    /// # Errors
    /// The last attempt's error, unchanged.
    #[cfg(feature = "tokio")]
    pub async fn call(self) -> Result<T, E>
    where
        C: Classify<E>,
        N: Notify<E>,
    {
        let Retry { policy, mut operation, classify, notify, function } = self.inner;
        let site = CallSite::new(function, policy);
        let mut call = Call::tokio(&site, site.policy());
        loop {
            let result = call.attempt_async(operation()).await;
            // Bound apart from the sleep: a result held across it would make
            // the future non-`Send` for a non-`Send` error.
            let delay = match call.step(
                &site,
                site.policy(),
                result,
                |e| classify.classify(e),
                |event| notify.notify(event),
                describe::by_type_name,
            ) {
                Step::Return(result) => return result,
                Step::Sleep(delay) => delay,
            };
            if !delay.is_zero() {
                call.sleep(delay).await;
            }
        }
    }
}
