//! Feature `opentelemetry`: the instruments as the real SDK exports them,
//! read back from its in-memory exporter.

use std::cell::Cell;
use std::sync::LazyLock;

use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, Metric, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use retry_runtime::retry;
use retry_runtime::testing::SleepRecorder;

struct Sdk {
    exporter: InMemoryMetricExporter,
    provider: SdkMeterProvider,
}

static SDK: LazyLock<Sdk> = LazyLock::new(|| {
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(exporter.clone()).build()).build();
    assert!(retry_runtime::metrics::use_meter(&provider.meter("otel_metrics")), "the first meter is used");
    Sdk { exporter, provider }
});

/// The last export's metrics, after flushing (cumulative: everything so far).
fn exported() -> ResourceMetrics {
    let sdk = &*SDK;
    assert!(sdk.provider.force_flush().is_ok());
    let Ok(exports) = sdk.exporter.get_finished_metrics() else { panic!("the exporter failed") };
    let Some(last) = exports.into_iter().last() else { panic!("nothing was exported") };
    last
}

fn find<'a>(metrics: &'a ResourceMetrics, name: &str) -> Option<&'a Metric> {
    metrics.scope_metrics().flat_map(opentelemetry_sdk::metrics::data::ScopeMetrics::metrics).find(|m| m.name() == name)
}

fn attribute<'a>(attributes: impl Iterator<Item = &'a KeyValue>, key: &str) -> Option<String> {
    attributes.into_iter().find(|kv| kv.key.as_str() == key).map(|kv| match &kv.value {
        Value::String(s) => s.as_str().to_owned(),
        other => other.to_string(),
    })
}

/// The `u64` counter `name`'s value for `function` (and `outcome`, if given).
fn counter(metrics: &ResourceMetrics, name: &str, function: &str, outcome: Option<&str>) -> Option<u64> {
    let metric = find(metrics, name)?;
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else { panic!("{name} is not a u64 sum") };
    assert!(sum.is_monotonic(), "{name} is a counter");
    sum.data_points()
        .filter(|p| attribute(p.attributes(), "retry.function").as_deref() == Some(function))
        .filter(|p| outcome.is_none() || attribute(p.attributes(), "retry.outcome").as_deref() == outcome)
        .map(opentelemetry_sdk::metrics::data::SumDataPoint::value)
        .reduce(|a, b| a + b)
}

/// Fails `failures` times with a transient error, then succeeds.
fn scripted(failures: &Cell<u32>) -> Result<u32, String> {
    let left = failures.get();
    if left == 0 {
        return Ok(1);
    }
    failures.set(left - 1);
    Err("unavailable".to_owned())
}

#[retry(max = 5, base = "100ms", jitter = "none")]
fn twice_then_ok(failures: &Cell<u32>) -> Result<u32, String> {
    scripted(failures)
}

#[test]
fn a_function_failing_twice_then_succeeding_exports_three_attempts_one_success_two_backoffs() {
    LazyLock::force(&SDK); // The meter is set before the first retried call.
    let _sleeps = SleepRecorder::install();
    assert_eq!(twice_then_ok(&Cell::new(2)), Ok(1));
    let metrics = exported();
    let function = "otel_metrics::twice_then_ok";
    assert_eq!(counter(&metrics, "retry.attempts", function, None), Some(3));
    assert_eq!(counter(&metrics, "retry.successes", function, None), Some(1));
    assert_eq!(counter(&metrics, "retry.failures", function, None), None);

    let Some(backoff) = find(&metrics, "retry.backoff_duration") else { panic!("no retry.backoff_duration") };
    assert_eq!(backoff.unit(), "s");
    let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = backoff.data() else { panic!("not a histogram") };
    let Some(point) =
        histogram.data_points().find(|p| attribute(p.attributes(), "retry.function").as_deref() == Some(function))
    else {
        panic!("no backoff data point for {function}")
    };
    assert_eq!(point.count(), 2);
    assert!((point.sum() - 0.3).abs() < 1e-9, "0.1 s + 0.2 s, got {}", point.sum());
    assert_eq!((point.min(), point.max()), (Some(0.1), Some(0.2)));
}

#[retry(max = 3, base = "1ms")]
fn always_down() -> Result<u32, String> {
    Err("down".to_owned())
}

fn is_transient(error: &String) -> bool {
    error != "forbidden"
}

#[retry(max = 3, base = "1ms", on = is_transient)]
fn forbidden() -> Result<u32, String> {
    Err("forbidden".to_owned())
}

#[retry(max = 3, base = "1ms")]
fn ok_first() -> Result<u32, String> {
    Ok(1)
}

#[test]
fn failures_carry_their_outcome_and_first_try_successes_count_too() {
    LazyLock::force(&SDK); // The meter is set before the first retried call.
    let _sleeps = SleepRecorder::install();
    assert!(always_down().is_err());
    assert!(forbidden().is_err());
    assert_eq!(ok_first(), Ok(1));
    let metrics = exported();
    assert_eq!(counter(&metrics, "retry.attempts", "otel_metrics::ok_first", None), Some(1));
    assert_eq!(counter(&metrics, "retry.successes", "otel_metrics::ok_first", None), Some(1));
    assert_eq!(counter(&metrics, "retry.attempts", "otel_metrics::always_down", None), Some(3));
    assert_eq!(counter(&metrics, "retry.failures", "otel_metrics::always_down", Some("exhausted")), Some(1));
    assert_eq!(counter(&metrics, "retry.failures", "otel_metrics::forbidden", Some("non_retryable")), Some(1));
    assert_eq!(counter(&metrics, "retry.attempts", "otel_metrics::forbidden", None), Some(1));
    assert_eq!(counter(&metrics, "retry.successes", "otel_metrics::always_down", None), None);
}

static REFUSING: retry_runtime::CircuitBreaker =
    retry_runtime::CircuitBreaker::new().failure_threshold(1).cool_down(std::time::Duration::from_secs(600));

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

#[retry(max = 1, breaker = REFUSING)]
fn behind_a_breaker() -> Result<u32, Refused> {
    Err(Refused::Down)
}

/// Was: a call the open breaker refused added 1 to `retry.attempts`
/// although its body never ran.
#[test]
fn a_call_the_breaker_refuses_exports_no_attempt() {
    LazyLock::force(&SDK); // The meter is set before the first retried call.
    assert!(matches!(behind_a_breaker(), Err(Refused::Down)), "the first failure opens the breaker");
    assert!(matches!(behind_a_breaker(), Err(Refused::Open)));
    let metrics = exported();
    let function = "otel_metrics::behind_a_breaker";
    assert_eq!(counter(&metrics, "retry.attempts", function, None), Some(1));
    assert_eq!(counter(&metrics, "retry.failures", function, Some("circuit_open")), Some(1));
}

#[retry(max = 5, base = "100ms", jitter = "none")]
async fn fails_at_once() -> Result<u32, String> {
    Err("down".to_owned())
}

/// Was: a call cancelled while sleeping exported one attempt more than it
/// made (2 made, 3 exported).
#[test]
fn a_call_cancelled_while_sleeping_exports_the_attempts_it_made() {
    LazyLock::force(&SDK);
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build() else {
        panic!("no runtime")
    };
    // Attempts at 0 and 100 ms; cancelled at 150 ms, in the 200 ms sleep.
    let cancelled =
        runtime.block_on(async { tokio::time::timeout(std::time::Duration::from_millis(150), fails_at_once()).await });
    assert!(cancelled.is_err());
    let metrics = exported();
    let function = "otel_metrics::fails_at_once";
    assert_eq!(counter(&metrics, "retry.attempts", function, None), Some(2));
    assert_eq!(counter(&metrics, "retry.failures", function, Some("cancelled")), Some(1));
}

/// The points of the gauge `name` whose attribute `key` is `value`, as
/// (`retry.circuit.state` or none, value) pairs.
fn gauge(metrics: &ResourceMetrics, name: &str, key: &str, value: &str) -> Vec<(Option<String>, f64)> {
    let Some(metric) = find(metrics, name) else { return Vec::new() };
    let points: Vec<(Vec<KeyValue>, f64)> = match metric.data() {
        AggregatedMetrics::U64(MetricData::Gauge(gauge)) => gauge
            .data_points()
            .map(|p| {
                #[allow(clippy::cast_precision_loss, reason = "0 or 1")]
                let v = p.value() as f64;
                (p.attributes().cloned().collect(), v)
            })
            .collect(),
        AggregatedMetrics::F64(MetricData::Gauge(gauge)) => {
            gauge.data_points().map(|p| (p.attributes().cloned().collect(), p.value())).collect()
        }
        _ => panic!("{name} is not a gauge"),
    };
    points
        .into_iter()
        .filter(|(attributes, _)| attribute(attributes.iter(), key).as_deref() == Some(value))
        .map(|(attributes, v)| (attribute(attributes.iter(), "retry.circuit.state"), v))
        .collect()
}

/// The counter `name`'s points whose attribute `key` is `value`, summed
/// by the attributes `by`.
fn counted(metrics: &ResourceMetrics, name: &str, key: &str, value: &str, by: &[&str]) -> Vec<(Vec<String>, u64)> {
    let Some(metric) = find(metrics, name) else { return Vec::new() };
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = metric.data() else { panic!("{name} is not a u64 sum") };
    let mut points: Vec<(Vec<String>, u64)> = sum
        .data_points()
        .filter(|p| attribute(p.attributes(), key).as_deref() == Some(value))
        .map(|p| (by.iter().map(|b| attribute(p.attributes(), b).unwrap_or_default()).collect(), p.value()))
        .collect();
    points.sort();
    points
}

static TRIPPING: retry_runtime::CircuitBreaker =
    retry_runtime::CircuitBreaker::new().failure_threshold(2).cool_down(std::time::Duration::from_secs(600));

#[retry(max = 1, breaker = TRIPPING)]
fn tripping(fail: bool) -> Result<u32, Refused> {
    if fail { Err(Refused::Down) } else { Ok(1) }
}

#[test]
fn a_breaker_exports_its_state_its_transitions_and_its_calls_by_state_and_result() {
    LazyLock::force(&SDK);
    assert!(tripping(false).is_ok());
    assert!(matches!(tripping(true), Err(Refused::Down)));
    assert!(matches!(tripping(true), Err(Refused::Down)), "the second failure opens the breaker");
    assert!(matches!(tripping(false), Err(Refused::Open)));
    let metrics = exported();

    let mut state = gauge(&metrics, "retry.circuit_breaker.state", "retry.breaker", "TRIPPING");
    state.sort_by(|a, b| a.0.cmp(&b.0));
    let expected = [("closed", 0.0), ("half_open", 0.0), ("open", 1.0)].map(|(s, v)| (Some(s.to_owned()), v));
    assert_eq!(state, expected);
    let transitions =
        counted(&metrics, "retry.circuit_breaker.transitions", "retry.breaker", "TRIPPING", &["retry.circuit.state"]);
    assert_eq!(transitions, [(vec!["open".to_owned()], 1)]);
    let calls = counted(
        &metrics,
        "retry.circuit_breaker.calls",
        "retry.breaker",
        "TRIPPING",
        &["retry.circuit.state", "retry.result"],
    );
    let expected = [("closed", "failure", 2), ("closed", "success", 1), ("open", "refused", 1)]
        .map(|(s, r, n)| (vec![s.to_owned(), r.to_owned()], n));
    assert_eq!(calls, expected);
    let Some(metric) = find(&metrics, "retry.circuit_breaker.calls") else { panic!("no calls") };
    assert_eq!(metric.unit(), "{call}");
}

/// Two tokens to spend (ratio 0: calls earn none), and no floor.
static SMALL_BUDGET: retry_runtime::RetryBudget =
    retry_runtime::RetryBudget::new().capacity(2).ratio(0.0).min_retries_per_second(0);

#[retry(max = 4, base = "1ms", budget = SMALL_BUDGET)]
fn on_a_small_budget() -> Result<u32, String> {
    Err("down".to_owned())
}

#[test]
fn a_budget_exports_its_balance_and_its_refusals() {
    LazyLock::force(&SDK);
    let _sleeps = SleepRecorder::install();
    assert!(on_a_small_budget().is_err());
    let metrics = exported();
    let function = "otel_metrics::on_a_small_budget";
    assert_eq!(counter(&metrics, "retry.budget.refusals", function, None), Some(1));
    assert_eq!(counter(&metrics, "retry.failures", function, Some("budget_refused")), Some(1));
    let balance = gauge(&metrics, "retry.budget.balance", "retry.function", function);
    let [(None, tokens)] = balance[..] else { panic!("one balance point: {balance:?}") };
    assert!((tokens - SMALL_BUDGET.tokens()).abs() < 1e-9, "{tokens} exported, {} left", SMALL_BUDGET.tokens());
    assert!(tokens < 2.0, "a token was spent: {tokens}");
    let Some(metric) = find(&metrics, "retry.budget.balance") else { panic!("no balance") };
    assert_eq!(metric.unit(), "{token}");
}

// ------------------------------------------------------------- dashboard

#[retry(max = 3, base = "1ms")]
fn dashboard_retried(failures: &Cell<u32>) -> Result<u32, String> {
    scripted(failures)
}

static DASHBOARD_BREAKER: retry_runtime::CircuitBreaker =
    retry_runtime::CircuitBreaker::new().failure_threshold(1).cool_down(std::time::Duration::from_secs(600));

#[retry(max = 2, base = "1ms", breaker = DASHBOARD_BREAKER)]
fn dashboard_breaker() -> Result<u32, Refused> {
    Err(Refused::Down)
}

static DASHBOARD_BUDGET: retry_runtime::RetryBudget =
    retry_runtime::RetryBudget::new().capacity(1).ratio(0.0).min_retries_per_second(0);

#[retry(max = 3, base = "1ms", budget = DASHBOARD_BUDGET)]
fn dashboard_budget() -> Result<u32, String> {
    Err("down".to_owned())
}

/// The names an OpenTelemetry collector's Prometheus exporter gives
/// `metric`: dots to underscores, the unit's suffix (`s`: `_seconds`;
/// annotations in braces: none), `_total` for counters, and a histogram's
/// three series.
fn prometheus_names(metric: &Metric) -> Vec<String> {
    let mut base = metric.name().replace('.', "_");
    match metric.unit() {
        "s" => base.push_str("_seconds"),
        unit if unit.is_empty() || unit.starts_with('{') => {}
        unit => panic!("{}: the unit {unit} is not translated here", metric.name()),
    }
    match metric.data() {
        AggregatedMetrics::U64(MetricData::Sum(_)) => vec![format!("{base}_total")],
        AggregatedMetrics::F64(MetricData::Histogram(_)) => {
            ["bucket", "sum", "count"].map(|suffix| format!("{base}_{suffix}")).to_vec()
        }
        AggregatedMetrics::U64(MetricData::Gauge(_)) | AggregatedMetrics::F64(MetricData::Gauge(_)) => vec![base],
        _ => panic!("{} has a kind not translated here", metric.name()),
    }
}

/// Splits a Prometheus query into its `by (…)` label lists and the
/// identifiers outside them.
fn promql_names(expr: &str) -> (Vec<String>, Vec<String>) {
    let (mut labels, mut names) = (Vec::new(), Vec::new());
    let mut rest = expr;
    while let Some(at) = rest.find("by (") {
        let (before, after) = rest.split_at(at);
        names.extend(identifiers(before));
        let Some(end) = after.find(')') else { panic!("unclosed `by (` in {expr}") };
        labels.extend(after["by (".len()..end].split(',').map(|label| label.trim().to_owned()));
        rest = &after[end..];
    }
    names.extend(identifiers(rest));
    (labels, names)
}

fn identifiers(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("retry_"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_metric_and_label_the_dashboard_queries_is_one_the_library_exports() {
    LazyLock::force(&SDK);
    let _sleeps = SleepRecorder::install();
    assert!(dashboard_retried(&Cell::new(1)).is_ok());
    assert!(matches!(dashboard_breaker(), Err(Refused::Down)), "the first failure opens it; the retry is refused");
    assert!(matches!(dashboard_breaker(), Err(Refused::Open)));
    assert!(dashboard_budget().is_err());
    let metrics = exported();
    let all: Vec<&Metric> =
        metrics.scope_metrics().flat_map(opentelemetry_sdk::metrics::data::ScopeMetrics::metrics).collect();
    let exported_names: Vec<String> = all.iter().flat_map(|metric| prometheus_names(metric)).collect();
    for name in [
        "retry.attempts",
        "retry.successes",
        "retry.failures",
        "retry.backoff_duration",
        "retry.circuit_breaker.state",
        "retry.circuit_breaker.transitions",
        "retry.circuit_breaker.calls",
        "retry.budget.balance",
        "retry.budget.refusals",
    ] {
        assert!(all.iter().any(|metric| metric.name() == name), "{name} was not exported: {exported_names:?}");
    }
    let exported_labels: Vec<String> = all
        .iter()
        .flat_map(|metric| match metric.data() {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => sum
                .data_points()
                .flat_map(|p| p.attributes().map(|kv| kv.key.to_string()).collect::<Vec<_>>())
                .collect(),
            AggregatedMetrics::U64(MetricData::Gauge(gauge)) => gauge
                .data_points()
                .flat_map(|p| p.attributes().map(|kv| kv.key.to_string()).collect::<Vec<_>>())
                .collect(),
            _ => Vec::new(),
        })
        .map(|key| key.replace('.', "_"))
        .collect();

    let Ok(text) = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana/retry.json")) else {
        panic!("docs/grafana/retry.json is missing")
    };
    let Ok(dashboard) = serde_json::from_str::<serde_json::Value>(&text) else { panic!("the dashboard is not JSON") };
    let Some(panels) = dashboard["panels"].as_array() else { panic!("the dashboard has no panels") };
    let exprs: Vec<&str> = panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().into_iter().flatten())
        .filter_map(|target| target["expr"].as_str())
        .collect();
    assert_eq!(exprs.len(), panels.len(), "one query per panel");
    let mut queried = std::collections::BTreeSet::new();
    for expr in exprs {
        let (labels, names) = promql_names(expr);
        assert!(!names.is_empty(), "{expr} queries no retry metric");
        for name in names {
            assert!(exported_names.contains(&name), "the dashboard queries {name}, not exported: {exported_names:?}");
            queried.insert(name);
        }
        for label in labels {
            assert!(label == "le" || exported_labels.contains(&label), "the dashboard groups by {label}, not exported");
        }
    }
    // Every instrument is on the dashboard.
    for metric in &all {
        assert!(prometheus_names(metric).iter().any(|name| queried.contains(name)), "{} is on no panel", metric.name());
    }
}
