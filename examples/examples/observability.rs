//! One run, three views of the same retries: the statistics table, the
//! `tracing` log lines, and the OpenTelemetry data points the SDK exports.
//!
//! Run it with `cargo run -p examples --example observability`.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics, ScopeMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use retry_runtime::{Stats, retry, stats};

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
    // Logs: a real subscriber printing to stderr.
    tracing_subscriber::fmt().without_time().with_target(false).init();

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
