//! Defects of the retry loop found from outside, one test each, named after
//! what broke.

use std::cell::Cell;
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{LazyLock, Mutex, OnceLock};
use std::time::{Duration, Instant};

use retry_runtime::testing::SleepRecorder;
use retry_runtime::{
    CircuitBreaker, CircuitOpen, RetryBudget, RetryEvent, Stats, TimedOut, Transient, Verdict, is_transient, retry,
};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum ApiError {
    #[error("503 service unavailable (attempt {0})")]
    Unavailable(u32),
    #[error("404 not found")]
    NotFound,
    #[error(transparent)]
    TimedOut(#[from] TimedOut),
    #[error(transparent)]
    CircuitOpen(#[from] CircuitOpen),
}

impl Transient for ApiError {
    fn is_transient(&self) -> bool {
        matches!(self, ApiError::Unavailable(_) | ApiError::TimedOut(_))
    }
}

// ------------------------------------------------- a passed deadline

static PUSHBACK_STARTS: AtomicU32 = AtomicU32::new(0);

/// The server says "retry now" (gRPC pushback 0, `Retry-After: 0`).
fn retry_at_once(_: &ApiError) -> Verdict {
    Verdict::RetryAfter(Duration::ZERO)
}

#[retry(max = 5, deadline = "1s", on = retry_at_once)]
async fn slow_with_zero_pushback() -> Result<(), ApiError> {
    let attempt = PUSHBACK_STARTS.fetch_add(1, Relaxed) + 1;
    tokio::time::sleep(Duration::from_millis(600)).await;
    Err(ApiError::Unavailable(attempt))
}

/// Was: 5 attempts and 3 s, the zero delay never exceeding the time left.
#[tokio::test(start_paused = true)]
async fn a_passed_deadline_stops_a_zero_delay() {
    let start = tokio::time::Instant::now();
    assert_eq!(slow_with_zero_pushback().await, Err(ApiError::Unavailable(2)));
    assert_eq!(PUSHBACK_STARTS.load(Relaxed), 2);
    assert_eq!(start.elapsed(), Duration::from_millis(1200));
}

static SYNC_STARTS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 50, base = "0ms", deadline = "60ms")]
fn slow_sync() -> Result<(), ApiError> {
    let attempt = SYNC_STARTS.fetch_add(1, Relaxed) + 1;
    std::thread::sleep(Duration::from_millis(40));
    Err(ApiError::Unavailable(attempt))
}

/// The same in sync code, on the real clock: two 40 ms attempts use up a
/// 60 ms deadline, and a zero delay does not start a third.
#[test]
fn a_passed_deadline_stops_a_zero_delay_in_sync_code() {
    let start = Instant::now();
    assert_eq!(slow_sync(), Err(ApiError::Unavailable(2)));
    assert_eq!(SYNC_STARTS.load(Relaxed), 2);
    assert!(start.elapsed() < Duration::from_millis(120), "{:?}", start.elapsed());
}

static HANGING_STARTS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 10, base = "0ms", timeout = "100ms", deadline = "250ms")]
async fn hangs() -> Result<(), ApiError> {
    HANGING_STARTS.fetch_add(1, Relaxed);
    std::future::pending().await
}

/// Was: 10 attempts, 7 of them started at t = 250 ms with a zero time limit
/// (each running the body up to its first await).
#[tokio::test(start_paused = true)]
async fn no_attempt_starts_with_a_zero_time_limit() {
    let start = tokio::time::Instant::now();
    let result = hangs().await;
    // 0–100 ms, 100–200 ms, then 200–250 ms cut short by the deadline.
    assert_eq!(result, Err(ApiError::TimedOut(TimedOut::after(Duration::from_millis(50)))));
    assert_eq!(HANGING_STARTS.load(Relaxed), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(250));
}

// ------------------------------------------------- the body, once

#[retry(max = 3, base = "0ms")]
fn counts_its_runs_in_a_static() -> Result<u32, u32> {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let run = RUNS.fetch_add(1, Relaxed) + 1;
    if run < 3 { Err(run) } else { Ok(run) }
}

#[retry(max = 3, base = "0ms")]
fn counts_its_runs_in_a_thread_local() -> Result<u32, u32> {
    thread_local!(static RUNS: Cell<u32> = const { Cell::new(0) });
    let run = RUNS.get() + 1;
    RUNS.set(run);
    if run < 3 { Err(run) } else { Ok(run) }
}

#[retry(max = 2, base = "0ms")]
fn caches_in_a_once_lock(first_runs: &AtomicU32) -> Result<u32, u32> {
    static CACHE: OnceLock<u32> = OnceLock::new();
    let value = *CACHE.get_or_init(|| first_runs.fetch_add(1, Relaxed) + 41);
    if first_runs.fetch_add(1, Relaxed) == 1 { Err(value) } else { Ok(value) }
}

#[retry(max = 2, base = "0ms")]
fn implements_a_trait_in_its_body() -> Result<String, String> {
    struct Local;
    impl std::fmt::Display for Local {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("local")
        }
    }
    Ok(Local.to_string())
}

/// Was: the body was written twice, so attempt 1 used one `static`,
/// `thread_local!` or cache and later attempts another (`Err(2)` where a
/// hand-written loop returns `Ok(3)`), and a trait `impl` in the body did
/// not compile (E0119).
#[test]
fn items_declared_in_the_body_exist_once() {
    assert_eq!(counts_its_runs_in_a_static(), Ok(3));
    assert_eq!(counts_its_runs_in_a_thread_local(), Ok(3));
    let first_runs = AtomicU32::new(0);
    assert_eq!(caches_in_a_once_lock(&first_runs), Ok(41));
    assert_eq!(first_runs.load(Relaxed), 3, "one initialisation, two attempts");
    assert_eq!(implements_a_trait_in_its_body().as_deref(), Ok("local"));
}

// ------------------------------------------------- panics and races

static PANICKING_CLASSIFIER_STATS: Stats = Stats::new();

fn panicking_classifier(_: &String) -> bool {
    panic!("a bug in the classifier")
}

#[retry(max = 3, base = "0ms", on = panicking_classifier, stats = PANICKING_CLASSIFIER_STATS)]
fn classified_by_a_panicking_classifier() -> Result<(), String> {
    Err("down".to_owned())
}

/// Was: the attempts histogram counted the failed attempt, then counted it
/// again as in flight.
#[test]
fn a_panicking_classifier_counts_its_attempt_once() {
    assert!(catch_unwind(classified_by_a_panicking_classifier).is_err());
    let stats = PANICKING_CLASSIFIER_STATS.snapshot();
    assert_eq!((stats.calls, stats.cancelled, stats.attempts), (1, 1, 1));
    assert_eq!(stats.attempts_histogram, [1, 0, 0, 0, 0]);
}

static HOOKED_BUDGET: RetryBudget = RetryBudget::new().capacity(10).ratio(0.0).min_retries_per_second(0);
static HOOKED_STATS: Stats = Stats::new();

fn panicking_hook(_: &RetryEvent<'_, String>) {
    panic!("a bug in the hook")
}

#[retry(max = 3, base = "0ms", budget = HOOKED_BUDGET, on_retry = panicking_hook, stats = HOOKED_STATS)]
fn hooked_by_a_panicking_hook() -> Result<(), String> {
    Err("down".to_owned())
}

/// Was: the retry's token was spent although the retry was never made.
#[test]
fn a_panicking_hook_spends_no_budget_token() {
    let before = HOOKED_BUDGET.tokens();
    assert!(catch_unwind(hooked_by_a_panicking_hook).is_err());
    assert!((HOOKED_BUDGET.tokens() - before).abs() < 1e-9, "{before} then {}", HOOKED_BUDGET.tokens());
    let stats = HOOKED_STATS.snapshot();
    assert_eq!((stats.calls, stats.cancelled, stats.attempts, stats.retries), (1, 1, 1, 0));
}

static SHARED_BREAKER: CircuitBreaker = CircuitBreaker::new().failure_threshold(3).cool_down(Duration::from_secs(60));
static SHARED_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Other callers of the dependency fail through the shared breaker while
/// this call sleeps, and open it.
fn others_open_the_breaker(_: &RetryEvent<'_, ApiError>) {
    while SHARED_BREAKER.state() != retry_runtime::CircuitState::Open {
        if let Ok(permit) = SHARED_BREAKER.try_acquire() {
            let _ = permit.failure();
        }
    }
}

#[retry(max = 3, base = "1ms", jitter = "none", breaker = SHARED_BREAKER, on = is_transient, on_retry = others_open_the_breaker)]
fn through_a_shared_breaker() -> Result<(), ApiError> {
    Err(ApiError::Unavailable(SHARED_ATTEMPTS.fetch_add(1, Relaxed) + 1))
}

/// Was: a call whose body had run could end with `E::from(CircuitOpen)`
/// when another caller opened the breaker during its sleep, after paying
/// for the sleep. The retry now holds its permit from the decision on.
#[test]
fn a_breaker_opened_during_the_sleep_returns_the_last_real_error() {
    assert_eq!(through_a_shared_breaker(), Err(ApiError::Unavailable(2)));
    assert_eq!(SHARED_ATTEMPTS.load(Relaxed), 2, "the retry decided before the breaker opened is made");
}

// ------------------------------------------------- the last verdict

static LAST_VERDICT_STATS: Stats = Stats::new();
static LAST_VERDICT_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 2, base = "0ms", on = is_transient, stats = LAST_VERDICT_STATS)]
fn transient_then_permanent() -> Result<(), ApiError> {
    if LAST_VERDICT_ATTEMPTS.fetch_add(1, Relaxed) == 0 {
        Err(ApiError::Unavailable(1))
    } else {
        Err(ApiError::NotFound)
    }
}

/// Was: the classifier was skipped on the last attempt, so a permanent
/// error there counted as a failure after exhausting the attempts.
#[test]
fn the_classifier_is_asked_about_the_last_attempt_too() {
    assert_eq!(transient_then_permanent(), Err(ApiError::NotFound));
    let stats = LAST_VERDICT_STATS.snapshot();
    assert_eq!((stats.failures, stats.non_retryable_failures, stats.attempts), (0, 1, 2));
}

// ------------------------------------------------- names

struct Orders;
struct Invoices;

impl Orders {
    #[retry(max = 2, base = "0ms")]
    fn load(&self) -> Result<u32, String> {
        Ok(1)
    }
}

impl Invoices {
    #[retry(max = 2, base = "0ms")]
    fn load(&self) -> Result<u32, String> {
        Ok(2)
    }
}

static SEEN_NAMES: LazyLock<Mutex<Vec<&'static str>>> = LazyLock::new(Mutex::default);

fn remember_name(event: &RetryEvent<'_, String>) {
    SEEN_NAMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(event.function());
}

trait Store {
    fn save(&self, fail_first: &Cell<bool>) -> Result<(), String>;
}

impl Store for Orders {
    #[retry(max = 2, base = "0ms", on_retry = remember_name)]
    fn save(&self, fail_first: &Cell<bool>) -> Result<(), String> {
        if fail_first.replace(false) { Err("busy".to_owned()) } else { Ok(()) }
    }
}

/// Was: `impl A { fn load }` and `impl B { fn load }` in one module shared
/// one name, so `stats::snapshot()` listed two `…::load` and `get` found
/// only the first.
#[test]
fn two_methods_of_one_name_are_two_functions() {
    let _sleeps = SleepRecorder::install();
    assert_eq!((Orders.load(), Invoices.load()), (Ok(1), Ok(2)));
    let all = retry_runtime::stats::snapshot();
    let orders = all.get("engine_regressions::Orders::load").map(|s| s.calls);
    let invoices = all.get("engine_regressions::Invoices::load").map(|s| s.calls);
    assert_eq!((orders, invoices), (Some(1), Some(1)), "{all}");

    assert_eq!(Orders.save(&Cell::new(true)), Ok(()));
    let seen = SEEN_NAMES.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    assert_eq!(seen, ["<engine_regressions::Orders as engine_regressions::Store>::save"]);
}
