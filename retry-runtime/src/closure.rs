//! Retrying a closure: the same loop as `#[retry]`, without the macro.

use crate::attempt::{Attempt, Origin};
use crate::describe;
use crate::engine::RetryOutcome;
use crate::engine::{Call, CallSite, Step};
use crate::event::RetryEvent;
use crate::fallback::{FallBackTo, Fallback, FallbackAsync, NoFallback};
use crate::policy::RetryPolicy;
use crate::sleep::{DefaultSleeper, Sleeper};
use crate::timeout::TimedOut;
use crate::verdict::{IntoVerdict, Verdict};
use std::time::Duration;

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

/// What the closure API runs once per attempt: a closure taking nothing
/// ([`RetryPolicy::retry`]) or its [`Attempt`]
/// ([`RetryPolicy::retry_with_attempt`]). Implemented by the two wrappers
/// those make; not meant to be implemented elsewhere.
#[doc(hidden)]
pub trait Operation {
    /// What one attempt returns: a `Result`, or a future of one.
    type Output;
    /// What an attempt is given: nothing, or its [`Attempt`].
    type Context: Copy;

    /// The context of the attempt `call` is at, made before the attempt
    /// runs (inside its span).
    fn context(&mut self, call: &Call<'_>) -> Self::Context;

    /// Runs one attempt.
    fn run(&mut self, context: Self::Context) -> Self::Output;
}

/// A closure retried without its attempt.
#[doc(hidden)]
#[derive(Debug)]
pub struct Plain<F>(F);

impl<F: FnMut() -> R, R> Operation for Plain<F> {
    type Output = R;
    type Context = ();

    #[inline]
    fn context(&mut self, _: &Call<'_>) {}

    #[inline]
    fn run(&mut self, (): ()) -> R {
        (self.0)()
    }
}

/// A closure given its [`Attempt`].
#[doc(hidden)]
#[derive(Debug)]
pub struct WithAttempt<F> {
    operation: F,
    /// Made at the first attempt: a `Retry` is called once.
    origin: Option<Origin>,
}

impl<F: FnMut(Attempt) -> R, R> Operation for WithAttempt<F> {
    type Output = R;
    type Context = Attempt;

    fn context(&mut self, call: &Call<'_>) -> Attempt {
        let origin = *self.origin.get_or_insert_with(|| call.origin());
        call.context(origin)
    }

    fn run(&mut self, attempt: Attempt) -> R {
        (self.operation)(attempt)
    }
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
pub struct Retry<Op, C = RetryAll, N = Silent, F = NoFallback> {
    policy: RetryPolicy,
    operation: Op,
    classify: C,
    notify: N,
    function: &'static str,
    fallback: F,
}

/// The async form of [`Retry`], built by [`RetryPolicy::retry_async`]:
/// it sleeps on tokio's timer unless given another [`sleep`](Self::sleep).
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
pub struct RetryAsync<Op, C = RetryAll, N = Silent, S = DefaultSleeper, F = NoFallback, H = NoHedge> {
    inner: Retry<Op, C, N, F>,
    sleeper: S,
    hedge: H,
}

/// Whether a [`RetryAsync`] hedges: [`NoHedge`] (the default) or the
/// settings [`RetryAsync::hedge`] made. Not meant to be implemented elsewhere.
#[doc(hidden)]
pub trait HedgeOption<R> {
    /// The hedge delay, and the result of a call whose deadline passed
    /// before any attempt answered.
    fn hedge(&self) -> Option<(Duration, TimedOutResult<R>)>;
}

/// Makes the result of a hedged call whose deadline passed.
type TimedOutResult<R> = fn(TimedOut) -> R;

/// No hedging: attempts follow one another.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHedge;

impl<R> HedgeOption<R> for NoHedge {
    #[inline]
    fn hedge(&self) -> Option<(Duration, TimedOutResult<R>)> {
        None
    }
}

/// Hedging after a delay, set by [`RetryAsync::hedge`].
#[doc(hidden)]
#[derive(Debug)]
pub struct Hedge<R> {
    delay: Duration,
    timed_out: fn(TimedOut) -> R,
}

impl<R> HedgeOption<R> for Hedge<R> {
    #[inline]
    fn hedge(&self) -> Option<(Duration, TimedOutResult<R>)> {
        Some((self.delay, self.timed_out))
    }
}

impl RetryPolicy {
    /// Retries `operation` (a closure returning `Result`) under this policy.
    ///
    /// See [`Retry`] for an example.
    pub fn retry<Op, T, E>(&self, operation: Op) -> Retry<Plain<Op>>
    where
        Op: FnMut() -> Result<T, E>,
    {
        Retry::new(*self, Plain(operation))
    }

    /// Retries `operation`, given its [`Attempt`] (number, call id, time
    /// since the first), under this policy.
    ///
    /// ```
    /// use std::time::Duration;
    /// let keys = std::cell::RefCell::new(Vec::new());
    /// let result = retry_runtime::RetryPolicy::new()
    ///     .base(Duration::ZERO)
    ///     .retry_with_attempt(|attempt| {
    ///         keys.borrow_mut().push(attempt.call_id());
    ///         if attempt.number() < 3 { Err("503") } else { Ok(attempt.number()) }
    ///     })
    ///     .call();
    /// assert_eq!(result, Ok(3));
    /// assert!(keys.borrow().iter().all(|key| *key == keys.borrow()[0]));
    /// ```
    pub fn retry_with_attempt<Op, T, E>(&self, operation: Op) -> Retry<WithAttempt<Op>>
    where
        Op: FnMut(Attempt) -> Result<T, E>,
    {
        Retry::new(*self, WithAttempt { operation, origin: None })
    }

    /// Retries `operation` (a closure returning a future of `Result`) under
    /// this policy, sleeping on tokio's timer unless given another
    /// [`sleep`](RetryAsync::sleep).
    ///
    /// See [`RetryAsync`] for an example.
    pub fn retry_async<Op, Fut, T, E>(&self, operation: Op) -> RetryAsync<Plain<Op>>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        RetryAsync { inner: Retry::new(*self, Plain(operation)), sleeper: DefaultSleeper, hedge: NoHedge }
    }

    /// Retries `operation` (a closure given its [`Attempt`], returning a
    /// future of `Result`) under this policy.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let answer = retry_runtime::RetryPolicy::new()
    ///     .retry_async_with_attempt(|attempt| async move {
    ///         if attempt.is_last() { Ok(attempt.number()) } else { Err("busy") }
    ///     })
    ///     .call()
    ///     .await;
    /// assert_eq!(answer, Ok(3));
    /// # }
    /// ```
    pub fn retry_async_with_attempt<Op, Fut, T, E>(&self, operation: Op) -> RetryAsync<WithAttempt<Op>>
    where
        Op: FnMut(Attempt) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        RetryAsync {
            inner: Retry::new(*self, WithAttempt { operation, origin: None }),
            sleeper: DefaultSleeper,
            hedge: NoHedge,
        }
    }
}

impl<Op> Retry<Op> {
    fn new(policy: RetryPolicy, operation: Op) -> Self {
        Retry { policy, operation, classify: RetryAll, notify: Silent, function: "closure", fallback: NoFallback }
    }
}

impl<Op, C, N, F> Retry<Op, C, N, F> {
    fn with_classifier<C2>(self, classify: C2) -> Retry<Op, C2, N, F> {
        let Retry { policy, operation, notify, function, fallback, .. } = self;
        Retry { policy, operation, classify, notify, function, fallback }
    }

    fn with_hook<N2>(self, notify: N2) -> Retry<Op, C, N2, F> {
        let Retry { policy, operation, classify, function, fallback, .. } = self;
        Retry { policy, operation, classify, notify, function, fallback }
    }

    fn with_fallback<F2>(self, fallback: F2) -> Retry<Op, C, N, F2> {
        let Retry { policy, operation, classify, notify, function, .. } = self;
        Retry { policy, operation, classify, notify, function, fallback }
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

impl<Op, C, N, F, T, E> Retry<Op, C, N, F>
where
    Op: Operation<Output = Result<T, E>>,
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
    pub fn when<V: IntoVerdict, K: Fn(&E) -> V>(self, classify: K) -> Retry<Op, K, N, F> {
        self.with_classifier(classify)
    }

    /// Calls `hook` before each sleep (see [`Notify`] for an example).
    pub fn on_retry<H: Fn(&RetryEvent<'_, E>)>(self, hook: H) -> Retry<Op, C, H, F> {
        self.with_hook(hook)
    }

    /// Returns `fallback(error)` instead of the error the call would
    /// return, however it ended (out of attempts or time, a permanent
    /// error, refused by the budget).
    ///
    /// ```
    /// let mut calls = 0;
    /// let answer: Result<&str, &str> = retry_runtime::RetryPolicy::new()
    ///     .retry(|| { calls += 1; Err("permission denied") })
    ///     .when(|_| false)
    ///     .fallback(|error| if error == "permission denied" { Ok("guest") } else { Err(error) })
    ///     .call();
    /// assert_eq!((answer, calls), (Ok("guest"), 1));
    /// ```
    pub fn fallback<G: FnOnce(E) -> Result<T, E>>(self, fallback: G) -> Retry<Op, C, N, FallBackTo<G>> {
        self.with_fallback(FallBackTo(fallback))
    }

    /// Runs the operation until it succeeds, fails permanently, or runs out of
    /// attempts or time; returns the last result.
    ///
    /// # Errors
    /// The last attempt's error, unchanged, or the [`fallback`](Self::fallback)'s.
    #[inline]
    pub fn call(self) -> Result<T, E>
    where
        C: Classify<E>,
        N: Notify<E>,
        F: Fallback<T, E>,
    {
        let Retry { policy, mut operation, classify, notify, function, fallback } = self;
        let site = CallSite::new(function, policy);
        let mut call = Call::sync(&site, site.policy());
        loop {
            let context = operation.context(&call);
            // Run by the call, which enters the attempt's span around it.
            let result = call.attempt(|| operation.run(context));
            let step = call.step(
                &site,
                site.policy(),
                result,
                |e| classify.classify(e),
                |event| notify.notify(event),
                describe::by_type_name,
            );
            match step {
                Step::Return(result) if !fallback.given() => return result,
                Step::Return(result) => {
                    return match call.fall_back(result) {
                        Ok(result) => result,
                        Err(error) => fallback.fall_back(error),
                    };
                }
                Step::Sleep(delay) => call.sleep_blocking(delay),
            }
        }
    }
}

impl<Op, C, N, S, F, H> RetryAsync<Op, C, N, S, F, H> {
    /// Names the operation in [`RetryEvent::function`].
    pub fn named(self, function: &'static str) -> Self {
        RetryAsync { inner: self.inner.named(function), sleeper: self.sleeper, hedge: self.hedge }
    }

    /// Sleeps on `sleeper` between attempts instead of tokio's timer: any
    /// function from a [`Duration`](std::time::Duration) to a future
    /// (`async_std::task::sleep`, `async_io::Timer::after`, a test's own).
    /// The deadline is then measured on [`std::time::Instant`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let slept = std::cell::RefCell::new(Vec::new());
    /// let record = |delay: Duration| {
    ///     slept.borrow_mut().push(delay);
    ///     std::future::ready(())
    /// };
    /// let result = futures_lite::future::block_on(
    ///     retry_runtime::RetryPolicy::new()
    ///         .base(Duration::from_secs(1))
    ///         .jitter(retry_runtime::Jitter::None)
    ///         .retry_async(|| async { Err::<(), _>("down") })
    ///         .sleep(record)
    ///         .call(),
    /// );
    /// assert_eq!(result, Err("down"));
    /// assert_eq!(*slept.borrow(), [Duration::from_secs(1), Duration::from_secs(2)]);
    /// ```
    pub fn sleep<S2: Sleeper>(self, sleeper: S2) -> RetryAsync<Op, C, N, S2, F, H> {
        RetryAsync { inner: self.inner, sleeper, hedge: self.hedge }
    }
}

impl<Op, C, N, S, F, H, Fut, T, E> RetryAsync<Op, C, N, S, F, H>
where
    Op: Operation<Output = Fut>,
    Fut: Future<Output = Result<T, E>>,
{
    /// Retries only the errors `classify` calls transient (`true` or a retrying [`Verdict`]).
    pub fn when<V: IntoVerdict, K: Fn(&E) -> V>(self, classify: K) -> RetryAsync<Op, K, N, S, F, H> {
        RetryAsync { inner: self.inner.with_classifier(classify), sleeper: self.sleeper, hedge: self.hedge }
    }

    /// Calls `hook` before each sleep.
    pub fn on_retry<K: Fn(&RetryEvent<'_, E>)>(self, hook: K) -> RetryAsync<Op, C, K, S, F, H> {
        RetryAsync { inner: self.inner.with_hook(hook), sleeper: self.sleeper, hedge: self.hedge }
    }

    /// Hedges the attempts: if an attempt has not answered after `delay`,
    /// a copy starts while it keeps running, up to the policy's
    /// `max_attempts` started; the first success wins and the others are
    /// dropped. A permanent error ends the call at once; a transient one
    /// starts the next copy at once. Each copy is asked of the deadline and
    /// counted as a retry (`on_retry` is told of copies started after a
    /// transient error, with a zero delay). The policy's `base` and
    /// backoff are not used. The deadline drops every attempt in flight and
    /// fails the call with `E::from(TimedOut)`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let mut started = 0;
    /// let answer = retry_runtime::RetryPolicy::new()
    ///     .max_attempts(2)
    ///     .retry_async(|| {
    ///         started += 1;
    ///         // The first attempt is slow; the copy started after 50ms answers in 10ms.
    ///         let latency = if started == 1 { Duration::from_secs(1) } else { Duration::from_millis(10) };
    ///         async move {
    ///             tokio::time::sleep(latency).await;
    ///             Ok::<_, std::io::Error>(latency)
    ///         }
    ///     })
    ///     .hedge(Duration::from_millis(50))
    ///     .call()
    ///     .await;
    /// assert_eq!(answer.ok(), Some(Duration::from_millis(10)));
    /// # }
    /// ```
    pub fn hedge(self, delay: Duration) -> RetryAsync<Op, C, N, S, F, Hedge<Result<T, E>>>
    where
        E: From<TimedOut>,
    {
        let hedge = Hedge { delay, timed_out: <Result<T, E> as RetryOutcome>::timed_out };
        RetryAsync { inner: self.inner, sleeper: self.sleeper, hedge }
    }

    /// Awaits `fallback(error)` and returns it instead of the error the call
    /// would return, however it ended.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let answer = retry_runtime::RetryPolicy::new()
    ///     .retry_async(|| async { Err::<u32, _>("down") })
    ///     .fallback(|_error| async { Ok(0) })
    ///     .call()
    ///     .await;
    /// assert_eq!(answer, Ok(0));
    /// # }
    /// ```
    pub fn fallback<G, GFut>(self, fallback: G) -> RetryAsync<Op, C, N, S, FallBackTo<G>, H>
    where
        G: FnOnce(E) -> GFut,
        GFut: Future<Output = Result<T, E>>,
    {
        RetryAsync { inner: self.inner.with_fallback(FallBackTo(fallback)), sleeper: self.sleeper, hedge: self.hedge }
    }

    /// Runs the operation until it succeeds, fails permanently, or runs out of
    /// attempts or time; returns the last result.
    ///
    /// # Errors
    /// The last attempt's error, unchanged, or the [`fallback`](Self::fallback)'s.
    pub async fn call(self) -> Result<T, E>
    where
        C: Classify<E>,
        N: Notify<E>,
        S: Sleeper,
        F: FallbackAsync<T, E>,
        H: HedgeOption<Result<T, E>>,
    {
        let RetryAsync { inner: Retry { policy, mut operation, classify, notify, function, fallback }, sleeper, hedge } =
            self;
        let site = CallSite::new(function, policy);
        let mut call = Call::asynchronous(&site, site.policy(), &sleeper);
        let result = if let Some((delay, timed_out)) = hedge.hedge() {
            // Boxed: the driver's state would otherwise make every call's
            // future as large as a hedged one, hedged or not (776 bytes
            // against 240); a hedged call allocates for its copies anyway.
            Box::pin(crate::hedge::hedged(
                &mut call,
                &sleeper,
                delay,
                |call| {
                    let context = operation.context(call);
                    operation.run(context)
                },
                // Moved in, not lent: a classifier or hook that is not
                // `Sync` would otherwise make the call's future not `Send`.
                move |e| classify.classify(e),
                move |event| notify.notify(event),
                describe::by_type_name,
                Some(timed_out),
            ))
            .await
        } else {
            loop {
                let context = operation.context(&call);
                let result = call.attempt_async(operation.run(context)).await;
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
                    Step::Return(result) => break result,
                    Step::Sleep(delay) => delay,
                };
                if !delay.is_zero() {
                    call.sleep_on(&sleeper, delay).await;
                }
            }
        };
        // Bound apart from the await, which then holds no result.
        let fallback = match fall_back_async(&call, fallback, result) {
            Ok(result) => return result,
            Err(fallback) => fallback,
        };
        fallback.await
    }
}

/// What an async call that ended with `result` returns: `result`, or the
/// future of its fallback's result when there is a fallback and `result`
/// is an error. Decided before any await: the call is not held across it.
fn fall_back_async<T, E, F: FallbackAsync<T, E>>(
    call: &Call<'_>,
    fallback: F,
    result: Result<T, E>,
) -> Result<Result<T, E>, F::Future> {
    if !fallback.given() {
        return Ok(result);
    }
    match call.fall_back(result) {
        Ok(result) => Ok(result),
        Err(error) => fallback.fall_back(error).map_or_else(|error| Ok(Err(error)), Err),
    }
}
