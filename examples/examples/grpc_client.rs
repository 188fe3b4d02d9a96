//! A tonic gRPC client whose every call is retried by `RetryLayer`, against
//! a real gRPC server on 127.0.0.1.
//!
//! The server, started in this process on an ephemeral port, is tonic's
//! health service behind a layer that answers the first two calls with
//! `Unavailable` and a `grpc-retry-pushback-ms: 200` trailer, as a server
//! warming up would. The client is a tonic `Channel` wrapped in
//! `RetryLayer`: the refusals are retried after the server's pushback (not
//! the policy's own delay), a `NotFound` is returned at once, and the
//! layer's statistics count it all.
//!
//! Run it with `cargo run -p examples --example grpc_client`.

use std::convert::Infallible;
use std::error::Error;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use retry_runtime::classify::grpc::PUSHBACK_TRAILER;
use retry_runtime::stats::FunctionStats;
use retry_runtime::tower::{AttemptOutcome, BufferGrpcBody, RetryLayer, TransientGrpc};
use retry_runtime::{RetryEvent, RetryPolicy, Stats};
use tonic::metadata::MetadataMap;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tower::{Service, ServiceBuilder};

/// Every call the client makes to the health service.
static HEALTH: Stats = Stats::new();

type GrpcRequest = http::Request<tonic::body::Body>;
type GrpcResponse = http::Response<tonic::body::Body>;

/// What the example saw: for the tests in `examples/tests/grpc_client.rs`.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The health service's answer for the server as a whole.
    pub(crate) status: ServingStatus,
    /// The delays the layer waited before each retry.
    pub(crate) delays: Vec<Duration>,
    /// How long the first call took, retries included.
    pub(crate) elapsed: Duration,
    /// The code of the call for a service the server does not know.
    pub(crate) unknown: tonic::Code,
    /// The calls the server received.
    pub(crate) server_calls: u32,
    /// The layer's statistics.
    pub(crate) stats: FunctionStats,
}

/// The server side: refuses the first `refusals` calls with pushback.
#[derive(Clone)]
struct WarmingUp<S> {
    inner: S,
    refusals: Arc<AtomicU32>,
    calls: Arc<AtomicU32>,
}

impl<S> Service<GrpcRequest> for WarmingUp<S>
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
            trailers.insert(PUSHBACK_TRAILER, tonic::metadata::MetadataValue::from_static("200"));
            let status = tonic::Status::with_metadata(tonic::Code::Unavailable, "warming up", trailers);
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        Box::pin(self.inner.call(request))
    }
}

/// Starts the server; its address, its call counter, and its task.
async fn start_server() -> Result<(SocketAddr, Arc<AtomicU32>, tokio::task::JoinHandle<()>), Box<dyn Error>> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status("", tonic_health::ServingStatus::Serving).await;
    let calls = Arc::new(AtomicU32::new(0));
    let service = WarmingUp { inner: health, refusals: Arc::new(AtomicU32::new(2)), calls: calls.clone() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let task = tokio::spawn(async move {
        let _reporter = reporter; // the statuses live as long as the server
        if let Err(error) = tonic::transport::Server::builder().serve_with_incoming(service, incoming).await {
            eprintln!("server: {error}");
        }
    });
    Ok((address, calls, task))
}

/// Runs the scenario: two refused calls retried after the pushback, then
/// an unknown service, not retried.
pub(crate) async fn run() -> Result<Outcome, Box<dyn Error>> {
    let (address, server_calls, server) = start_server().await?;

    // The policy's own delay (1 s and up) is what the client would wait
    // without the server's pushback.
    let policy =
        RetryPolicy::new().max_attempts(4).base(Duration::from_secs(1)).cap(Duration::from_secs(10)).validate()?;
    let delays = Arc::new(Mutex::new(Vec::new()));
    let seen = delays.clone();
    let layer = RetryLayer::new(policy)
        .named("health.check")
        .stats(&HEALTH)
        .timeout(Duration::from_secs(5))
        .when(TransientGrpc::default())
        .replay(BufferGrpcBody::default())
        .on_retry(move |event: &RetryEvent<'_, AttemptOutcome<GrpcResponse, tonic::transport::Error>>| {
            println!(
                "attempt {} of {}: {}; retrying in {:?}",
                event.attempt(),
                event.max_attempts(),
                describe(event.error()),
                event.delay()
            );
            seen.lock().unwrap_or_else(PoisonError::into_inner).push(event.delay());
        });
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))?.connect().await?;
    let mut client = HealthClient::new(ServiceBuilder::new().layer(layer).service(channel));

    let started = Instant::now();
    let answer = client.check(HealthCheckRequest { service: String::new() }).await?.into_inner();
    let elapsed = started.elapsed();
    let health = ServingStatus::try_from(answer.status)?;
    println!("server health: {health:?} after {elapsed:.2?}");

    let unknown = match client.check(HealthCheckRequest { service: "no.such.Service".into() }).await {
        Ok(answer) => return Err(format!("an unknown service answered {answer:?}").into()),
        Err(status) => status.code(),
    };
    println!("unknown service: {unknown:?}, returned at once");

    server.abort();
    let delays = delays.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let server_calls = server_calls.load(Relaxed);
    Ok(Outcome { status: health, delays, elapsed, unknown, server_calls, stats: HEALTH.snapshot() })
}

/// A failed attempt in words: the gRPC status of a refusal, or the error.
fn describe(attempt: &AttemptOutcome<GrpcResponse, tonic::transport::Error>) -> String {
    match attempt {
        AttemptOutcome::Returned(Ok(response)) => tonic::Status::from_header_map(response.headers()).map_or_else(
            || "a retried response".to_owned(),
            |status| format!("{:?}: {}", status.code(), status.message()),
        ),
        other => other.to_string(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let outcome = run().await?;
    println!("\nsummary:");
    println!(
        "  health {:?} after {} retries ({:?}) in {:.2?}",
        outcome.status,
        outcome.delays.len(),
        outcome.delays,
        outcome.elapsed
    );
    println!("  unknown service: {:?}; the server saw {} calls", outcome.unknown, outcome.server_calls);
    println!("\n{}", outcome.stats);
    Ok(())
}
