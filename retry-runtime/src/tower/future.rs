//! The response future of a [`RetryService`](super::RetryService).
//!
//! The engine's `Call` borrows its call site, which the service shares
//! through an `Arc`: a future holding both borrows from itself, so the
//! retry loop is an `async` block, boxed. The first attempt does not need
//! it when the site has no deadline, breaker or timeout: then the `Call`
//! reads nothing before the first attempt (no clock, no breaker), so it can
//! be made when that attempt has answered, with the same result as one made
//! before it. This future runs that first attempt itself, unboxed, and boxes
//! the loop only when the first attempt failed and is retried: a first-try
//! success allocates nothing.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use pin_project::pin_project;
use tower_service::Service;

use super::{BoxError, ReplayRequest, Shared, into_result};
use crate::closure::Notify;
use crate::engine::Call;
use crate::middleware::{self, AttemptOutcome, ClassifyResult, Tried};
use crate::sleep::Tokio;

/// The response future of a [`RetryService`](super::RetryService).
///
/// ```
/// use retry_runtime::tower::{RetryLayer, ResponseFuture};
/// use retry_runtime::RetryPolicy;
/// use tower::{Layer, Service};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let measure = tower::service_fn(|name: &'static str| async move { Ok::<_, std::io::Error>(name.len()) });
/// let mut service = RetryLayer::new(RetryPolicy::new()).layer(measure);
/// std::future::poll_fn(|cx| service.poll_ready(cx)).await.unwrap();
/// let future: ResponseFuture<_, _, _, _, _> = service.call("orders");
/// assert_eq!(future.await.unwrap(), 6);
/// # }
/// ```
#[pin_project(project = ResponseProj)]
pub struct ResponseFuture<S, Req, C, N, P>
where
    S: Service<Req>,
    P: ReplayRequest<Req>,
{
    #[pin]
    kind: Kind<S, Req, C, N, P>,
}

type Boxed<Res> = Pin<Box<dyn Future<Output = Result<Res, BoxError>> + Send>>;

#[pin_project(project = KindProj)]
enum Kind<S, Req, C, N, P>
where
    S: Service<Req>,
    P: ReplayRequest<Req>,
{
    /// The first attempt, run here (a site with no deadline, breaker or timeout).
    First {
        guard: Unstarted<C, N, P>,
        inner: S,
        /// What the next attempts send; `None` when the request is sent once.
        replay: Option<P::Replay>,
        #[pin]
        step: First<S::Future, P::Prepare>,
    },
    /// The engine's loop, in a boxed `async` block.
    Boxed { future: Boxed<S::Response> },
}

#[pin_project(project = FirstProj)]
enum First<F, Prepare> {
    /// Copying the request (see [`ReplayRequest::prepare`]).
    Preparing {
        #[pin]
        prepare: Prepare,
    },
    /// The first attempt is on its way.
    Attempting {
        #[pin]
        attempt: F,
    },
}

/// A call whose engine `Call` is not made yet: if the future is dropped
/// before the first attempt answered, it makes one and drops it, so the
/// call is recorded as cancelled, as a `Call` made at the start would be.
struct Unstarted<C, N, P> {
    shared: Arc<Shared<C, N, P>>,
    armed: bool,
}

impl<C, N, P> Drop for Unstarted<C, N, P> {
    fn drop(&mut self) {
        if self.armed {
            let site = &self.shared.site;
            drop(Call::asynchronous(site, site.policy(), &Tokio));
        }
    }
}

impl<S, Req, C, N, P> ResponseFuture<S, Req, C, N, P>
where
    S: Service<Req>,
    P: ReplayRequest<Req>,
{
    /// The first attempt of a call of `inner`, readied by the caller, run
    /// by this future.
    pub(super) fn first(shared: Arc<Shared<C, N, P>>, inner: S, request: Req) -> Self {
        let prepare = shared.replay.prepare(request);
        let guard = Unstarted { shared, armed: true };
        ResponseFuture { kind: Kind::First { guard, inner, replay: None, step: First::Preparing { prepare } } }
    }

    /// A call run by the engine's loop from the start.
    pub(super) fn boxed(future: Boxed<S::Response>) -> Self {
        ResponseFuture { kind: Kind::Boxed { future } }
    }
}

impl<S, Req, C, N, P> Future for ResponseFuture<S, Req, C, N, P>
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
{
    type Output = Result<S::Response, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut kind = self.project().kind;
        loop {
            let (guard, inner, replay, mut step) = match kind.as_mut().project() {
                KindProj::Boxed { future } => return future.as_mut().poll(cx),
                KindProj::First { guard, inner, replay, step } => (guard, inner, replay, step),
            };
            let attempt = match step.as_mut().project() {
                FirstProj::Preparing { prepare } => {
                    let request = match ready!(prepare.poll(cx)) {
                        Ok(kept) => guard.shared.replay.request(replay.insert(kept)),
                        Err(request) => request,
                    };
                    // The caller readied `inner` for this call.
                    step.set(First::Attempting { attempt: inner.call(request) });
                    continue;
                }
                FirstProj::Attempting { attempt } => AttemptOutcome::Returned(ready!(attempt.poll(cx))),
            };
            guard.armed = false;
            let shared = &guard.shared;
            let tried = Tried::new(attempt, &shared.classify, replay.is_some());
            let site = &shared.site;
            // A success, or a failure of a request sent once: the engine's
            // `Call`, made now, records it and returns it.
            let (true, Some(retry)) = (tried.failed(), replay.take()) else {
                let mut call = Call::asynchronous(site, site.policy(), &Tokio);
                return Poll::Ready(into_result(middleware::step_last(&mut call, site, tried, &shared.notify)));
            };
            // Failed, and may be retried: the engine's loop takes over from
            // this first attempt, with a clone of the service (it readies
            // the service before each attempt).
            let (inner, shared) = (inner.clone(), Arc::clone(shared));
            let future = Box::pin(async move { shared.retry_after_first(inner, retry, tried).await });
            kind.set(Kind::Boxed { future });
        }
    }
}
