//! The herd simulation reproduces the published findings of the AWS study
//! "Exponential Backoff and Jitter" (2015), and jitter breaks up the
//! synchronised retries after an outage. A small grid, so it runs in seconds
//! in the debug profile.
#![cfg(feature = "sim")]

use std::time::Duration;

use retry_runtime::sim::{Mean, Outage, Strategy, contention_mean};

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
    let full_calls = outage.run(&jittered[0], 7).calls;
    assert!(outage.run(&exponential, 7).calls > 3 * full_calls);
    for strategy in jittered {
        let run = outage.run(&strategy, 7);
        assert!(run.peak_after_recovery <= m / 10, "{}: peak {} of {m}", strategy.name, run.peak_after_recovery);
        assert!(run.peak_after_recovery >= outage.admitted_per_bucket, "{}: the server is kept busy", strategy.name);
        assert!(run.completion < Duration::from_secs(10), "{}: {:?}", strategy.name, run.completion);
    }
}
