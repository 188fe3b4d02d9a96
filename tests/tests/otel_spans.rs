//! Feature `tracing`: the call and attempt spans as OpenTelemetry sees them,
//! through `tracing-opentelemetry` into the SDK's in-memory span exporter.

use std::io;

use opentelemetry::trace::{SpanId, Status, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use retry_runtime::retry;
use retry_runtime::testing::SleepRecorder;
use tracing_subscriber::layer::SubscriberExt as _;

/// The spans `f` makes, as exported, with a subscriber on this thread that
/// wants spans up to `level`.
fn spans_of(level: tracing::level_filters::LevelFilter, f: impl FnOnce()) -> Vec<SpanData> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("otel_spans")))
        .with(level);
    tracing::subscriber::with_default(subscriber, f);
    assert!(provider.force_flush().is_ok());
    let Ok(spans) = exporter.get_finished_spans() else { panic!("the exporter failed") };
    spans
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|KeyValue { value, .. }| match value {
        Value::String(s) => s.as_str().to_owned(),
        other => other.to_string(),
    })
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|span| span.name == name).collect()
}

fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused")
}

#[retry(max = 5, base = "100ms", jitter = "none")]
fn load(failures: &mut u32) -> Result<u32, io::Error> {
    if *failures > 0 {
        *failures -= 1;
        return Err(refused());
    }
    tracing::info_span!("query").in_scope(|| Ok(42))
}

#[retry(max = 2, base = "100ms", jitter = "none")]
fn always_refused() -> Result<u32, io::Error> {
    Err(refused())
}

#[test]
fn fail_fail_succeed_is_one_call_span_with_three_attempts_in_order_under_the_callers_span() {
    let spans = spans_of(tracing::level_filters::LevelFilter::INFO, || {
        let _recorder = SleepRecorder::install();
        let mut failures = 2;
        let result = tracing::info_span!("handle_request").in_scope(|| load(&mut failures));
        assert_eq!(result.ok(), Some(42));
    });

    let [caller] = named(&spans, "handle_request")[..] else { panic!("one caller span: {spans:#?}") };
    // `otel.name` names the call span after the function.
    let calls: Vec<_> = spans.iter().filter(|span| attribute(span, "retry.max_attempts").is_some()).collect();
    let [call] = calls[..] else { panic!("one call span: {spans:#?}") };
    assert!(call.name.ends_with("otel_spans::load"), "{}", call.name);
    assert_eq!(call.parent_span_id, caller.span_context.span_id(), "the call span is a child of the caller's");
    assert_eq!(call.span_context.trace_id(), caller.span_context.trace_id());
    assert_eq!(attribute(call, "retry.function").as_deref(), Some(&*call.name));
    assert_eq!(attribute(call, "retry.max_attempts").as_deref(), Some("5"));
    assert_eq!(attribute(call, "retry.attempts").as_deref(), Some("3"));
    assert_eq!(attribute(call, "retry.outcome").as_deref(), Some("success"));
    assert_eq!(call.status, Status::Unset, "a call that succeeded is not an error");

    let mut attempts = named(&spans, "retry.attempt");
    attempts.sort_by_key(|span| span.start_time);
    assert_eq!(attempts.len(), 3, "{spans:#?}");
    for (number, attempt) in (1..).zip(&attempts) {
        assert_eq!(attempt.parent_span_id, call.span_context.span_id(), "attempt {number} is a child of the call");
        assert_eq!(attribute(attempt, "retry.attempt"), Some(number.to_string()));
    }
    for (attempt, delay) in attempts[..2].iter().zip(["100", "200"]) {
        assert!(matches!(attempt.status, Status::Error { .. }), "{:?}", attempt.status);
        assert_eq!(attribute(attempt, "error.type").as_deref(), Some("std::io::error::Error"));
        assert_eq!(attribute(attempt, "retry.verdict").as_deref(), Some("retry"));
        assert_eq!(attribute(attempt, "retry.delay_ms").as_deref(), Some(delay));
    }
    let last = attempts[2];
    assert_eq!(last.status, Status::Unset);
    assert_eq!(attribute(last, "error.type"), None);
    assert_eq!(attribute(last, "retry.delay_ms"), None);
    // The body runs inside its attempt's span.
    let [query] = named(&spans, "query")[..] else { panic!("one query span: {spans:#?}") };
    assert_eq!(query.parent_span_id, last.span_context.span_id());
    assert_ne!(query.parent_span_id, SpanId::INVALID);
}

#[test]
fn a_call_that_gives_up_is_an_error_span_naming_its_outcome() {
    let spans = spans_of(tracing::level_filters::LevelFilter::INFO, || {
        let _recorder = SleepRecorder::install();
        assert!(always_refused().is_err());
    });
    let calls: Vec<_> = spans.iter().filter(|span| attribute(span, "retry.max_attempts").is_some()).collect();
    let [call] = calls[..] else { panic!("one call span: {spans:#?}") };
    assert!(matches!(call.status, Status::Error { .. }), "{:?}", call.status);
    assert_eq!(attribute(call, "retry.outcome").as_deref(), Some("exhausted"));
    assert_eq!(attribute(call, "retry.attempts").as_deref(), Some("2"));
    assert_eq!(attribute(call, "error.type").as_deref(), Some("std::io::error::Error"));
    assert_eq!(call.parent_span_id, SpanId::INVALID, "with no span around it, the call is a root");
    let attempts = named(&spans, "retry.attempt");
    assert_eq!(attempts.len(), 2);
    assert!(attempts.iter().all(|attempt| matches!(attempt.status, Status::Error { .. })));
    // The last attempt is not retried: no delay.
    assert_eq!(attempts.iter().filter(|attempt| attribute(attempt, "retry.delay_ms").is_some()).count(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_async_attempt_is_a_span_too() {
    #[retry(max = 3, base = "10ms", jitter = "none")]
    async fn fetch(failures: &std::sync::atomic::AtomicU32) -> Result<u32, io::Error> {
        if failures
            .fetch_update(std::sync::atomic::Ordering::Relaxed, std::sync::atomic::Ordering::Relaxed, |n| {
                n.checked_sub(1)
            })
            .is_ok()
        {
            tokio::task::yield_now().await;
            return Err(refused());
        }
        Ok(7)
    }
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("otel_spans")));
    let _default = tracing::subscriber::set_default(subscriber);
    let failures = std::sync::atomic::AtomicU32::new(1);
    assert_eq!(fetch(&failures).await.ok(), Some(7));
    assert!(provider.force_flush().is_ok());
    let Ok(spans) = exporter.get_finished_spans() else { panic!("the exporter failed") };
    let attempts = named(&spans, "retry.attempt");
    assert_eq!(attempts.len(), 2, "{spans:#?}");
    assert_eq!(
        attempts.iter().filter(|attempt| attribute(attempt, "retry.delay_ms").as_deref() == Some("10")).count(),
        1
    );
}

#[test]
fn a_level_filter_below_info_makes_no_spans() {
    let spans = spans_of(tracing::level_filters::LevelFilter::WARN, || {
        let _recorder = SleepRecorder::install();
        let mut failures = 1;
        assert_eq!(load(&mut failures).ok(), Some(42));
    });
    assert!(spans.is_empty(), "{spans:#?}");
}
