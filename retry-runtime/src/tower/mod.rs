//! The same policy as a tower layer: [`RetryLayer`] retries every call of a
//! `tower::Service` (a tonic `Channel`, a hyper-util client, an axum or
//! `ServiceBuilder` stack) on the engine `#[retry]` runs on.
//!
//! One layer carries everything the attribute does: a classifier, an
//! `on_retry` hook, statistics under a name, a shared [`RetryBudget`], a
//! [`CircuitBreaker`], a per-attempt `timeout`, and the policy's `deadline`.
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::tower::RetryLayer;
//! use retry_runtime::{RetryBudget, RetryPolicy, Stats};
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! static INVENTORY: Stats = Stats::new();
//! static BUDGET: RetryBudget = RetryBudget::new();
//!
//! /// A service that fails twice, then answers.
//! #[derive(Clone)]
//! struct Flaky(std::sync::Arc<std::sync::atomic::AtomicU32>);
//!
//! impl Service<u32> for Flaky {
//!     type Response = u32;
//!     type Error = std::io::Error;
//!     type Future = std::future::Ready<Result<u32, std::io::Error>>;
//!     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
//!         std::task::Poll::Ready(Ok(()))
//!     }
//!     fn call(&mut self, sku: u32) -> Self::Future {
//!         let failed = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         std::future::ready(if failed < 2 { Err(std::io::ErrorKind::ConnectionReset.into()) } else { Ok(sku) })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() -> Result<(), retry_runtime::tower::BoxError> {
//! let layer = RetryLayer::new(RetryPolicy::new().max_attempts(4).base(Duration::from_millis(10)))
//!     .named("inventory")
//!     .stats(&INVENTORY)
//!     .budget(&BUDGET)
//!     .timeout(Duration::from_secs(1));
//! let mut service = layer.layer(Flaky(Default::default()));
//! std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
//! assert_eq!(service.call(17).await?, 17);
//! assert_eq!(INVENTORY.snapshot().attempts, 3);
//! # Ok(())
//! # }
//! ```
//!
//! # Which results are retried
//!
//! The classifier ([`ClassifyResult`]) sees the service's whole
//! `Result<Response, Error>`: a 503 is an `Ok` to an HTTP client, and a gRPC
//! `Unavailable` answered without a body an `Ok` to a tonic channel. It
//! says whether to retry (a [`Verdict`](crate::Verdict)) and whether the
//! result is a failure in the statistics: an `Err` always is; an `Ok` is
//! when it is retried, or when the classifier says so (a 404, a
//! `NotFound`). When the retries run out on a response, the caller gets that
//! last response.
//! [`RetryErrors`] (the default) retries every `Err`; [`TransientHttp`]
//! (feature `http`) also retries transient statuses after their
//! `Retry-After`; [`TransientGrpc`] (feature `tonic`) retries the
//! transient gRPC codes after the server's pushback. Any
//! `Fn(&Result<Response, Error>) -> bool` or `-> Verdict` works too.
//!
//! # Requests
//!
//! Each attempt sends its own copy of the request, made by the layer's
//! [`ReplayRequest`] strategy: [`CloneRequest`] (the default) clones it, for
//! any `Request: Clone` (an `http::Request` whose body is `Clone`, such as
//! `Full<Bytes>`). A request that cannot be copied (a streaming body) is
//! sent once and not retried, like tower's `Policy::clone_request` returning
//! `None`; its failure is still counted. For tonic channels,
//! [`BufferGrpcBody`] (feature `tonic`) keeps the encoded message of a unary
//! or finite call and sends it again; a streaming call is sent once. (A
//! channel wrapped without it does not compile: "the trait bound
//! `tonic::body::Body: Clone` is not satisfied".)
//!
//! # Readiness, errors and futures
//!
//! `poll_ready` is the inner service's; each attempt waits for a clone of
//! the inner service to be ready (the standard tower pattern), the first
//! attempt using the service that `poll_ready` readied. The service's error
//! becomes a [`BoxError`], as with tower's own middleware; so do the
//! [`TimedOut`] of the last attempt and the [`CircuitOpen`] of a refused
//! call (downcast to tell them apart). The response future,
//! [`ResponseFuture`], runs the first attempt itself when the layer has no
//! deadline, breaker or timeout, so a first-try success allocates nothing;
//! the retries (and, with one of those, the whole call) run in the engine's
//! loop, a boxed `Send` future: the inner service, its future, the request
//! and the response must be `Send`.
//!
//! # Compared with `tower::retry`
//!
//! `tower::retry` asks for a hand-written `Policy` (when to retry, how to
//! clone the request, how long to wait) and its `TpsBudget` takes a lock and
//! reads the clock on every call. This layer is a [`RetryPolicy`] and
//! typed classifiers (`Retry-After`, gRPC pushback), with statistics, a
//! lock-free budget shared with `#[retry]` functions, and a circuit breaker.

mod classify;
mod future;
mod replay;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tower_layer::Layer;
use tower_service::Service;

use crate::breaker::CircuitBreaker;
use crate::budget::RetryBudget;
use crate::closure::{Notify, Silent};
use crate::engine::{Call, CallSite};
use crate::middleware::{self, Tried};
use crate::policy::RetryPolicy;
use crate::policy_source::ToPolicy;
use crate::sleep::Tokio;
use crate::stats::Stats;

pub use classify::RetryErrors;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub use classify::TransientGrpc;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use classify::TransientHttp;
pub use future::ResponseFuture;
pub use middleware::{AttemptOutcome, ClassifyResult};
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub use replay::BufferGrpcBody;
pub use replay::{CloneRequest, ReplayRequest};

#[cfg(doc)]
use crate::{breaker::CircuitOpen, timeout::TimedOut};

/// The error of a [`RetryService`]: the inner service's, or the layer's own
/// ([`TimedOut`], [`CircuitOpen`]), boxed like tower's.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Retries the calls of the service it wraps under a [`RetryPolicy`]; see
/// the [module docs](self).
///
/// Built with chained setters; each [`layer`](Layer::layer) call makes a
/// [`RetryService`] sharing what the layer was given.
#[derive(Clone, Debug)]
#[must_use = "a layer does nothing until it wraps a service"]
pub struct RetryLayer<C = RetryErrors, N = Silent, P = CloneRequest> {
    name: &'static str,
    policy: RetryPolicy,
    stats: Option<&'static Stats>,
    budget: Option<&'static RetryBudget>,
    breaker: Option<&'static CircuitBreaker>,
    timeout: Option<Duration>,
    classify: C,
    notify: N,
    replay: P,
}

impl RetryLayer {
    /// A layer retrying under `policy` (its `deadline` included; a
    /// `RetryPolicy` or a reference, `Box`, `Rc`, `Arc` of one), every `Err`
    /// retried, named `"tower"`, recording no statistics.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use retry_runtime::{tower::RetryLayer, RetryPolicy};
    ///
    /// let configured = Arc::new(RetryPolicy::new().max_attempts(5));
    /// let layer = RetryLayer::new(&configured);
    /// # let _ = layer;
    /// ```
    pub fn new(policy: impl ToPolicy) -> Self {
        RetryLayer {
            name: "tower",
            policy: policy.to_policy(),
            stats: None,
            budget: None,
            breaker: None,
            timeout: None,
            classify: RetryErrors,
            notify: Silent,
            replay: CloneRequest,
        }
    }
}

impl<C, N, P> RetryLayer<C, N, P> {
    /// Names the calls in statistics, logs, metrics and [`RetryEvent::function`](crate::RetryEvent::function).
    ///
    /// ```
    /// # use retry_runtime::{tower::RetryLayer, RetryPolicy};
    /// let layer = RetryLayer::new(RetryPolicy::new()).named("billing");
    /// # let _ = layer;
    /// ```
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// Counts the calls into `stats`, listed under the layer's name (see
    /// [`named`](Self::named)) unless the `Stats` was named already.
    ///
    /// See the [module docs](self) for an example.
    pub fn stats(mut self, stats: &'static Stats) -> Self {
        self.stats = Some(stats);
        self
    }

    /// Pays for each retry from `budget`, which `#[retry(budget = …)]`
    /// functions and other layers may share.
    ///
    /// See the [module docs](self) for an example.
    pub fn budget(mut self, budget: &'static RetryBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Asks `breaker` before the first attempt and before each retry, and
    /// tells it each outcome (only failures the classifier calls transient
    /// count). A refused call fails at once with [`CircuitOpen`].
    ///
    /// ```
    /// # use retry_runtime::{tower::RetryLayer, CircuitBreaker, RetryPolicy};
    /// static BREAKER: CircuitBreaker = CircuitBreaker::new();
    /// let layer = RetryLayer::new(RetryPolicy::new()).breaker(&BREAKER);
    /// # let _ = layer;
    /// ```
    pub fn breaker(mut self, breaker: &'static CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// Drops each attempt after `timeout` (or sooner, when the policy's
    /// deadline is nearer); a timed-out attempt is retried.
    ///
    /// See the [module docs](self) for an example.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries the results `classify` calls transient: a [`ClassifyResult`],
    /// such as any `Fn(&Result<Response, Error>)` returning `bool` or
    /// [`Verdict`](crate::Verdict).
    ///
    /// ```
    /// # use retry_runtime::{tower::RetryLayer, RetryPolicy};
    /// // Retry 503s too, and no error.
    /// let layer = RetryLayer::new(RetryPolicy::new())
    ///     .when(|result: &Result<u16, std::io::Error>| matches!(result, Ok(503)));
    /// # let _ = layer;
    /// ```
    pub fn when<C2>(self, classify: C2) -> RetryLayer<C2, N, P> {
        RetryLayer {
            name: self.name,
            policy: self.policy,
            stats: self.stats,
            budget: self.budget,
            breaker: self.breaker,
            timeout: self.timeout,
            classify,
            notify: self.notify,
            replay: self.replay,
        }
    }

    /// Calls `hook` before each sleep, with the failed [`AttemptOutcome`].
    ///
    /// ```
    /// # use retry_runtime::{tower::{AttemptOutcome, RetryLayer}, RetryEvent, RetryPolicy};
    /// let layer = RetryLayer::new(RetryPolicy::new())
    ///     .on_retry(|event: &RetryEvent<'_, AttemptOutcome<u16, std::io::Error>>| eprintln!("retrying: {}", event.error()));
    /// # let _ = layer;
    /// ```
    pub fn on_retry<N2>(self, hook: N2) -> RetryLayer<C, N2, P> {
        RetryLayer {
            name: self.name,
            policy: self.policy,
            stats: self.stats,
            budget: self.budget,
            breaker: self.breaker,
            timeout: self.timeout,
            classify: self.classify,
            notify: hook,
            replay: self.replay,
        }
    }

    /// Copies each request with `replay` instead of cloning it.
    ///
    /// See [`BufferGrpcBody`] for an example.
    pub fn replay<P2>(self, replay: P2) -> RetryLayer<C, N, P2> {
        RetryLayer {
            name: self.name,
            policy: self.policy,
            stats: self.stats,
            budget: self.budget,
            breaker: self.breaker,
            timeout: self.timeout,
            classify: self.classify,
            notify: self.notify,
            replay,
        }
    }

    /// The call site every service of this layer retries at: the same
    /// engine data `#[retry]` declares in a `static`.
    fn site(&self) -> CallSite {
        let mut site = CallSite::new(self.name, self.policy);
        if let Some(stats) = self.stats {
            site = site.with_stats(stats, None);
        }
        if let Some(budget) = self.budget {
            site = site.with_budget(budget);
        }
        if let Some(breaker) = self.breaker {
            site = site.with_breaker(breaker, self.name);
        }
        if let Some(timeout) = self.timeout {
            site = site.with_timeout(timeout);
        }
        site
    }
}

impl<S, C: Clone, N: Clone, P: Clone> Layer<S> for RetryLayer<C, N, P> {
    type Service = RetryService<S, C, N, P>;

    fn layer(&self, inner: S) -> Self::Service {
        let shared = Shared {
            site: self.site(),
            timeout: self.timeout.is_some(),
            first_unboxed: self.timeout.is_none() && self.breaker.is_none() && self.policy.deadline.is_none(),
            classify: self.classify.clone(),
            notify: self.notify.clone(),
            replay: self.replay.clone(),
        };
        RetryService { inner, shared: Arc::new(shared) }
    }
}

/// A service whose calls are retried: made by [`RetryLayer`].
///
/// ```
/// use retry_runtime::tower::{RetryLayer, RetryService};
/// use retry_runtime::RetryPolicy;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let measure = tower::service_fn(|name: &'static str| async move { Ok::<_, std::io::Error>(name.len()) });
/// let service: RetryService<_> = RetryLayer::new(RetryPolicy::new()).layer(measure);
/// assert_eq!(service.oneshot("inventory").await.unwrap(), 9);
/// # }
/// ```
#[derive(Debug)]
pub struct RetryService<S, C = RetryErrors, N = Silent, P = CloneRequest> {
    inner: S,
    shared: Arc<Shared<C, N, P>>,
}

impl<S: Clone, C, N, P> Clone for RetryService<S, C, N, P> {
    fn clone(&self) -> Self {
        RetryService { inner: self.inner.clone(), shared: Arc::clone(&self.shared) }
    }
}

/// What every call of one service reads: its call site and strategies.
#[derive(Debug)]
struct Shared<C, N, P> {
    site: CallSite,
    /// Whether attempts are bounded (the site's timeout): without one, an
    /// attempt is not wrapped in a timer at all.
    timeout: bool,
    /// Whether the first attempt may run before the engine's `Call` is
    /// made (see [`ResponseFuture`]): no deadline, breaker or timeout.
    first_unboxed: bool,
    classify: C,
    notify: N,
    replay: P,
}

impl<S, Req, C, N, P> Service<Req> for RetryService<S, C, N, P>
where
    S: Service<Req> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send + 'static,
    S::Error: Into<BoxError> + fmt::Display + Send + 'static,
    Req: Send + 'static,
    C: ClassifyResult<S::Response, S::Error> + Send + Sync + 'static,
    N: Notify<AttemptOutcome<S::Response, S::Error>> + Send + Sync + 'static,
    P: ReplayRequest<Req> + Send + Sync + 'static,
    P::Replay: Send,
    P::Prepare: Send,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S, Req, C, N, P>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        // The readied service goes with this call; a clone takes its place
        // and waits for its own `poll_ready`.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        if shared.first_unboxed {
            ResponseFuture::first(shared, inner, request)
        } else {
            ResponseFuture::boxed(Box::pin(async move { shared.call(inner, request).await }))
        }
    }
}

impl<C, N, P> Shared<C, N, P> {
    /// One call: the engine's [`Call`], driven as the closure API drives it.
    async fn call<S, Req>(&self, mut inner: S, request: Req) -> Result<S::Response, BoxError>
    where
        S: Service<Req>,
        S::Error: Into<BoxError> + fmt::Display,
        C: ClassifyResult<S::Response, S::Error>,
        N: Notify<AttemptOutcome<S::Response, S::Error>>,
        P: ReplayRequest<Req>,
    {
        let site = &self.site;
        let mut call = Call::asynchronous(site, site.policy(), &Tokio);
        if let Err(open) = call.admit(site, std::convert::identity) {
            return Err(open.into());
        }
        let replay = match self.replay.prepare(request).await {
            Ok(replay) => replay,
            Err(request) => {
                // Sent once: a failure is final, but still counted.
                let attempt = self.attempt(&mut call, &mut inner, request).await;
                let tried = Tried::new(attempt, &self.classify, false);
                return into_result(middleware::step_last(&mut call, site, tried, &self.notify));
            }
        };
        let attempt = self.attempt(&mut call, &mut inner, self.replay.request(&replay)).await;
        let first = Tried::new(attempt, &self.classify, true);
        self.retry_from(&mut call, inner, replay, first).await
    }

    /// A call whose first attempt, run by [`ResponseFuture`] before the
    /// engine's `Call` was made, answered `first` and may be retried.
    async fn retry_after_first<S, Req>(
        &self,
        inner: S,
        replay: P::Replay,
        first: Tried<S::Response, S::Error>,
    ) -> Result<S::Response, BoxError>
    where
        S: Service<Req>,
        S::Error: Into<BoxError> + fmt::Display,
        C: ClassifyResult<S::Response, S::Error>,
        N: Notify<AttemptOutcome<S::Response, S::Error>>,
        P: ReplayRequest<Req>,
    {
        let site = &self.site;
        // No deadline, breaker or timeout: made now, it is the `Call` that
        // would have been made before the first attempt.
        let mut call = Call::asynchronous(site, site.policy(), &Tokio);
        self.retry_from(&mut call, inner, replay, first).await
    }

    /// The engine's loop, from an attempt that answered `tried`.
    async fn retry_from<S, Req>(
        &self,
        call: &mut Call<'_>,
        mut inner: S,
        replay: P::Replay,
        mut tried: Tried<S::Response, S::Error>,
    ) -> Result<S::Response, BoxError>
    where
        S: Service<Req>,
        S::Error: Into<BoxError> + fmt::Display,
        C: ClassifyResult<S::Response, S::Error>,
        N: Notify<AttemptOutcome<S::Response, S::Error>>,
        P: ReplayRequest<Req>,
    {
        let site = &self.site;
        loop {
            // Bound apart from the sleep, like the closure API's loop: the
            // failed attempt is dropped before it.
            let delay = match middleware::step(call, site, tried, &self.notify) {
                Ok(attempt) => return into_result(attempt),
                Err(delay) => delay,
            };
            if !delay.is_zero() {
                call.sleep_on(&Tokio, delay).await;
            }
            let attempt = self.attempt(call, &mut inner, self.replay.request(&replay)).await;
            tried = Tried::new(attempt, &self.classify, true);
        }
    }

    /// One attempt: waits for the service to be ready, then calls it, within
    /// the site's timeout if it has one.
    async fn attempt<S, Req>(
        &self,
        call: &mut Call<'_>,
        inner: &mut S,
        request: Req,
    ) -> AttemptOutcome<S::Response, S::Error>
    where
        S: Service<Req>,
    {
        let attempt = async {
            match std::future::poll_fn(|cx| inner.poll_ready(cx)).await {
                Ok(()) => AttemptOutcome::Returned(inner.call(request).await),
                Err(error) => AttemptOutcome::Returned(Err(error)),
            }
        };
        if self.timeout { call.within_timeout(&Tokio, attempt, AttemptOutcome::TimedOut).await } else { attempt.await }
    }
}

/// What the caller of a [`RetryService`] gets for the attempt the call ended on.
fn into_result<Res, E: Into<BoxError>>(attempt: AttemptOutcome<Res, E>) -> Result<Res, BoxError> {
    match attempt {
        AttemptOutcome::Returned(result) => result.map_err(Into::into),
        AttemptOutcome::TimedOut(timed_out) => Err(timed_out.into()),
    }
}
