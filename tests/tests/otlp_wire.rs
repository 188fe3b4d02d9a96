//! Features `tracing` and `opentelemetry` over the wire: the metrics and the
//! spans exported by `opentelemetry-otlp` (HTTP/protobuf, what a collector's
//! `otlphttp` receiver takes) to a receiver this test starts on 127.0.0.1,
//! decoded there with `opentelemetry-proto` and checked as they arrived.
//!
//! One test: the retry metrics go to the first meter the process sets, so
//! a second test in this binary could not give them another provider.

use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Metric, NumberDataPoint, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message as _;
use retry_runtime::retry;
use retry_runtime::testing::SleepRecorder;
use tracing_subscriber::layer::SubscriberExt as _;

// ------------------------------------------------------------- the receiver

/// What the receiver was sent, decoded.
#[derive(Debug, Default)]
struct Received {
    metrics: Vec<ExportMetricsServiceRequest>,
    traces: Vec<ExportTraceServiceRequest>,
    /// Requests it answered with an error: another path or method, another
    /// content type, or a body that is not the path's protobuf message.
    refused: Vec<String>,
}

/// An OTLP/HTTP receiver on 127.0.0.1 (an ephemeral port), serving on its
/// own thread and runtime so that the exporters' blocking clients never run
/// on a runtime of theirs.
struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Received>>,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Receiver {
    fn start() -> Self {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_io().build() else {
            panic!("no runtime for the receiver")
        };
        let Ok(listener) = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")) else {
            panic!("cannot listen on 127.0.0.1")
        };
        let Ok(address) = listener.local_addr() else { panic!("no local address") };
        let received = Arc::new(Mutex::new(Received::default()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let store = received.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                loop {
                    let stream = tokio::select! {
                        _ = &mut stopped => return,
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => stream,
                            Err(_) => continue,
                        },
                    };
                    let store = store.clone();
                    let service = hyper::service::service_fn(move |request| receive(request, store.clone()));
                    // Dropped with the runtime when the receiver stops, so a
                    // connection the client keeps alive ends there too.
                    tokio::spawn(async move {
                        let io = hyper_util::rt::TokioIo::new(stream);
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                    });
                }
            });
        });
        Receiver { address, received, stop, thread }
    }

    fn endpoint(&self, signal: &str) -> String {
        format!("http://{}/v1/{signal}", self.address)
    }

    /// Stops the server and its connections, and hands back what arrived.
    fn stop(self) -> Received {
        let _ = self.stop.send(());
        assert!(self.thread.join().is_ok(), "the receiver's thread panicked");
        std::mem::take(&mut *self.received.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Answers one OTLP/HTTP request the way a collector does: 200 with the
/// path's (empty) protobuf response when the body decodes, 400 or 404
/// otherwise.
async fn receive(
    request: http::Request<hyper::body::Incoming>,
    store: Arc<Mutex<Received>>,
) -> Result<http::Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let protobuf = parts.headers.get(http::header::CONTENT_TYPE).is_some_and(|v| v == "application/x-protobuf");
    let mut store = store.lock().unwrap_or_else(PoisonError::into_inner);
    let answer = match (parts.method == http::Method::POST && protobuf, parts.uri.path()) {
        (true, "/v1/metrics") => ExportMetricsServiceRequest::decode(body).map(|request| {
            store.metrics.push(request);
            ExportMetricsServiceResponse::default().encode_to_vec()
        }),
        (true, "/v1/traces") => ExportTraceServiceRequest::decode(body).map(|request| {
            store.traces.push(request);
            ExportTraceServiceResponse::default().encode_to_vec()
        }),
        _ => {
            store.refused.push(format!("{} {} {:?}", parts.method, parts.uri, parts.headers));
            return Ok(respond(http::StatusCode::NOT_FOUND, Vec::new()));
        }
    };
    Ok(match answer {
        Ok(response) => respond(http::StatusCode::OK, response),
        Err(error) => {
            store.refused.push(format!("{}: {error}", parts.uri));
            respond(http::StatusCode::BAD_REQUEST, Vec::new())
        }
    })
}

fn respond(status: http::StatusCode, body: Vec<u8>) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/x-protobuf"));
    response
}

// ------------------------------------------------------------- the exporters

/// The exporters' HTTP client, without TLS, and without a proxy: an
/// `HTTP_PROXY` set on the machine must not intercept 127.0.0.1.
fn http_client() -> reqwest::blocking::Client {
    let client = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build();
    let Ok(client) = client else { panic!("no blocking reqwest client") };
    client
}

fn resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder_empty().with_service_name("otlp_wire").build()
}

fn meter_provider(receiver: &Receiver) -> SdkMeterProvider {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_http_client(http_client())
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(receiver.endpoint("metrics"))
        .build();
    let Ok(exporter) = exporter else { panic!("no OTLP metric exporter") };
    // An interval no test run reaches: only the explicit flush exports.
    let reader = PeriodicReader::builder(exporter).with_interval(Duration::from_secs(3600)).build();
    SdkMeterProvider::builder().with_reader(reader).with_resource(resource()).build()
}

fn tracer_provider(receiver: &Receiver) -> SdkTracerProvider {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(http_client())
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(receiver.endpoint("traces"))
        .build();
    let Ok(exporter) = exporter else { panic!("no OTLP span exporter") };
    SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource()).build()
}

// ------------------------------------------------------------- the retried functions

#[retry(max = 5, base = "100ms", jitter = "none")]
fn twice_then_ok(failures: &Cell<u32>) -> Result<u32, String> {
    let left = failures.get();
    if left == 0 {
        return Ok(42);
    }
    failures.set(left - 1);
    Err("unavailable".to_owned())
}

static WIRE_BREAKER: retry_runtime::CircuitBreaker =
    retry_runtime::CircuitBreaker::new().failure_threshold(1).cool_down(Duration::from_secs(600));

#[derive(Debug)]
enum Refused {
    Down,
    Open,
}

impl From<retry_runtime::CircuitOpen> for Refused {
    fn from(_: retry_runtime::CircuitOpen) -> Self {
        Refused::Open
    }
}

#[retry(max = 1, breaker = WIRE_BREAKER)]
fn behind_a_breaker() -> Result<u32, Refused> {
    Err(Refused::Down)
}

/// Two tokens to spend (ratio 0: calls earn none), and no floor.
static WIRE_BUDGET: retry_runtime::RetryBudget =
    retry_runtime::RetryBudget::new().capacity(2).ratio(0.0).min_retries_per_second(0);

#[retry(max = 4, base = "1ms", budget = WIRE_BUDGET)]
fn on_a_budget() -> Result<u32, String> {
    Err("down".to_owned())
}

// ------------------------------------------------------------- reading what arrived

/// An attribute's value as text, numbers in decimal.
fn value_of(value: Option<&AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(n)) => n.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// An attribute that must arrive as an integer, as a backend sums and
/// compares it (`tracing-opentelemetry` sends a `u64` as text, so the spans
/// record their numbers as `i64`).
fn integer(attributes: &[KeyValue], key: &str) -> Option<i64> {
    attributes.iter().find(|kv| kv.key == key).map(|kv| match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::IntValue(n)) => *n,
        other => panic!("{key} arrived as {other:?}, not as an integer"),
    })
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes.iter().find(|kv| kv.key == key).map(|kv| value_of(kv.value.as_ref()))
}

fn service_name(resource: Option<&Resource>) -> Option<String> {
    attribute(&resource?.attributes, "service.name")
}

/// The metrics of the last export: the SDK's default temporality is
/// cumulative, so it holds everything recorded so far.
fn last_export(received: &Received) -> Vec<&Metric> {
    let Some(last) = received.metrics.last() else { panic!("no metrics arrived: {received:?}") };
    for resource in &last.resource_metrics {
        assert_eq!(service_name(resource.resource.as_ref()).as_deref(), Some("otlp_wire"));
    }
    last.resource_metrics.iter().flat_map(|r| &r.scope_metrics).flat_map(|s| &s.metrics).collect()
}

fn find<'a>(metrics: &[&'a Metric], name: &str) -> &'a Metric {
    let found: Vec<_> = metrics.iter().filter(|m| m.name == name).collect();
    let [metric] = found[..] else { panic!("{name} arrived {} times", found.len()) };
    metric
}

fn int(point: &NumberDataPoint) -> i64 {
    let Some(number_data_point::Value::AsInt(n)) = point.value else { panic!("not an integer: {point:?}") };
    n
}

/// The cumulative counter `name`'s points with `key` = `value`, as their
/// other attributes `by` and their value, sorted.
fn counted(metrics: &[&Metric], name: &str, key: &str, value: &str, by: &[&str]) -> Vec<(Vec<String>, i64)> {
    let metric = find(metrics, name);
    let Some(metric::Data::Sum(sum)) = &metric.data else { panic!("{name} is not a sum: {metric:?}") };
    assert!(sum.is_monotonic, "{name} is a counter");
    assert_eq!(sum.aggregation_temporality, AggregationTemporality::Cumulative as i32, "{name}");
    let mut points: Vec<_> = sum
        .data_points
        .iter()
        .filter(|p| attribute(&p.attributes, key).as_deref() == Some(value))
        .map(|p| (by.iter().map(|b| attribute(&p.attributes, b).unwrap_or_default()).collect(), int(p)))
        .collect();
    points.sort();
    points
}

fn spans(received: &Received) -> Vec<&Span> {
    assert!(!received.traces.is_empty(), "no spans arrived: {received:?}");
    for resource in received.traces.iter().flat_map(|t| &t.resource_spans) {
        assert_eq!(service_name(resource.resource.as_ref()).as_deref(), Some("otlp_wire"));
    }
    received.traces.iter().flat_map(|t| &t.resource_spans).flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans).collect()
}

fn status(span: &Span) -> StatusCode {
    span.status.as_ref().and_then(|s| StatusCode::try_from(s.code).ok()).unwrap_or(StatusCode::Unset)
}

// ------------------------------------------------------------- the test

#[test]
fn metrics_and_spans_arrive_over_otlp_http_protobuf_as_a_collector_sees_them() {
    let receiver = Receiver::start();
    let meters = meter_provider(&receiver);
    assert!(retry_runtime::metrics::use_meter(&meters.meter("otlp_wire")), "the first meter is used");
    let tracers = tracer_provider(&receiver);
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracers.tracer("otlp_wire")));

    let sleeps = SleepRecorder::install();
    tracing::subscriber::with_default(subscriber, || {
        let result = tracing::info_span!("handle_request").in_scope(|| twice_then_ok(&Cell::new(2)));
        assert_eq!(result, Ok(42));
        assert!(matches!(behind_a_breaker(), Err(Refused::Down)), "the first failure opens the breaker");
        assert!(matches!(behind_a_breaker(), Err(Refused::Open)));
        assert!(on_a_budget().is_err());
    });
    let delays = sleeps.delays();
    assert!(delays.starts_with(&[Duration::from_millis(100), Duration::from_millis(200)]), "{delays:?}");

    // Each flush returns once the receiver answered: an exporter takes
    // anything but a 2xx for a failure.
    assert!(tracers.force_flush().is_ok(), "the spans were not accepted");
    assert!(meters.force_flush().is_ok(), "the metrics were not accepted");
    assert!(tracers.shutdown().is_ok());
    assert!(meters.shutdown().is_ok());
    let arrived = receiver.stop();
    assert!(arrived.refused.is_empty(), "{:?}", arrived.refused);

    check_metrics(&arrived);
    check_spans(&arrived);
}

fn check_metrics(received: &Received) {
    let metrics = last_export(received);
    let function = "otlp_wire::twice_then_ok";

    let attempts = find(&metrics, "retry.attempts");
    assert_eq!(attempts.unit, "{attempt}");
    assert!(!attempts.description.is_empty());
    assert_eq!(counted(&metrics, "retry.attempts", "retry.function", function, &[]), [(vec![], 3)]);
    assert_eq!(counted(&metrics, "retry.successes", "retry.function", function, &[]), [(vec![], 1)]);
    assert_eq!(counted(&metrics, "retry.failures", "retry.function", function, &[]), []);

    let backoff = find(&metrics, "retry.backoff_duration");
    assert_eq!(backoff.unit, "s");
    let Some(metric::Data::Histogram(histogram)) = &backoff.data else { panic!("not a histogram: {backoff:?}") };
    let points: Vec<_> = histogram
        .data_points
        .iter()
        .filter(|p| attribute(&p.attributes, "retry.function").as_deref() == Some(function))
        .collect();
    let [point] = points[..] else { panic!("one backoff point for {function}: {histogram:?}") };
    assert_eq!(point.count, 2);
    assert!(point.sum.is_some_and(|sum| (sum - 0.3).abs() < 1e-9), "0.1 s + 0.2 s, got {:?}", point.sum);
    assert_eq!((point.min, point.max), (Some(0.1), Some(0.2)));
    // The library's bucket bounds travel with the point: 0.1 s falls in
    // (0.05, 0.1], 0.2 s in (0.1, 0.25].
    let bucket = |upper: f64| {
        let Some(at) = point.explicit_bounds.iter().position(|&bound| (bound - upper).abs() < 1e-12) else {
            panic!("no bound {upper}: {:?}", point.explicit_bounds)
        };
        point.bucket_counts[at]
    };
    assert_eq!((bucket(0.1), bucket(0.25)), (1, 1));
    assert_eq!(point.bucket_counts.iter().sum::<u64>(), 2);

    let breaker = "WIRE_BREAKER";
    let Some(metric::Data::Gauge(state)) = &find(&metrics, "retry.circuit_breaker.state").data else {
        panic!("the breaker's state is not a gauge")
    };
    let mut states: Vec<_> = state
        .data_points
        .iter()
        .filter(|p| attribute(&p.attributes, "retry.breaker").as_deref() == Some(breaker))
        .map(|p| (attribute(&p.attributes, "retry.circuit.state").unwrap_or_default(), int(p)))
        .collect();
    states.sort();
    assert_eq!(states, [("closed".to_owned(), 0), ("half_open".to_owned(), 0), ("open".to_owned(), 1)]);
    let transitions =
        counted(&metrics, "retry.circuit_breaker.transitions", "retry.breaker", breaker, &["retry.circuit.state"]);
    assert_eq!(transitions, [(vec!["open".to_owned()], 1)]);
    let calls = counted(
        &metrics,
        "retry.circuit_breaker.calls",
        "retry.breaker",
        breaker,
        &["retry.circuit.state", "retry.result"],
    );
    let expected = [("closed", "failure", 1), ("open", "refused", 1)].map(|(s, r, n)| (vec![s.into(), r.into()], n));
    assert_eq!(calls, expected);
    let failures =
        counted(&metrics, "retry.failures", "retry.function", "otlp_wire::behind_a_breaker", &["retry.outcome"]);
    assert_eq!(failures, [(vec!["circuit_open".to_owned()], 1), (vec!["exhausted".to_owned()], 1)]);

    let function = "otlp_wire::on_a_budget";
    assert_eq!(counted(&metrics, "retry.budget.refusals", "retry.function", function, &[]), [(vec![], 1)]);
    let balance = find(&metrics, "retry.budget.balance");
    assert_eq!(balance.unit, "{token}");
    let Some(metric::Data::Gauge(balance)) = &balance.data else { panic!("the balance is not a gauge") };
    let tokens: Vec<_> = balance
        .data_points
        .iter()
        .filter(|p| attribute(&p.attributes, "retry.function").as_deref() == Some(function))
        .map(|p| p.value)
        .collect();
    let [Some(number_data_point::Value::AsDouble(tokens))] = tokens[..] else { panic!("one balance: {tokens:?}") };
    assert!((tokens - WIRE_BUDGET.tokens()).abs() < 1e-9, "{tokens} arrived, {} left", WIRE_BUDGET.tokens());
    assert!(tokens < 2.0, "a token was spent: {tokens}");
}

fn check_spans(received: &Received) {
    let spans = spans(received);
    let named = |name: &str| -> Vec<&Span> { spans.iter().copied().filter(|span| span.name == name).collect() };

    let [caller] = named("handle_request")[..] else { panic!("one caller span: {spans:#?}") };
    let [call] = named("otlp_wire::twice_then_ok")[..] else { panic!("one call span: {spans:#?}") };
    assert_eq!(call.parent_span_id, caller.span_id, "the call span is a child of the caller's");
    assert_eq!(call.trace_id, caller.trace_id);
    assert_eq!(attribute(&call.attributes, "retry.function").as_deref(), Some("otlp_wire::twice_then_ok"));
    assert_eq!(integer(&call.attributes, "retry.max_attempts"), Some(5));
    assert_eq!(integer(&call.attributes, "retry.attempts"), Some(3));
    assert_eq!(attribute(&call.attributes, "retry.outcome").as_deref(), Some("success"));
    assert_eq!(status(call), StatusCode::Unset, "a call that succeeded is not an error");

    let mut attempts: Vec<&Span> =
        named("retry.attempt").into_iter().filter(|span| span.parent_span_id == call.span_id).collect();
    attempts.sort_by_key(|span| span.start_time_unix_nano);
    assert_eq!(attempts.len(), 3, "three attempts under the call: {spans:#?}");
    for (number, attempt) in (1..).zip(&attempts) {
        assert_eq!(attempt.trace_id, call.trace_id);
        assert_eq!(integer(&attempt.attributes, "retry.attempt").map(|n| n.to_string()), Some(number.to_string()));
    }
    for (attempt, delay) in attempts[..2].iter().zip(["100", "200"]) {
        assert_eq!(status(attempt), StatusCode::Error, "{attempt:?}");
        assert_eq!(attempt.status.as_ref().map(|s| s.message.as_str()), Some("unavailable"));
        assert_eq!(attribute(&attempt.attributes, "error.type").as_deref(), Some("alloc::string::String"));
        assert_eq!(attribute(&attempt.attributes, "retry.verdict").as_deref(), Some("retry"));
        assert_eq!(integer(&attempt.attributes, "retry.delay_ms").map(|n| n.to_string()).as_deref(), Some(delay));
    }
    let last = attempts[2];
    assert_eq!(status(last), StatusCode::Unset);
    assert_eq!(attribute(&last.attributes, "error.type"), None);
    assert_eq!(attribute(&last.attributes, "retry.delay_ms"), None);

    // The calls that failed for good are error spans naming their outcome.
    let mut outcomes: Vec<_> = named("otlp_wire::behind_a_breaker")
        .into_iter()
        .chain(named("otlp_wire::on_a_budget"))
        .map(|span| (attribute(&span.attributes, "retry.outcome").unwrap_or_default(), status(span)))
        .collect();
    outcomes.sort_by(|a, b| a.0.cmp(&b.0));
    let expected =
        ["budget_refused", "circuit_open", "exhausted"].map(|outcome| (outcome.to_owned(), StatusCode::Error));
    assert_eq!(outcomes, expected);
}
