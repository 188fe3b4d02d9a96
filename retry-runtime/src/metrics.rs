//! OpenTelemetry metrics of every `#[retry]` function (feature `opentelemetry`).
//!
//! | instrument | kind | unit | attributes |
//! |---|---|---|---|
//! | `retry.attempts` | counter | `{attempt}` | `retry.function` |
//! | `retry.successes` | counter | `{call}` | `retry.function` |
//! | `retry.failures` | counter | `{call}` | `retry.function`, `retry.outcome` (`exhausted`, `non_retryable`, `budget_refused`, `circuit_open` or `cancelled`) |
//! | `retry.hedged_attempts` | counter | `{attempt}` | `retry.function` (also counted in `retry.attempts`) |
//! | `retry.fallbacks` | counter | `{call}` | `retry.function` |
//! | `retry.backoff_duration` | histogram | `s` | `retry.function` |
//!
//! The instruments are created on first use, from the meter given to
//! [`use_meter`] or else from the global meter provider's `retry_runtime`
//! meter: install the provider (`opentelemetry::global::set_meter_provider`)
//! before the first retried call.
//!
//! ```
//! // With the SDK: `SdkMeterProvider::builder().with_reader(…).build().meter("my-service")`.
//! let meter = opentelemetry::global::meter("my-service");
//! retry_runtime::metrics::use_meter(&meter);
//! ```

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};

struct Instruments {
    attempts: Counter<u64>,
    successes: Counter<u64>,
    failures: Counter<u64>,
    fallbacks: Counter<u64>,
    hedged: Counter<u64>,
    backoff: Histogram<f64>,
}

static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

/// Records the retry metrics with `meter` instead of the global one. Only the
/// first meter set (by this or by the first retried call) is used; returns
/// whether this one was.
///
/// ```
/// let meter = opentelemetry::global::meter("my-service");
/// let _ = retry_runtime::metrics::use_meter(&meter);
/// ```
pub fn use_meter(meter: &Meter) -> bool {
    let mut used = false;
    INSTRUMENTS.get_or_init(|| {
        used = true;
        instruments(meter)
    });
    used
}

fn instruments(meter: &Meter) -> Instruments {
    Instruments {
        attempts: meter
            .u64_counter("retry.attempts")
            .with_description("Attempts made by retried functions, first attempts included")
            .with_unit("{attempt}")
            .build(),
        successes: meter
            .u64_counter("retry.successes")
            .with_description("Calls of retried functions that succeeded")
            .with_unit("{call}")
            .build(),
        failures: meter
            .u64_counter("retry.failures")
            .with_description("Calls of retried functions that failed for good")
            .with_unit("{call}")
            .build(),
        fallbacks: meter
            .u64_counter("retry.fallbacks")
            .with_description("Failed calls of retried functions that returned their fallback's result")
            .with_unit("{call}")
            .build(),
        hedged: meter
            .u64_counter("retry.hedged_attempts")
            .with_description("Copies of a slow attempt that hedged calls started")
            .with_unit("{attempt}")
            .build(),
        backoff: meter
            .f64_histogram("retry.backoff_duration")
            .with_description("Delays slept between attempts")
            .with_unit("s")
            .with_boundaries(vec![0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0])
            .build(),
    }
}

fn get() -> &'static Instruments {
    INSTRUMENTS.get_or_init(|| instruments(&opentelemetry::global::meter("retry_runtime")))
}

/// A failed attempt, retried after `delay`.
pub(crate) fn retrying(function: &'static str, delay: Duration) {
    let instruments = get();
    let attributes = [KeyValue::new("retry.function", function)];
    instruments.attempts.add(1, &attributes);
    instruments.backoff.record(delay.as_secs_f64(), &attributes);
}

/// The call ended: `outcome` is `success` or a failure's `Outcome::name`;
/// `unrecorded` attempts of it were not counted by [`retrying`] (the last
/// one, or none for a call refused before an attempt or dropped while
/// sleeping).
pub(crate) fn ended(function: &'static str, outcome: &'static str, unrecorded: u32) {
    let instruments = get();
    let function = KeyValue::new("retry.function", function);
    if unrecorded > 0 {
        instruments.attempts.add(u64::from(unrecorded), std::slice::from_ref(&function));
    }
    if outcome == "success" {
        instruments.successes.add(1, &[function]);
    } else {
        instruments.failures.add(1, &[function, KeyValue::new("retry.outcome", outcome)]);
    }
}

/// A failed call returns its fallback's result (it is also counted in `retry.failures`).
pub(crate) fn fell_back(function: &'static str) {
    get().fallbacks.add(1, &[KeyValue::new("retry.function", function)]);
}

/// A hedged call started another attempt.
pub(crate) fn hedged(function: &'static str) {
    let instruments = get();
    let attributes = [KeyValue::new("retry.function", function)];
    instruments.attempts.add(1, &attributes);
    instruments.hedged.add(1, &attributes);
}
