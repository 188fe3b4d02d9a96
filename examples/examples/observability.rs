//! One run, four views of the same retries: the statistics table, the
//! `tracing` log lines, the OpenTelemetry data points the SDK exports, and
//! the span tree of one retried call, as `tracing-opentelemetry` exports it.
//!
//! Run it with `cargo run -p examples --example observability`.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::trace::{SpanId, Status, TracerProvider as _};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics, ScopeMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use retry_runtime::{Stats, retry, stats};
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// One shared entry for everything that talks to the user service.
static USER_SERVICE: Stats = Stats::new();

static LOAD_FAILURES: AtomicU32 = AtomicU32::new(0);

/// Refuses connections while `LOAD_FAILURES` is above zero.
#[retry(max = 5, base = "100ms", jitter = "none")]
async fn load(id: u64) -> Result<String, io::Error> {
    if LOAD_FAILURES.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok() {
        return Err(io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused"));
    }
    Ok(format!("user {id}"))
}

/// Always times out: runs out of attempts.
#[retry(max = 3, base = "50ms", jitter = "none", stats = USER_SERVICE)]
async fn avatar(id: u64) -> Result<Vec<u8>, io::Error> {
    Err(io::Error::new(io::ErrorKind::TimedOut, format!("avatar {id}: timed out")))
}

/// A permanent error: returned at once, not retried.
#[retry(max = 3, base = "50ms", stats = USER_SERVICE, on = retry_runtime::is_transient)]
async fn rename(id: u64) -> Result<(), io::Error> {
    Err(io::Error::new(io::ErrorKind::PermissionDenied, format!("user {id} is read-only")))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs: a real subscriber printing to stderr. Spans: the same subscriber
    // hands them to OpenTelemetry, whose exporter keeps them in memory.
    let spans = InMemorySpanExporter::default();
    let tracer_provider = SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build();
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().without_time().with_target(false))
        .with(tracing_opentelemetry::layer().with_tracer(tracer_provider.tracer("observability-example")))
        .init();

    // Metrics: an SDK provider whose exporter keeps the data in memory. Any
    // exporter (OTLP, Prometheus) is set up the same way.
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(exporter.clone()).build()).build();
    retry_runtime::metrics::use_meter(&provider.meter("observability-example"));

    for id in 1..=20 {
        // Every fifth call meets an outage of `id % 4` refused connections.
        if id % 5 == 0 {
            LOAD_FAILURES.store(id % 4, Ordering::Relaxed);
        }
        load(u64::from(id)).await?;
    }
    LOAD_FAILURES.store(10, Ordering::Relaxed);
    let _ = load(21).await; // gives up after 5 attempts
    let _ = avatar(7).await;
    let _ = rename(7).await;

    // One request whose load meets two refused connections.
    LOAD_FAILURES.store(2, Ordering::Relaxed);
    load(42).instrument(tracing::info_span!("handle_request", user = 42)).await?;
    tracer_provider.force_flush()?;
    println!("\n== the span tree of handle_request (exported by tracing-opentelemetry)");
    print_span_tree(&spans.get_finished_spans()?, "handle_request");

    println!("\n== retry_runtime::stats::snapshot()\n{}", stats::snapshot());

    provider.force_flush()?;
    println!("== exported OpenTelemetry data points");
    let exports = exporter.get_finished_metrics()?;
    for metric in
        exports.iter().last().into_iter().flat_map(ResourceMetrics::scope_metrics).flat_map(ScopeMetrics::metrics)
    {
        match metric.data() {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                for point in sum.data_points() {
                    let attributes: Vec<String> =
                        point.attributes().map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                    println!("{:<24} {:>4}  {}", metric.name(), point.value(), attributes.join(" "));
                }
            }
            AggregatedMetrics::F64(MetricData::Histogram(histogram)) => {
                for point in histogram.data_points() {
                    let attributes: Vec<String> =
                        point.attributes().map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                    println!(
                        "{:<24} count={} sum={:.3}s  {}",
                        metric.name(),
                        point.count(),
                        point.sum(),
                        attributes.join(" ")
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Prints the trace whose root span is named `root`: each span with its
/// status and the attributes the retry spans record.
fn print_span_tree(spans: &[SpanData], root: &str) {
    let mut children: HashMap<SpanId, Vec<&SpanData>> = HashMap::new();
    for span in spans {
        children.entry(span.parent_span_id).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|span| span.start_time);
    }
    if let Some(root) = spans.iter().rev().find(|span| span.name == root) {
        print_span(root, &children, "", "");
    }
}

fn print_span(span: &SpanData, children: &HashMap<SpanId, Vec<&SpanData>>, first: &str, rest: &str) {
    let status = match &span.status {
        Status::Error { .. } => " [ERROR]",
        Status::Ok => " [OK]",
        Status::Unset => "",
    };
    let fields: Vec<String> = span
        .attributes
        .iter()
        .filter(|kv| ["retry.", "error.", "user"].iter().any(|prefix| kv.key.as_str().starts_with(prefix)))
        .map(|kv| format!("{}={}", kv.key, kv.value))
        .collect();
    println!("{first}{}{status}  {}", span.name, fields.join(" "));
    let list = children.get(&span.span_context.span_id()).map_or(&[][..], Vec::as_slice);
    for (index, child) in list.iter().enumerate() {
        let is_last = index + 1 == list.len();
        let (branch, indent) = if is_last { ("└── ", "    ") } else { ("├── ", "│   ") };
        print_span(child, children, &format!("{rest}{branch}"), &format!("{rest}{indent}"));
    }
}
