//! Threads sharing one `CircuitBreaker` through its public API: whatever the
//! interleaving, the counters agree with the state changes the permits
//! reported, and no trial slot leaks (a leaked slot would leave the breaker
//! refusing every call for good).
//!
//! The cool-down is zero, so the real clock does not matter: an open breaker
//! lets the next call through as a trial at once, which keeps all three
//! states busy. The unit tests (`breaker::stress`) do the same on a fake
//! clock with a real cool-down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::thread;
use std::time::Duration;

use retry_runtime::{CircuitBreaker, CircuitState};

const THREADS: u64 = 8;
const OPERATIONS_PER_THREAD: u32 = 20_000;

static SHARED: CircuitBreaker =
    CircuitBreaker::new().failure_threshold(3).success_threshold(2).half_open_trials(2).cool_down(Duration::ZERO);

/// Marsaglia's xorshift64: the operations are the same on every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[derive(Debug, Default)]
struct Tally {
    refused: u64,
    opened: u64,
    closed: u64,
}

fn hammer(seed: u64) -> Tally {
    let mut random = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut tally = Tally::default();
    for _ in 0..OPERATIONS_PER_THREAD {
        let Ok(permit) = SHARED.try_acquire() else {
            tally.refused += 1;
            continue;
        };
        if next(&mut random).is_multiple_of(4) {
            thread::yield_now();
        }
        let change = match next(&mut random) % 10 {
            0..=2 => permit.failure(),
            3..=8 => permit.success(),
            // Cancelled: dropped unreported.
            _ => None,
        };
        match change {
            Some(CircuitState::Open) => tally.opened += 1,
            Some(CircuitState::Closed) => tally.closed += 1,
            Some(CircuitState::HalfOpen) => panic!("a report never half-opens the breaker"),
            None => {}
        }
    }
    tally
}

#[test]
fn shared_breaker_counts_agree_and_no_trial_slot_leaks() {
    assert_eq!(SHARED.validate(), Ok(()));
    let tallies: Vec<Tally> = thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS).map(|seed| scope.spawn(move || hammer(seed))).collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).collect()
    });
    let opened: u64 = tallies.iter().map(|tally| tally.opened).sum();
    let closed: u64 = tallies.iter().map(|tally| tally.closed).sum();
    let refused: u64 = tallies.iter().map(|tally| tally.refused).sum();
    println!("opened {opened}, closed {closed}, refused {refused}");

    assert_eq!(SHARED.times_opened(), opened);
    assert_eq!(SHARED.rejections(), refused);
    assert!(opened > 0 && closed > 0, "opened {opened}, closed {closed}");

    // Quiescent: whatever the state, two calls at once go ahead (with a zero
    // cool-down, Open lets them through as trials; half-open has both its
    // slots free unless one leaked), and their two successes close it.
    let first = SHARED.try_acquire().expect("no trial slot may leak");
    let second = SHARED.try_acquire().expect("no trial slot may leak");
    let _ = (first.success(), second.success());
    assert_eq!(SHARED.state(), CircuitState::Closed);
}
