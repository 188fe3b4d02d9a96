//! `retry_runtime::stats`: what each call records, exactly, under concurrency too.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use retry_runtime::testing::SleepRecorder;
use retry_runtime::{Stats, Verdict, retry, stats};

fn own(name: &str) -> stats::FunctionStats {
    let full = format!("stats::{name}");
    stats::snapshot().get(&full).cloned().unwrap_or_else(|| panic!("`{full}` is not registered"))
}

/// Fails `failures` times, then succeeds; `permanent` errors are not retried.
fn scripted(failures: &Cell<u32>) -> Result<u32, &'static str> {
    let left = failures.get();
    if left == 0 {
        Ok(1)
    } else {
        failures.set(left - 1);
        Err(if left == 99 { "permanent" } else { "transient" })
    }
}

fn is_transient(error: &&'static str) -> Verdict {
    if *error == "transient" { Verdict::Retry } else { Verdict::Stop }
}

#[retry(max = 4, base = "10ms", jitter = "none", on = is_transient)]
fn every_outcome(failures: &Cell<u32>) -> Result<u32, &'static str> {
    scripted(failures)
}

#[test]
fn each_outcome_is_counted_once_with_its_attempts_retries_and_sleeps() {
    let before = SystemTime::now() - Duration::from_secs(1);
    let sleeps = SleepRecorder::install();
    assert!(every_outcome(&Cell::new(0)).is_ok()); // first try: 1 attempt
    assert!(every_outcome(&Cell::new(0)).is_ok()); // first try: 1 attempt
    assert!(every_outcome(&Cell::new(2)).is_ok()); // after retries: 3 attempts, 10 + 20 ms
    assert!(every_outcome(&Cell::new(10)).is_err()); // exhausted: 4 attempts, 10 + 20 + 40 ms
    assert!(every_outcome(&Cell::new(99)).is_err()); // permanent: 1 attempt
    assert_eq!(sleeps.delays().len(), 5);

    let s = own("every_outcome");
    assert_eq!(s.calls, 5);
    assert_eq!(s.attempts, 1 + 1 + 3 + 4 + 1);
    assert_eq!((s.first_try_successes, s.retried_successes), (2, 1));
    assert_eq!((s.failures, s.non_retryable_failures), (1, 1));
    assert_eq!(s.retries, 2 + 3);
    assert_eq!(s.slept, Duration::from_millis(10 + 20 + 10 + 20 + 40));
    assert_eq!(s.attempts_histogram, [3, 0, 1, 1, 0]);
    assert_eq!(s.successes(), 3);
    assert_eq!(s.success_rate(), Some(0.6));
    assert_eq!(s.retries_per_call(), Some(1.0));
    assert!(s.last_success.is_some_and(|t| t >= before));
    assert!(s.last_failure.is_some_and(|t| t >= before));
}

#[retry(max = 6, base = "1ms")]
fn five_plus(failures: &Cell<u32>) -> Result<u32, &'static str> {
    scripted(failures)
}

#[test]
fn five_or_more_attempts_share_the_last_bucket() {
    let _sleeps = SleepRecorder::install();
    assert!(five_plus(&Cell::new(4)).is_ok()); // 5 attempts
    assert!(five_plus(&Cell::new(9)).is_err()); // 6 attempts
    assert!(five_plus(&Cell::new(1)).is_ok()); // 2 attempts
    assert_eq!(own("five_plus").attempts_histogram, [0, 1, 0, 0, 2]);
}

#[retry(max = 3, base = "1ms", stats = false)]
fn unrecorded() -> Result<(), ()> {
    Ok(())
}

#[test]
fn stats_false_records_nothing_and_registers_nothing() {
    assert_eq!(unrecorded(), Ok(()));
    assert!(stats::snapshot().get("stats::unrecorded").is_none());
}

static BILLING: Stats = Stats::new();

#[retry(max = 2, base = "1ms", stats = BILLING)]
fn charge(failures: &Cell<u32>) -> Result<u32, &'static str> {
    scripted(failures)
}

#[retry(max = 2, base = "1ms", stats = BILLING)]
fn refund(failures: &Cell<u32>) -> Result<u32, &'static str> {
    scripted(failures)
}

#[test]
fn functions_naming_one_static_share_it_under_the_static_name() {
    let _sleeps = SleepRecorder::install();
    assert!(charge(&Cell::new(0)).is_ok());
    assert!(refund(&Cell::new(1)).is_ok());
    assert!(refund(&Cell::new(5)).is_err());
    let billing = BILLING.snapshot();
    assert_eq!(billing.name, "stats::BILLING");
    assert_eq!((billing.calls, billing.attempts, billing.retries), (3, 5, 2));
    assert_eq!(stats::snapshot().get("stats::BILLING"), Some(&billing));
    // Neither function has statistics of its own.
    assert!(stats::snapshot().get("stats::charge").is_none());
}

mod downstream {
    pub(crate) static SEARCH: retry_runtime::Stats = retry_runtime::Stats::new();
}

#[retry(max = 2, base = "1ms", stats = downstream::SEARCH)]
fn search() -> Result<(), ()> {
    Ok(())
}

#[test]
fn a_static_named_by_a_path_is_registered_under_that_path_unless_named() {
    assert_eq!(search(), Ok(()));
    assert_eq!(downstream::SEARCH.name(), "downstream::SEARCH");
    assert_eq!(downstream::SEARCH.snapshot().calls, 1);
}

#[retry(max = 3, base = "1ms")]
fn first_try_only() -> Result<(), ()> {
    Ok(())
}

#[test]
fn a_first_try_success_is_dated_by_the_next_snapshot() {
    assert_eq!(first_try_only(), Ok(()));
    let before = SystemTime::now();
    let first = own("first_try_only").last_success;
    assert!(first.is_some_and(|t| t + Duration::from_millis(1) >= before));
    // No new success: the date stays.
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(own("first_try_only").last_success, first);
}

static HAMMERED: AtomicU64 = AtomicU64::new(0);

/// Fails on every attempt whose global number is divisible by 3.
#[retry(max = 3, base = "1ms")]
fn hammered() -> Result<(), ()> {
    if HAMMERED.fetch_add(1, Ordering::Relaxed).is_multiple_of(3) { Err(()) } else { Ok(()) }
}

#[test]
fn counts_are_exact_when_many_threads_call_one_function() {
    const THREADS: u64 = 8;
    const CALLS: u64 = 20_000;
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                let _sleeps = SleepRecorder::install();
                for _ in 0..CALLS {
                    let _ = hammered();
                }
            });
        }
    });
    let s = own("hammered");
    let attempts = HAMMERED.load(Ordering::Relaxed);
    assert_eq!(s.calls, THREADS * CALLS);
    assert_eq!(s.attempts, attempts);
    assert_eq!(s.retries, attempts - THREADS * CALLS);
    assert_eq!(s.successes() + s.failures, THREADS * CALLS);
    assert_eq!(s.attempts_histogram.iter().sum::<u64>(), THREADS * CALLS);
    let by_histogram: u64 = s.attempts_histogram.iter().zip(1..).map(|(n, a)| n * a).sum();
    assert_eq!(by_histogram, attempts);
    assert!(s.retries > 0 && s.first_try_successes > 0);
}

#[retry(max = 3, base = "50ms", jitter = "none")]
async fn async_flaky(failures: &Cell<u32>) -> Result<u32, &'static str> {
    scripted(failures)
}

#[tokio::test(start_paused = true)]
async fn async_functions_record_too() {
    assert!(async_flaky(&Cell::new(1)).await.is_ok());
    let s = own("async_flaky");
    assert_eq!((s.calls, s.attempts, s.retried_successes), (1, 2, 1));
    assert_eq!(s.slept, Duration::from_millis(50));
}

#[retry(max = 2, base = "1ms")]
fn printed(failures: &Cell<u32>) -> Result<u32, &'static str> {
    scripted(failures)
}

#[test]
fn the_snapshot_prints_as_a_table() {
    let _sleeps = SleepRecorder::install();
    let _ = printed(&Cell::new(1));
    let table = stats::snapshot().to_string();
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("function") && header.contains("retries") && header.contains("1/2/3/4/5+"));
    let row = table.lines().find(|l| l.starts_with("stats::printed ")).unwrap_or_default();
    assert!(row.contains('%'), "{table}");
    // Every line has the same width: the columns line up.
    let widths: Vec<usize> = table.lines().map(|l| l.chars().count()).collect();
    assert!(widths.windows(2).all(|w| w[0] == w[1]), "{table}");
}

#[retry(max = 2, base = "1ms")]
fn serialized() -> Result<(), ()> {
    Ok(())
}

#[test]
fn the_snapshot_serializes_with_serde() -> Result<(), serde_json::Error> {
    let _ = serialized();
    let all = stats::snapshot();
    let json = serde_json::to_string(&all)?;
    assert!(json.contains("\"first_try_successes\""));
    let back: stats::Snapshot = serde_json::from_str(&json)?;
    assert_eq!(back.get("stats::serialized").map(|f| f.calls), Some(1));
    Ok(())
}
