//! The happy path costs nothing extra: no allocation and no random draw; the
//! retry path allocates nothing either.

use std::cell::Cell;
use std::time::Duration;

use retry_runtime::testing::SleepRecorder;
use retry_runtime::{RetryPolicy, Stats, retry};

/// Allocations made while `f` runs (counted by `allocation-counter`'s global allocator).
fn allocations_during<T>(f: impl FnOnce() -> T) -> (T, u64) {
    let mut value = None;
    let info = allocation_counter::measure(|| value = Some(f()));
    match value {
        Some(value) => (value, info.count_total),
        None => unreachable!("measure runs the closure"),
    }
}

/// Fails while `remaining` counts down to zero, then returns 7.
fn count_down(remaining: &Cell<u32>) -> Result<u32, u32> {
    let left = remaining.get();
    if left == 0 {
        Ok(7)
    } else {
        remaining.set(left - 1);
        Err(left)
    }
}

#[retry(max = 5, base = "1ms", jitter = "decorrelated", deadline = "10s")]
fn fails_first(remaining: &Cell<u32>) -> Result<u32, u32> {
    count_down(remaining)
}

#[test]
fn no_allocation_on_the_happy_path_or_the_retry_path() {
    // The counter does see allocations.
    assert_eq!(allocations_during(|| vec![1u8]).1, 1);
    // Warm up thread-locals (the jitter generator) outside the measurement.
    let _ = fails_first(&Cell::new(1));

    let (result, allocations) = allocations_during(|| fails_first(&Cell::new(0)));
    assert_eq!((result, allocations), (Ok(7), 0));

    let (result, allocations) = allocations_during(|| fails_first(&Cell::new(3)));
    assert_eq!((result, allocations), (Ok(7), 0), "three real (1 ms scale) sleeps, no allocation");

    let policy = RetryPolicy::new().max_attempts(3).base(Duration::ZERO);
    let (result, allocations) = allocations_during(|| policy.retry(|| fails_first(&Cell::new(2))).call());
    assert_eq!((result, allocations), (Ok(7), 0));
}

#[retry(max = 4, base = "10ms")]
fn succeeds() -> Result<(), ()> {
    Ok(())
}

#[retry(max = 4, base = "10ms")]
fn always_fails() -> Result<(), ()> {
    Err(())
}

#[test]
fn no_random_number_is_drawn_when_the_first_attempt_succeeds() {
    let expected = {
        let sleeps = SleepRecorder::install_seeded(42);
        let _ = always_fails();
        sleeps.delays()
    };
    let sleeps = SleepRecorder::install_seeded(42);
    for _ in 0..1_000 {
        assert_eq!(succeeds(), Ok(()));
    }
    let _ = always_fails();
    // Had any success drawn from the generator, these would differ.
    assert_eq!(sleeps.delays(), expected);
}

static RECORDED: Stats = Stats::new();

#[retry(max = 3, base = "1ms", stats = RECORDED)]
fn recorded(remaining: &Cell<u32>) -> Result<u32, u32> {
    count_down(remaining)
}

#[test]
fn recording_statistics_allocates_nothing_after_registration() {
    // The first call registers the statistics (a lock and a push, once).
    let _ = recorded(&Cell::new(1));
    let before = RECORDED.snapshot();

    let (result, allocations) = allocations_during(|| recorded(&Cell::new(0)));
    assert_eq!((result, allocations), (Ok(7), 0), "first-try success with statistics on");
    let (result, allocations) = allocations_during(|| recorded(&Cell::new(1)));
    assert_eq!((result, allocations), (Ok(7), 0), "success after a real 1 ms retry with statistics on");

    // The calls were really recorded.
    let after = RECORDED.snapshot();
    assert_eq!(after.calls - before.calls, 2);
    assert_eq!(after.first_try_successes - before.first_try_successes, 1);
    assert_eq!(after.retried_successes - before.retried_successes, 1);
}

/// Feature `tracing` is on in this crate: a subscriber whose level filter
/// disables the call and attempt spans (`INFO`) costs a first-try success
/// no allocation either.
#[test]
fn no_allocation_on_the_happy_path_when_a_level_filter_disables_the_spans() {
    let subscriber = tracing_subscriber::fmt().with_max_level(tracing::Level::WARN).with_writer(std::io::sink).finish();
    tracing::subscriber::with_default(subscriber, || {
        let _ = fails_first(&Cell::new(0));
        let (result, allocations) = allocations_during(|| fails_first(&Cell::new(0)));
        assert_eq!((result, allocations), (Ok(7), 0));
    });
}
