//! The herd simulation reproduces the published findings of the AWS study
//! "Exponential Backoff and Jitter" (2015), jitter breaks up the
//! synchronised retries after an outage, and a shared retry budget bounds
//! them. A small grid, so it runs in seconds in the debug profile.

use std::time::Duration;

use retry_runtime::RetryBudget;
use retry_sim::{Mean, Outage, Strategy, contention_mean};

const CLIENTS: usize = 50;
const TRIALS: u32 = 20;

struct Study {
    none: Mean,
    exponential: Mean,
    full: Mean,
    equal: Mean,
    decorrelated: Mean,
}

fn study(seed: u64) -> Study {
    let [none, exponential, full, equal, decorrelated, _] =
        Strategy::study().map(|strategy| contention_mean(&strategy, CLIENTS, TRIALS, seed));
    Study { none, exponential, full, equal, decorrelated }
}

#[test]
fn contention_reproduces_the_studys_orderings() {
    for seed in [1, 2] {
        let Study { none, exponential, full, equal, decorrelated } = study(seed);
        // Exponential without jitter: far more work, far longer.
        assert!(exponential.calls > 1.5 * full.calls, "{exponential:?} vs full {full:?}");
        assert!(exponential.completion_ms > 4.0 * full.completion_ms, "{exponential:?} vs full {full:?}");
        // Full jitter: the least work of the study's strategies.
        for other in [none, exponential, equal, decorrelated] {
            assert!(full.calls < other.calls, "full {full:?} vs {other:?}");
        }
        // Equal: slightly more work than full, and much more time.
        assert!(equal.calls < 1.25 * full.calls, "equal {equal:?} vs full {full:?}");
        assert!(equal.completion_ms > 1.2 * full.completion_ms, "equal {equal:?} vs full {full:?}");
        // Decorrelated: a bit more work than full, a bit less time.
        assert!(decorrelated.calls < 1.5 * full.calls, "decorrelated {decorrelated:?} vs full {full:?}");
        assert!(decorrelated.completion_ms < full.completion_ms, "decorrelated {decorrelated:?} vs full {full:?}");
        assert!(
            decorrelated.completion_ms > 0.5 * full.completion_ms,
            "decorrelated {decorrelated:?} vs full {full:?}"
        );
    }
}

#[test]
fn after_an_outage_only_jitter_spreads_the_retries() {
    let outage = Outage {
        clients: 1000,
        outage: Duration::from_secs(1),
        admitted_per_bucket: 10,
        round_trip: Duration::from_millis(20),
    };
    let m = u32::try_from(outage.clients).unwrap_or(u32::MAX);
    let [none, exponential, jittered @ ..] = Strategy::study();
    for strategy in [none, exponential] {
        let run = outage.run(&strategy, 7);
        assert_eq!(run.peak_after_recovery, m, "{}: every client retries in the same 10 ms", strategy.name);
    }
    let full_attempts = outage.run(&jittered[0], 7).attempts;
    assert!(outage.run(&exponential, 7).attempts > 3 * full_attempts);
    for strategy in jittered {
        let run = outage.run(&strategy, 7);
        assert!(run.peak_after_recovery <= m / 10, "{}: peak {} of {m}", strategy.name, run.peak_after_recovery);
        assert!(run.peak_after_recovery >= outage.admitted_per_bucket, "{}: the server is kept busy", strategy.name);
        assert!(run.completion < Duration::from_secs(10), "{}: {:?}", strategy.name, run.completion);
    }
}

#[test]
fn a_shared_budget_bounds_the_attempts_of_a_long_outage() {
    // The budget's settings, in thousandths of a token where fractional.
    const CAPACITY: u64 = 100;
    const RATIO_MILLI: u64 = 100;
    const FLOOR: u64 = 10;
    let outage = Outage {
        clients: 1000,
        outage: Duration::from_secs(10),
        admitted_per_bucket: 10,
        round_trip: Duration::from_millis(20),
    };
    let clients = u64::try_from(outage.clients).unwrap_or(u64::MAX);
    for strategy in Strategy::study() {
        let unbudgeted = outage.run(&strategy, 7);
        let budget = RetryBudget::new().capacity(100).ratio(0.1).min_retries_per_second(10);
        let run = outage.run_with_budget(&strategy, 7, &budget);
        let name = strategy.name;

        // The bound `RetryBudget` documents, in thousandths of an attempt:
        // N·(1 + ratio) + capacity/2 + floor·(⌈T⌉ + 1), with T the run's span.
        let seconds = run.completion.as_secs() + u64::from(run.completion.subsec_nanos() > 0);
        let bound = clients * (1000 + RATIO_MILLI) + CAPACITY * 1000 / 2 + FLOOR * (seconds + 1) * 1000;
        assert!(run.attempts * 1000 <= bound, "{name}: {} attempts, bound {bound}/1000", run.attempts);
        // And the bucket's share of it is spent, less what could not be: the
        // first call's deposit (the bucket was full) and under a token of change.
        let spendable = clients * 1000 + CAPACITY * 1000 / 2 + (clients - 1) * RATIO_MILLI;
        assert!(run.attempts * 1000 + 1000 > spendable, "{name}: {run:?}");

        // Without it, every client keeps retrying for the ten seconds.
        assert!(run.attempts * 10 < unbudgeted.attempts, "{name}: {} vs {}", run.attempts, unbudgeted.attempts);
        assert!(run.amplification() < 1.2 && unbudgeted.amplification() > 12.0, "{name}");

        // Every refused retry is a client that gave up: the rest succeeded.
        assert_eq!(run.gave_up, budget.refusals(), "{name}");
        assert!(run.gave_up > clients * 9 / 10, "{name}: {} gave up", run.gave_up);
        assert_eq!(unbudgeted.gave_up, 0, "{name}");
    }
}

#[test]
fn a_budgeted_run_is_as_reproducible_as_any_other() {
    let outage = Outage {
        clients: 300,
        outage: Duration::from_secs(2),
        admitted_per_bucket: 5,
        round_trip: Duration::from_millis(20),
    };
    let full = Strategy::study()[2];
    let generous = || RetryBudget::new().capacity(10_000).ratio(1.0);
    let first = outage.run_with_budget(&full, 3, &generous());
    let second = outage.run_with_budget(&full, 3, &generous());
    assert_eq!(first, second);
    // A budget sized for the herd lets many clients ride out the outage.
    assert!(first.gave_up < 200 && first.completion > outage.outage, "{first:?}");
    assert!(first.attempts <= 300 * 2 + 5_000 + 10 * (first.completion.as_secs() + 2), "{first:?}");
}
