//! Each jitter strategy draws from the distribution it documents: bounds
//! always, and the mean within a tolerance wide enough never to flake (the
//! samples are seeded, so each run sees the same draws).

use std::time::Duration;

use retry_runtime::{Backoff, Jitter, RetryPolicy};

const SAMPLES: u32 = 20_000;

/// The delay before retry 3 (nominal 400 ms under the defaults) for `SAMPLES` seeds.
fn third_delays(jitter: Jitter, cap: Duration) -> Vec<f64> {
    let policy = RetryPolicy::new().max_attempts(4).base(Duration::from_millis(100)).cap(cap).jitter(jitter);
    (0..SAMPLES)
        .map(|seed| {
            let delay = policy.schedule_seeded(u64::from(seed)).nth(2).unwrap_or_default();
            delay.as_secs_f64() * 1000.0
        })
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / f64::from(u32::try_from(values.len()).unwrap_or(u32::MAX))
}

fn assert_between(values: &[f64], low: f64, high: f64) {
    for v in values {
        assert!((low..=high).contains(v), "{v} outside [{low}, {high}]");
    }
}

/// Within 2% of the expected mean: the standard error of 20,000 uniform
/// samples is about 0.2% of the range, so this is ten standard errors wide.
fn assert_mean(values: &[f64], expected: f64) {
    let m = mean(values);
    assert!((m - expected).abs() <= expected * 0.02, "mean {m}, expected {expected}");
}

const NO_CAP: Duration = Duration::from_secs(3600);

#[test]
fn none_is_the_exact_curve() {
    let delays = third_delays(Jitter::None, NO_CAP);
    assert!(delays.iter().all(|d| (d - 400.0).abs() < 1e-9));
}

#[test]
fn full_is_uniform_from_zero_to_the_delay() {
    let delays = third_delays(Jitter::Full, NO_CAP);
    assert_between(&delays, 0.0, 400.0);
    assert_mean(&delays, 200.0);
    // Spread over the whole range, not bunched: both outer tenths are used.
    assert!(delays.iter().any(|d| *d < 40.0) && delays.iter().any(|d| *d > 360.0));
}

#[test]
fn equal_is_half_fixed_half_random() {
    let delays = third_delays(Jitter::Equal, NO_CAP);
    assert_between(&delays, 200.0, 400.0);
    assert_mean(&delays, 300.0);
}

#[test]
fn proportional_spreads_around_the_delay() {
    let delays = third_delays(Jitter::Proportional(0.25), NO_CAP);
    assert_between(&delays, 300.0, 500.0);
    assert_mean(&delays, 400.0);
}

#[test]
fn jitter_applies_to_the_capped_delay_and_does_not_collapse_at_the_cap() {
    // Nominal 400 ms capped at 250 ms: full jitter is uniform over [0, 250].
    let delays = third_delays(Jitter::Full, Duration::from_millis(250));
    assert_between(&delays, 0.0, 250.0);
    assert_mean(&delays, 125.0);
    // Proportional above the cap is cut at the cap, below it stays spread.
    let delays = third_delays(Jitter::Proportional(0.5), Duration::from_millis(250));
    assert_between(&delays, 125.0, 250.0);
    assert!(delays.iter().filter(|d| **d < 250.0).count() > (SAMPLES as usize) / 3);
}

#[test]
fn decorrelated_follows_the_aws_recurrence() {
    // sleep = min(cap, uniform[base, prev·3]), prev starting at base: the
    // first delay is uniform over [base, 3·base], mean 2·base.
    let policy = RetryPolicy::new()
        .max_attempts(30)
        .base(Duration::from_millis(10))
        .cap(Duration::from_secs(1))
        .jitter(Jitter::Decorrelated);
    let firsts: Vec<f64> = (0..SAMPLES)
        .map(|seed| policy.schedule_seeded(u64::from(seed)).next().unwrap_or_default().as_secs_f64() * 1000.0)
        .collect();
    assert_between(&firsts, 10.0, 30.0);
    assert_mean(&firsts, 20.0);

    for seed in 0..500 {
        let delays: Vec<Duration> = policy.schedule_seeded(seed).collect();
        let mut previous = Duration::from_millis(10);
        for delay in delays {
            assert!(delay >= Duration::from_millis(10), "below base: {delay:?}");
            assert!(delay <= (previous * 3).min(Duration::from_secs(1)), "{delay:?} after {previous:?}");
            previous = delay;
        }
    }
}

#[test]
fn decorrelated_ignores_backoff_and_multiplier() {
    let base = RetryPolicy::new().max_attempts(10).jitter(Jitter::Decorrelated);
    let other = base.backoff(Backoff::Linear).multiplier(7.0);
    assert_eq!(base.schedule_seeded(5).collect::<Vec<_>>(), other.schedule_seeded(5).collect::<Vec<_>>());
}

#[test]
fn thread_schedule_draws_differ_between_calls() {
    let policy = RetryPolicy::new().max_attempts(12);
    let a: Vec<_> = policy.schedule().collect();
    let b: Vec<_> = policy.schedule().collect();
    assert_ne!(a, b, "full jitter from the thread generator should not repeat 11 draws");
}
