//! Real threads hammering one breaker, on a fake clock that they advance
//! themselves, checking what can be observed: the word's invariants at any
//! moment (from a watching thread), no trial slot leaked at quiescence, and
//! counters that agree with the state changes `record_at` reported.
//!
//! The operations each thread makes are deterministic (seeded xorshift);
//! their interleaving is not, which is the point.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use super::word::GENERATION_MASK;
use super::{CircuitBreaker, CircuitState};

const THREADS: u64 = 8;
const OPERATIONS_PER_THREAD: u32 = 20_000;
const FAILURE_THRESHOLD: u32 = 3;
const SUCCESS_THRESHOLD: u32 = 2;
const HALF_OPEN_TRIALS: u32 = 2;
/// In milliseconds of the fake clock.
const COOL_DOWN_MS: u64 = 5;
/// The fake dependency alternates outages and healthy periods this long.
const PERIOD_MS: u64 = 40;

/// Marsaglia's xorshift64: deterministic, and enough to mix operations.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Never zero, which would stay zero.
        XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// What one thread saw.
#[derive(Debug, Default)]
struct Tally {
    granted: u64,
    refused: u64,
    opened: u64,
    closed: u64,
    half_opened_by_a_report: u64,
}

fn hammer(breaker: &CircuitBreaker, clock_ms: &AtomicU64, seed: u64) -> Tally {
    let mut random = XorShift::new(seed);
    let mut tally = Tally::default();
    let now = || Duration::from_millis(clock_ms.load(Ordering::Relaxed));
    for _ in 0..OPERATIONS_PER_THREAD {
        if random.below(16) == 0 {
            clock_ms.fetch_add(1, Ordering::Relaxed);
        }
        let Ok(permit) = breaker.acquire_at(now()) else {
            tally.refused += 1;
            continue;
        };
        tally.granted += 1;
        if random.below(4) == 0 {
            thread::yield_now(); // a slower call, so that others overtake it
        }
        let in_outage = (clock_ms.load(Ordering::Relaxed) / PERIOD_MS) % 2 == 1;
        let failure_percent = if in_outage { 90 } else { 10 };
        let roll = random.below(100);
        if roll >= 95 {
            breaker.release(permit);
            continue;
        }
        match breaker.record_at(permit, roll < failure_percent, now()) {
            Some(CircuitState::Open) => tally.opened += 1,
            Some(CircuitState::Closed) => tally.closed += 1,
            Some(CircuitState::HalfOpen) => tally.half_opened_by_a_report += 1,
            None => {}
        }
    }
    tally
}

/// Checks the word's invariants until `done`; returns how many words it checked.
fn watch(breaker: &CircuitBreaker, done: &AtomicBool) -> u64 {
    let mut checked = 0;
    while !done.load(Ordering::Relaxed) {
        let word = breaker.load();
        match word.state() {
            CircuitState::Closed => assert!(word.failures() < u64::from(FAILURE_THRESHOLD), "{word:?}"),
            CircuitState::Open => {}
            CircuitState::HalfOpen => {
                assert!(word.successes() < u64::from(SUCCESS_THRESHOLD), "{word:?}");
                assert!(word.in_flight() <= u64::from(HALF_OPEN_TRIALS), "{word:?}");
            }
        }
        checked += 1;
    }
    checked
}

#[test]
fn threads_sharing_a_breaker_keep_its_invariants_and_counts() {
    let breaker = CircuitBreaker::new()
        .failure_threshold(FAILURE_THRESHOLD)
        .success_threshold(SUCCESS_THRESHOLD)
        .half_open_trials(HALF_OPEN_TRIALS)
        .cool_down(Duration::from_millis(COOL_DOWN_MS));
    let clock_ms = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    let (tallies, words_checked) = thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(&breaker, &done));
        let workers: Vec<_> = (0..THREADS)
            .map(|seed| {
                scope.spawn({
                    let (breaker, clock_ms) = (&breaker, &clock_ms);
                    move || hammer(breaker, clock_ms, seed)
                })
            })
            .collect();
        let tallies: Vec<Tally> = workers.into_iter().map(|worker| worker.join().unwrap()).collect();
        done.store(true, Ordering::Relaxed);
        (tallies, watcher.join().unwrap())
    });

    let total = |field: fn(&Tally) -> u64| tallies.iter().map(field).sum::<u64>();
    let (opened, closed) = (total(|t| t.opened), total(|t| t.closed));
    println!(
        "granted {}, refused {}, opened {opened}, closed {closed}, words checked {words_checked}",
        total(|t| t.granted),
        total(|t| t.refused)
    );
    assert_eq!(total(|t| t.granted) + total(|t| t.refused), THREADS * u64::from(OPERATIONS_PER_THREAD));
    assert_eq!(total(|t| t.half_opened_by_a_report), 0, "only an acquire half-opens");
    assert_eq!(breaker.times_opened(), opened, "each opening reported exactly once");
    assert_eq!(breaker.rejections(), total(|t| t.refused));
    // The run went through the whole cycle, several times. (How often it
    // closes depends on the interleaving: 15 to 59 closings in runs with
    // 12 copies of this test on 2 cores, and one run under a loaded
    // `cargo test` closed 10 times or fewer, so the bar is low.)
    assert!(opened > 10 && closed > 2, "opened {opened}, closed {closed}");

    // Quiescent: every permit was reported or released.
    let word = breaker.load();
    if word.state() == CircuitState::HalfOpen {
        assert_eq!(word.in_flight(), 0, "a trial slot leaked: {word:?}");
    }
    // Every state change moved the generation on by one. The breaker starts
    // Closed; each Open phase but a final one ended in half-open (the only
    // way out of Open), so the half-open entries are the openings, less one
    // if it ends Open.
    let half_opened = opened - u64::from(word.state() == CircuitState::Open);
    assert_eq!(word.generation(), (opened + half_opened + closed) & GENERATION_MASK, "{word:?}");
}
