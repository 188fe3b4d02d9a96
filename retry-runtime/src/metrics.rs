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
//! | `retry.circuit_breaker.state` | gauge | `{state}` | `retry.breaker`, `retry.circuit.state` (`closed`, `open`, `half_open`): 1 for the state the breaker is in, 0 for the other two |
//! | `retry.circuit_breaker.transitions` | counter | `{transition}` | `retry.breaker`, `retry.circuit.state` (the state entered) |
//! | `retry.circuit_breaker.calls` | counter | `{call}` | `retry.breaker`, `retry.circuit.state` (`closed` or `half_open` when admitted, `open` when refused), `retry.result` (`success`, `failure` or `refused`) |
//! | `retry.budget.balance` | gauge | `{token}` | `retry.function`: the tokens left after a retry withdrew one or the budget refused one |
//! | `retry.budget.refusals` | counter | `{retry}` | `retry.function` |
//!
//! A breaker is named by the path the attribute's `breaker = PATH` names
//! ([`crate::__private::CallSite::with_breaker`]); its state gauge is recorded at
//! each transition a retried call causes, so a breaker that never changed
//! state has no point yet. An attempt a breaker admitted counts as a
//! `failure` only if the classifier called its error transient: a permanent
//! error means the dependency answered. Budgets have no name: their balance
//! and refusals are per function.
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
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter};

use crate::breaker::CircuitState;
use crate::budget::RetryBudget;

struct Instruments {
    attempts: Counter<u64>,
    successes: Counter<u64>,
    failures: Counter<u64>,
    fallbacks: Counter<u64>,
    hedged: Counter<u64>,
    backoff: Histogram<f64>,
    breaker_state: Gauge<u64>,
    breaker_transitions: Counter<u64>,
    breaker_calls: Counter<u64>,
    budget_balance: Gauge<f64>,
    budget_refusals: Counter<u64>,
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
        breaker_state: meter
            .u64_gauge("retry.circuit_breaker.state")
            .with_description("1 for the state each circuit breaker is in, 0 for the others")
            .with_unit("{state}")
            .build(),
        breaker_transitions: meter
            .u64_counter("retry.circuit_breaker.transitions")
            .with_description("State changes of circuit breakers, by the state entered")
            .with_unit("{transition}")
            .build(),
        breaker_calls: meter
            .u64_counter("retry.circuit_breaker.calls")
            .with_description("Attempts circuit breakers admitted (by their result) or refused")
            .with_unit("{call}")
            .build(),
        budget_balance: meter
            .f64_gauge("retry.budget.balance")
            .with_description("Tokens left in a retry budget")
            .with_unit("{token}")
            .build(),
        budget_refusals: meter
            .u64_counter("retry.budget.refusals")
            .with_description("Retries a retry budget refused")
            .with_unit("{retry}")
            .build(),
    }
}

fn get() -> &'static Instruments {
    INSTRUMENTS.get_or_init(|| instruments(&opentelemetry::global::meter("retry_runtime")))
}

/// A failed attempt, retried after `delay` (paid for from `budget`, if any).
pub(crate) fn retrying(function: &'static str, delay: Duration, budget: Option<&RetryBudget>) {
    let instruments = get();
    let attributes = [KeyValue::new("retry.function", function)];
    instruments.attempts.add(1, &attributes);
    instruments.backoff.record(delay.as_secs_f64(), &attributes);
    if let Some(budget) = budget {
        instruments.budget_balance.record(budget.tokens(), &attributes);
    }
}

/// The name metrics give a breaker's state.
fn state_name(state: CircuitState) -> &'static str {
    match state {
        CircuitState::Closed => "closed",
        CircuitState::Open => "open",
        CircuitState::HalfOpen => "half_open",
    }
}

/// The breaker `breaker` entered `state`.
pub(crate) fn circuit_changed(breaker: &'static str, state: CircuitState) {
    let instruments = get();
    let name = KeyValue::new("retry.breaker", breaker);
    for each in [CircuitState::Closed, CircuitState::Open, CircuitState::HalfOpen] {
        let value = u64::from(each == state);
        instruments
            .breaker_state
            .record(value, &[name.clone(), KeyValue::new("retry.circuit.state", state_name(each))]);
    }
    instruments.breaker_transitions.add(1, &[name, KeyValue::new("retry.circuit.state", state_name(state))]);
}

/// The breaker `breaker` refused an attempt (`admitted` is `None`), or an
/// attempt it admitted in state `admitted` ended, `failed` or not.
pub(crate) fn circuit_call(breaker: &'static str, admitted: Option<CircuitState>, failed: bool) {
    let (state, result) = match admitted {
        None => (CircuitState::Open, "refused"),
        Some(state) => (state, if failed { "failure" } else { "success" }),
    };
    get().breaker_calls.add(
        1,
        &[
            KeyValue::new("retry.breaker", breaker),
            KeyValue::new("retry.circuit.state", state_name(state)),
            KeyValue::new("retry.result", result),
        ],
    );
}

/// The call ended: `outcome` is `success` or a failure's `Outcome::name`;
/// `unrecorded` attempts of it were not counted by [`retrying`] (the last
/// one, or none for a call refused before an attempt or dropped while
/// sleeping).
pub(crate) fn ended(function: &'static str, outcome: &'static str, unrecorded: u32, budget: Option<&RetryBudget>) {
    let instruments = get();
    let function = KeyValue::new("retry.function", function);
    if let (Some(budget), "budget_refused") = (budget, outcome) {
        let attributes = std::slice::from_ref(&function);
        instruments.budget_refusals.add(1, attributes);
        instruments.budget_balance.record(budget.tokens(), attributes);
    }
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
