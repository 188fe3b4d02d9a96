//! The tower layer and the reqwest middleware against real parts: a tonic
//! health service and a hyper HTTP server on 127.0.0.1 (ephemeral ports,
//! stopped at the end of each test), called through a tonic `Channel`, a
//! hyper-util client and reqwest-middleware; and one retry budget shared by
//! a layer and a `#[retry]` function.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use retry_runtime::classify::grpc::PUSHBACK_TRAILER;
use retry_runtime::reqwest_middleware::RetryMiddleware;
use retry_runtime::tower::{BufferGrpcBody, RetryLayer, TransientGrpc, TransientHttp};
use retry_runtime::{RetryBudget, RetryPolicy, Stats, retry};
use tokio::task::JoinHandle;
use tonic::metadata::MetadataMap;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tower::{Service, ServiceBuilder, ServiceExt};

/// A server task, aborted when dropped: each test stops its own.
struct Running(JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    (listener, address)
}

// ---- gRPC: a tonic health service behind a layer that refuses the first calls ----

type GrpcRequest = http::Request<tonic::body::Body>;
type GrpcResponse = http::Response<tonic::body::Body>;

/// Answers `Unavailable` with a `grpc-retry-pushback-ms` trailer to the
/// first `refusals` calls, then passes them to the service.
#[derive(Clone)]
struct RefuseFirst<S> {
    inner: S,
    refusals: Arc<AtomicU32>,
    calls: Arc<AtomicU32>,
    pushback_ms: u32,
}

impl<S> Service<GrpcRequest> for RefuseFirst<S>
where
    S: Service<GrpcRequest, Response = GrpcResponse, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = GrpcResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<GrpcResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: GrpcRequest) -> Self::Future {
        self.calls.fetch_add(1, Relaxed);
        if self.refusals.fetch_update(Relaxed, Relaxed, |left| left.checked_sub(1)).is_ok() {
            let mut trailers = MetadataMap::new();
            trailers.insert(PUSHBACK_TRAILER, self.pushback_ms.to_string().parse().unwrap());
            let status = tonic::Status::with_metadata(tonic::Code::Unavailable, "warming up", trailers);
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        Box::pin(self.inner.call(request))
    }
}

/// A tonic server with the health service ("" serving) behind
/// [`RefuseFirst`]; its address, its call counter, and the running task.
async fn grpc_server(refusals: u32, pushback_ms: u32) -> (SocketAddr, Arc<AtomicU32>, Running) {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
    let calls = Arc::new(AtomicU32::new(0));
    let service =
        RefuseFirst { inner: health, refusals: Arc::new(AtomicU32::new(refusals)), calls: calls.clone(), pushback_ms };
    let (listener, address) = listener().await;
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let task = tokio::spawn(async move {
        // Keeps the reporter (and so the statuses) alive as long as the server.
        let _reporter = reporter;
        tonic::transport::Server::builder().serve_with_incoming(service, incoming).await.unwrap();
    });
    (address, calls, Running(task))
}

fn grpc_layer(stats: &'static Stats) -> RetryLayer<TransientGrpc, retry_runtime::Silent, BufferGrpcBody> {
    // The policy's own delays are long: a short retry can only be the pushback.
    let policy = RetryPolicy::new().max_attempts(4).base(Duration::from_secs(10)).cap(Duration::from_secs(60));
    RetryLayer::new(policy)
        .named("health")
        .stats(stats)
        .when(TransientGrpc::default())
        .replay(BufferGrpcBody::default())
}

#[tokio::test]
async fn grpc_unavailable_is_retried_after_the_servers_pushback() {
    static STATS: Stats = Stats::new();
    let (address, calls, _server) = grpc_server(2, 150).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
    let mut client = HealthClient::new(ServiceBuilder::new().layer(grpc_layer(&STATS)).service(channel));

    let started = Instant::now();
    let response = client.check(HealthCheckRequest { service: String::new() }).await.unwrap();
    let elapsed = started.elapsed();

    assert_eq!(response.into_inner().status, ServingStatus::Serving as i32);
    assert_eq!(calls.load(Relaxed), 3, "two refusals, then the answer");
    // Two pushbacks of 150 ms, not the policy's 10 s delays.
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    let stats = STATS.snapshot();
    assert_eq!((stats.calls, stats.attempts, stats.retries, stats.retried_successes), (1, 3, 2, 1));
    assert_eq!(stats.slept, Duration::from_millis(300));
}

#[tokio::test]
async fn grpc_not_found_is_not_retried() {
    static STATS: Stats = Stats::new();
    let (address, calls, _server) = grpc_server(0, 0).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}")).unwrap().connect().await.unwrap();
    let mut client = HealthClient::new(ServiceBuilder::new().layer(grpc_layer(&STATS)).service(channel));

    let refusal = client.check(HealthCheckRequest { service: "no.such.Service".into() }).await.unwrap_err();

    assert_eq!(refusal.code(), tonic::Code::NotFound);
    assert_eq!(calls.load(Relaxed), 1);
    let stats = STATS.snapshot();
    assert_eq!((stats.attempts, stats.retries, stats.non_retryable_failures), (1, 0, 1));
}

// ---- HTTP: a hyper server answering 503 with `Retry-After`, then 200 ----

/// A hyper server answering 503 with `Retry-After: {retry_after}` to the
/// first `busy` requests, then 200 with the request's body.
async fn http_server(busy: u32, retry_after: &'static str) -> (SocketAddr, Arc<AtomicU32>, Running) {
    let (listener, address) = listener().await;
    let calls = Arc::new(AtomicU32::new(0));
    let busy = Arc::new(AtomicU32::new(busy));
    let counted = calls.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let (calls, busy) = (counted.clone(), busy.clone());
            let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let (calls, busy) = (calls.clone(), busy.clone());
                async move {
                    calls.fetch_add(1, Relaxed);
                    let body = request.into_body().collect().await?.to_bytes();
                    let response = if busy.fetch_update(Relaxed, Relaxed, |left| left.checked_sub(1)).is_ok() {
                        http::Response::builder()
                            .status(503)
                            .header("retry-after", retry_after)
                            .body(Full::new(Bytes::new()))
                    } else {
                        http::Response::builder().status(200).body(Full::new(body))
                    };
                    Ok::<_, hyper::Error>(response.unwrap())
                }
            });
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
    (address, calls, Running(task))
}

fn hyper_client() -> hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>
{
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

fn post(address: SocketAddr, body: &'static str) -> http::Request<Full<Bytes>> {
    http::Request::post(format!("http://{address}/orders")).body(Full::new(Bytes::from(body))).unwrap()
}

#[tokio::test]
async fn hyper_client_retries_a_503_after_its_retry_after() {
    static STATS: Stats = Stats::new();
    let (address, calls, _server) = http_server(1, "1").await;
    let policy = RetryPolicy::new().max_attempts(3).base(Duration::from_secs(10)).cap(Duration::from_secs(60));
    let layer = RetryLayer::new(policy).named("orders").stats(&STATS).when(TransientHttp);
    let client = ServiceBuilder::new().layer(layer).service(hyper_client());

    let started = Instant::now();
    let response = client.oneshot(post(address, "order 17")).await.unwrap();
    let elapsed = started.elapsed();

    assert_eq!(response.status(), 200);
    // The request was sent again, body included.
    assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "order 17");
    assert_eq!(calls.load(Relaxed), 2);
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(10), "{elapsed:?}");
    let stats = STATS.snapshot();
    assert_eq!((stats.attempts, stats.retries, stats.slept), (2, 1, Duration::from_secs(1)));
}

#[tokio::test]
async fn hyper_client_gets_the_last_503_when_the_attempts_run_out() {
    static STATS: Stats = Stats::new();
    let (address, calls, _server) = http_server(u32::MAX, "0").await;
    let layer = RetryLayer::new(RetryPolicy::new().max_attempts(3)).stats(&STATS).when(TransientHttp);
    let client = ServiceBuilder::new().layer(layer).service(hyper_client());

    let response = client.oneshot(post(address, "order 18")).await.unwrap();

    assert_eq!(response.status(), 503);
    assert_eq!(calls.load(Relaxed), 3);
    let stats = STATS.snapshot();
    assert_eq!((stats.calls, stats.attempts, stats.failures), (1, 3, 1));
}

#[tokio::test]
async fn reqwest_middleware_retries_a_503_after_its_retry_after() {
    static STATS: Stats = Stats::new();
    let (address, calls, _server) = http_server(1, "1").await;
    let policy = RetryPolicy::new().max_attempts(3).base(Duration::from_secs(10)).cap(Duration::from_secs(60));
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(policy).stats(&STATS).named("orders-reqwest"))
        .build();

    let started = Instant::now();
    let response = client.post(format!("http://{address}/orders")).body("order 19").send().await.unwrap();
    let elapsed = started.elapsed();

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "order 19");
    assert_eq!(calls.load(Relaxed), 2);
    assert!(elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(10), "{elapsed:?}");
    let stats = STATS.snapshot();
    assert_eq!(STATS.name(), "orders-reqwest");
    assert_eq!((stats.attempts, stats.retries, stats.retried_successes), (2, 1, 1));
}

#[tokio::test]
async fn reqwest_middleware_sends_a_streaming_body_once() {
    static STATS: Stats = Stats::new();
    let (address, calls, _server) = http_server(u32::MAX, "0").await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(RetryMiddleware::new(RetryPolicy::new().max_attempts(3)).stats(&STATS))
        .build();
    // A body reqwest only knows as a stream: it cannot copy it.
    let body = reqwest::Body::wrap(Full::new(Bytes::from("order 20")));

    let response = client.post(format!("http://{address}/orders")).body(body).send().await.unwrap();

    assert_eq!(response.status(), 503);
    assert_eq!(calls.load(Relaxed), 1, "a stream cannot be sent again");
    let stats = STATS.snapshot();
    assert_eq!((stats.attempts, stats.non_retryable_failures), (1, 1));
}

// ---- one budget for a layer and a `#[retry]` function ----

/// Ten tokens, none earned back: retries stop when five are spent (a
/// retry must leave half the capacity), whoever spends them.
static SHARED: RetryBudget = RetryBudget::new().capacity(10).ratio(0.0).min_retries_per_second(0);

#[retry(max = 10, base = "0ms", budget = SHARED, stats = false)]
async fn attribute_call(attempts: &AtomicU32) -> Result<(), std::io::Error> {
    attempts.fetch_add(1, Relaxed);
    Err(std::io::ErrorKind::ConnectionReset.into())
}

#[tokio::test]
async fn a_budget_bounds_the_retries_of_a_layer_and_an_attribute_together() {
    let layer_attempts = Arc::new(AtomicU32::new(0));
    let counted = layer_attempts.clone();
    let down = tower::service_fn(move |(): ()| {
        counted.fetch_add(1, Relaxed);
        std::future::ready(Err::<(), _>(std::io::Error::from(std::io::ErrorKind::ConnectionReset)))
    });
    let layer = RetryLayer::new(RetryPolicy::new().max_attempts(10).base(Duration::ZERO)).budget(&SHARED);
    let service = ServiceBuilder::new().layer(layer).service(down);
    let attribute_attempts = AtomicU32::new(0);

    assert!(service.clone().oneshot(()).await.is_err());
    assert!(attribute_call(&attribute_attempts).await.is_err());
    assert!(service.oneshot(()).await.is_err());

    // The layer's first call spent the five retries; the others made one attempt each.
    assert_eq!(layer_attempts.load(Relaxed), 6 + 1);
    assert_eq!(attribute_attempts.load(Relaxed), 1);
    assert_eq!(SHARED.refusals(), 3);
}

// ---- the layer's options on an in-memory service, in paused time ----

/// A service answering `Ok(n)` for call `n` (from 1), after sleeping the
/// delay `slow` gives for it, and refusing to be called unless readied.
struct Counter {
    calls: Arc<AtomicU32>,
    slow: fn(u32) -> Duration,
    fail: fn(u32) -> bool,
    ready: bool,
}

impl Clone for Counter {
    /// A clone is not ready until it is asked.
    fn clone(&self) -> Self {
        Counter { calls: self.calls.clone(), slow: self.slow, fail: self.fail, ready: false }
    }
}

impl Counter {
    fn new(slow: fn(u32) -> Duration, fail: fn(u32) -> bool) -> Self {
        Counter { calls: Arc::default(), slow, fail, ready: false }
    }
}

impl Service<&'static str> for Counter {
    type Response = u32;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<u32, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: &'static str) -> Self::Future {
        let readied = std::mem::replace(&mut self.ready, false);
        let call = self.calls.fetch_add(1, Relaxed) + 1;
        let (slow, fail) = ((self.slow)(call), (self.fail)(call));
        Box::pin(async move {
            assert!(readied, "call {call} was made without poll_ready");
            tokio::time::sleep(slow).await;
            if fail { Err(std::io::ErrorKind::ConnectionReset.into()) } else { Ok(call) }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn each_attempt_waits_for_readiness_and_a_timed_out_attempt_is_retried() {
    static STATS: Stats = Stats::new();
    let first_hangs = Counter::new(|call| if call == 1 { Duration::from_secs(60) } else { Duration::ZERO }, |_| false);
    let calls = first_hangs.calls.clone();
    let layer = RetryLayer::new(RetryPolicy::new().max_attempts(3).base(Duration::from_millis(100)))
        .stats(&STATS)
        .timeout(Duration::from_secs(1));
    let service = ServiceBuilder::new().layer(layer).service(first_hangs);

    let started = tokio::time::Instant::now();
    assert_eq!(service.oneshot("get").await.unwrap(), 2);

    assert_eq!(calls.load(Relaxed), 2);
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let stats = STATS.snapshot();
    assert_eq!((stats.attempts, stats.timeouts, stats.retried_successes), (2, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn the_last_timed_out_attempt_is_a_timed_out_error() {
    let hangs = Counter::new(|_| Duration::from_secs(60), |_| false);
    let layer = RetryLayer::new(RetryPolicy::new().max_attempts(2)).timeout(Duration::from_secs(1));
    let error = ServiceBuilder::new().layer(layer).service(hangs).oneshot("get").await.unwrap_err();
    assert_eq!(
        error.downcast_ref::<retry_runtime::TimedOut>().map(retry_runtime::TimedOut::limit),
        Some(Duration::from_secs(1))
    );
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_refuses_the_call_before_the_service_sees_it() {
    static BREAKER: retry_runtime::CircuitBreaker =
        retry_runtime::CircuitBreaker::new().failure_threshold(2).cool_down(Duration::from_secs(30));
    let down = Counter::new(|_| Duration::ZERO, |_| true);
    let calls = down.calls.clone();
    let layer = RetryLayer::new(RetryPolicy::new().max_attempts(2).base(Duration::from_millis(1))).breaker(&BREAKER);
    let service = ServiceBuilder::new().layer(layer).service(down);

    let reset = service.clone().oneshot("get").await.unwrap_err();
    assert!(reset.downcast_ref::<std::io::Error>().is_some(), "{reset}");
    let refused = service.oneshot("get").await.unwrap_err();

    assert!(refused.downcast_ref::<retry_runtime::CircuitOpen>().is_some(), "{refused}");
    assert_eq!(calls.load(Relaxed), 2, "the refused call made no attempt");
}

#[tokio::test(start_paused = true)]
async fn on_retry_sees_each_failed_attempt() {
    use retry_runtime::RetryEvent;
    use retry_runtime::tower::AttemptOutcome;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let twice = Counter::new(|_| Duration::ZERO, |call| call <= 2);
    let layer = RetryLayer::new(RetryPolicy::new().max_attempts(3).base(Duration::from_millis(10)))
        .named("counter")
        .on_retry(move |event: &RetryEvent<'_, AttemptOutcome<u32, std::io::Error>>| {
            log.lock().unwrap().push(format!("{} {} {}", event.function(), event.attempt(), event.error()));
        });

    assert_eq!(ServiceBuilder::new().layer(layer).service(twice).oneshot("get").await.unwrap(), 3);
    let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset).to_string();
    assert_eq!(*seen.lock().unwrap(), [format!("counter 1 {reset}"), format!("counter 2 {reset}")]);
}

/// Requests that are never copied: a custom [`ReplayRequest`] that gives
/// every request back.
#[derive(Clone)]
struct NeverCopied;

impl retry_runtime::tower::ReplayRequest<&'static str> for NeverCopied {
    type Replay = ();
    type Prepare = std::future::Ready<Result<(), &'static str>>;
    fn prepare(&self, request: &'static str) -> Self::Prepare {
        std::future::ready(Err(request))
    }
    fn request(&self, (): &()) -> &'static str {
        unreachable!("prepare keeps nothing")
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_that_cannot_be_copied_is_sent_once() {
    static STATS: Stats = Stats::new();
    let down = Counter::new(|_| Duration::ZERO, |_| true);
    let calls = down.calls.clone();
    let layer = RetryLayer::new(RetryPolicy::new().max_attempts(5)).stats(&STATS).replay(NeverCopied);

    assert!(ServiceBuilder::new().layer(layer).service(down).oneshot("post").await.is_err());

    assert_eq!(calls.load(Relaxed), 1);
    let stats = STATS.snapshot();
    assert_eq!((stats.attempts, stats.retries, stats.non_retryable_failures), (1, 0, 1));
}

/// The first attempt runs before the engine's `Call` is made (no deadline,
/// breaker or timeout): a call dropped during it must still be recorded.
#[tokio::test(start_paused = true)]
async fn a_call_dropped_during_its_first_attempt_is_recorded_as_cancelled() {
    static STATS: Stats = Stats::new();
    let hangs = Counter::new(|_| Duration::from_secs(60), |_| false);
    let layer = RetryLayer::new(RetryPolicy::new()).stats(&STATS);
    let service = ServiceBuilder::new().layer(layer).service(hangs);

    assert!(tokio::time::timeout(Duration::from_secs(1), service.oneshot("get")).await.is_err());

    let stats = STATS.snapshot();
    assert_eq!((stats.calls, stats.attempts, stats.cancelled), (1, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn the_policys_deadline_bounds_the_layers_retries() {
    let down = Counter::new(|_| Duration::ZERO, |_| true);
    let calls = down.calls.clone();
    let policy = RetryPolicy::new()
        .max_attempts(10)
        .base(Duration::from_secs(1))
        .jitter(retry_runtime::Jitter::None)
        .deadline(Duration::from_secs(5));
    let service = ServiceBuilder::new().layer(RetryLayer::new(policy)).service(down);

    let started = tokio::time::Instant::now();
    assert!(service.oneshot("get").await.is_err());

    // Sleeps of 1 s and 2 s fit in 5 s; a third of 4 s would not.
    assert_eq!(calls.load(Relaxed), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}
