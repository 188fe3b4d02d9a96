//! Backoff arithmetic never panics or overflows, and no delay exceeds the cap,
//! for any attempt number, duration and multiplier.

use std::time::Duration;

use proptest::prelude::*;
use retry_runtime::{Backoff, Jitter, RetryPolicy};

fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::MAX),
        (0u64..=u64::MAX, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..10_000_000_000).prop_map(Duration::from_nanos),
    ]
}

fn any_multiplier() -> impl Strategy<Value = f64> {
    prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::MAX), Just(1.0), -10.0f64..1e6]
}

fn any_backoff() -> impl Strategy<Value = Backoff> {
    prop_oneof![Just(Backoff::Exponential), Just(Backoff::Linear), Just(Backoff::Fixed)]
}

fn any_jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        Just(Jitter::Equal),
        Just(Jitter::Decorrelated),
        (-1.0f64..2.0).prop_map(Jitter::Proportional),
        Just(Jitter::Proportional(f64::NAN)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn nominal_delay_is_capped_for_every_input(
        retry in any::<u32>(),
        base in any_duration(),
        cap in any_duration(),
        multiplier in any_multiplier(),
        backoff in any_backoff(),
    ) {
        let delay = backoff.delay(retry, base, multiplier, cap);
        prop_assert!(delay <= cap);
        // With a cap at least base, the first retry waits exactly base.
        if cap >= base {
            prop_assert_eq!(backoff.delay(1, base, multiplier, cap), base);
        }
    }

    #[test]
    fn nominal_delay_never_shrinks_as_retries_grow(
        retry in 1u32..u32::MAX,
        base in any_duration(),
        cap in any_duration(),
        multiplier in 1.0f64..10.0,
        backoff in any_backoff(),
    ) {
        prop_assert!(backoff.delay(retry, base, multiplier, cap) <= backoff.delay(retry + 1, base, multiplier, cap));
    }

    #[test]
    fn every_scheduled_delay_is_at_most_cap(
        base in any_duration(),
        cap in any_duration(),
        multiplier in any_multiplier(),
        backoff in any_backoff(),
        jitter in any_jitter(),
        seed in any::<u64>(),
    ) {
        let policy = RetryPolicy::new()
            .max_attempts(u32::MAX)
            .base(base)
            .cap(cap)
            .multiplier(multiplier)
            .backoff(backoff)
            .jitter(jitter);
        for delay in policy.schedule_seeded(seed).take(80) {
            prop_assert!(delay <= cap, "{delay:?} > {cap:?}");
        }
    }

    #[test]
    fn schedules_are_reproducible_from_a_seed(seed in any::<u64>(), jitter in any_jitter()) {
        let policy = RetryPolicy::new().max_attempts(20).jitter(jitter);
        let first: Vec<_> = policy.schedule_seeded(seed).collect();
        let second: Vec<_> = policy.schedule_seeded(seed).collect();
        prop_assert_eq!(first.len(), 19);
        prop_assert_eq!(first, second);
    }

    #[test]
    fn validate_accepts_exactly_the_sensible_policies(
        max in 0u32..5,
        base in any_duration(),
        cap in any_duration(),
        multiplier in any_multiplier(),
        jitter in any_jitter(),
    ) {
        let policy = RetryPolicy::new().max_attempts(max).base(base).cap(cap).multiplier(multiplier).jitter(jitter);
        let factor_ok = match jitter {
            Jitter::Proportional(f) => f > 0.0 && f <= 1.0,
            _ => true,
        };
        let sensible = max >= 1 && multiplier >= 1.0 && multiplier.is_finite() && factor_ok && cap >= base;
        prop_assert_eq!(policy.validate().is_ok(), sensible);
    }
}

#[test]
fn extremes_do_not_panic() {
    for backoff in [Backoff::Exponential, Backoff::Linear, Backoff::Fixed] {
        for retry in [0, 1, 2, 63, 64, 1_000, u32::MAX - 1, u32::MAX] {
            assert_eq!(backoff.delay(retry, Duration::MAX, f64::MAX, Duration::MAX), Duration::MAX);
            assert!(backoff.delay(retry, Duration::from_nanos(1), 2.0, Duration::MAX) >= Duration::from_nanos(1));
        }
    }
}
