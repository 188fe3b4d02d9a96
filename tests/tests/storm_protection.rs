//! `budget`, `breaker`, `timeout` and cancellation of `#[retry]` functions,
//! in tokio's paused time where time matters.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;

use retry_runtime::testing::SleepRecorder;
use retry_runtime::{CircuitBreaker, CircuitOpen, CircuitState, RetryBudget, Stats, TimedOut, Transient, retry};
use tokio::time::Instant;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum ApiError {
    #[error("503 service unavailable (call {0})")]
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

use retry_runtime::is_transient;

// ---------------------------------------------------------------- budget

static DOWN_BUDGET: RetryBudget = RetryBudget::new().capacity(10).ratio(0.1).min_retries_per_second(0);
static DOWN_STATS: Stats = Stats::new();
static DOWN_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 5, base = "10ms", jitter = "none", budget = DOWN_BUDGET, stats = DOWN_STATS)]
fn call_dead_dependency() -> Result<(), ApiError> {
    Err(ApiError::Unavailable(DOWN_CALLS.fetch_add(1, Relaxed) + 1))
}

#[test]
fn a_budget_bounds_the_attempts_against_a_dead_dependency() {
    let sleeps = SleepRecorder::install();
    let calls = 200;
    for _ in 0..calls {
        assert!(matches!(call_dead_dependency(), Err(ApiError::Unavailable(_))));
    }
    let attempts = DOWN_CALLS.load(Relaxed);
    // N·(1 + ratio) + capacity/2: every call earns a tenth of a retry, and
    // the bucket starts with half its capacity above the refusal line.
    let bound = calls * 11 / 10 + 5;
    assert!(attempts <= bound, "{attempts} attempts for {calls} calls, bound {bound}");
    assert!(attempts > calls + 15, "the budget also lets retries through: {attempts}");
    assert!(attempts < calls * 5 / 4, "without a budget it would be {}", calls * 5);
    let stats = DOWN_STATS.snapshot();
    assert_eq!(stats.calls, u64::from(calls));
    assert_eq!(stats.attempts, u64::from(attempts));
    // A refused call returns its last error at once: it sleeps no more.
    assert_eq!(sleeps.delays().len() as u64, stats.retries);
    assert_eq!(stats.retries, u64::from(attempts - calls));
    assert!(stats.budget_refusals > u64::from(calls) * 3 / 4, "{stats:?}");
    assert_eq!(stats.failures, u64::from(calls));
}

static UP_BUDGET: RetryBudget = RetryBudget::new().capacity(4).ratio(0.1).min_retries_per_second(0);
static UP_STATS: Stats = Stats::new();

static LAST_FAILED_CALL: AtomicU32 = AtomicU32::new(0);

#[retry(max = 3, base = "1ms", budget = UP_BUDGET, stats = UP_STATS)]
fn call_flaky_dependency(call: u32) -> Result<u32, ApiError> {
    // One call in ten fails once: a 10% budget pays for exactly that.
    if call.is_multiple_of(10) && LAST_FAILED_CALL.swap(call, Relaxed) != call {
        return Err(ApiError::Unavailable(call));
    }
    Ok(call)
}

#[test]
fn a_budget_never_refuses_while_the_dependency_is_up() {
    let _sleeps = SleepRecorder::install();
    for call in 1..=1_000 {
        assert_eq!(call_flaky_dependency(call), Ok(call));
    }
    let stats = UP_STATS.snapshot();
    assert_eq!(stats.budget_refusals, 0);
    assert_eq!(stats.retries, 100);
    assert_eq!(stats.successes(), 1_000);
    assert_eq!(UP_BUDGET.refusals(), 0);
}

// --------------------------------------------------------------- breaker

static BREAKER: CircuitBreaker = CircuitBreaker::new()
    .failure_threshold(3)
    .cool_down(Duration::from_secs(10))
    .success_threshold(1)
    .half_open_trials(1);
static BREAKER_STATS: Stats = Stats::new();
static BREAKER_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 2, base = "100ms", jitter = "none", on = is_transient, breaker = BREAKER, stats = BREAKER_STATS)]
async fn guarded(reply: fn(u32) -> Result<u32, ApiError>) -> Result<u32, ApiError> {
    tokio::task::yield_now().await;
    reply(BREAKER_CALLS.fetch_add(1, Relaxed) + 1)
}

fn unavailable(call: u32) -> Result<u32, ApiError> {
    Err(ApiError::Unavailable(call))
}

fn not_found(_: u32) -> Result<u32, ApiError> {
    Err(ApiError::NotFound)
}

#[allow(clippy::unnecessary_wraps, reason = "one of the replies `guarded` takes")]
fn ok(call: u32) -> Result<u32, ApiError> {
    Ok(call)
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_fails_fast_cools_down_and_closes_after_a_trial() {
    // Permanent errors show the dependency answering: they never open it.
    for _ in 0..5 {
        assert_eq!(guarded(not_found).await, Err(ApiError::NotFound));
    }
    assert_eq!(BREAKER.state(), CircuitState::Closed);

    // Two transient failures (one call: attempt, retry), then a third: open.
    assert_eq!(guarded(unavailable).await, Err(ApiError::Unavailable(7)));
    let started = Instant::now();
    // The third failure opens it: the call ends with its real error at once,
    // without sleeping only to be refused.
    assert_eq!(guarded(unavailable).await, Err(ApiError::Unavailable(8)));
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(BREAKER.state(), CircuitState::Open);

    // Open: the body is not called.
    let before = BREAKER_CALLS.load(Relaxed);
    assert_eq!(guarded(ok).await, Err(ApiError::CircuitOpen(CircuitOpen)));
    assert_eq!(BREAKER_CALLS.load(Relaxed), before);

    // After the cool-down one trial goes through, and its success closes it.
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(guarded(ok).await, Ok(before + 1));
    assert_eq!(BREAKER.state(), CircuitState::Closed);

    let stats = BREAKER_STATS.snapshot();
    assert_eq!(stats.circuits_opened, 1);
    assert_eq!(stats.circuit_rejections, 2, "the call its own failure stopped, and the refused one: {stats:?}");
    assert_eq!(stats.calls, 9);
    assert_eq!(stats.attempts, 5 + 2 + 1 + 1, "the refused call made no attempt");
}

static EARNING_BUDGET: RetryBudget = RetryBudget::new().capacity(10).ratio(0.5).min_retries_per_second(0);
static EARNING_BREAKER: CircuitBreaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::from_secs(60));

#[retry(max = 1, on = is_transient, budget = EARNING_BUDGET, breaker = EARNING_BREAKER, stats = false)]
fn earning(fail: bool) -> Result<(), ApiError> {
    if fail { Err(ApiError::Unavailable(0)) } else { Ok(()) }
}

#[test]
fn a_call_the_breaker_refuses_earns_the_budget_nothing() {
    while EARNING_BUDGET.try_retry() {} // empty, so that deposits show
    let empty = EARNING_BUDGET.tokens();

    assert_eq!(earning(false), Ok(()));
    assert!((EARNING_BUDGET.tokens() - (empty + 0.5)).abs() < 1e-9, "a call that made an attempt earns 0.5");
    assert_eq!(earning(true), Err(ApiError::Unavailable(0)));
    assert_eq!(EARNING_BREAKER.state(), CircuitState::Open);
    let earned = EARNING_BUDGET.tokens();
    assert!((earned - (empty + 1.0)).abs() < 1e-9, "{earned}");

    for _ in 0..4 {
        assert_eq!(earning(false), Err(ApiError::CircuitOpen(CircuitOpen)));
    }
    assert!((EARNING_BUDGET.tokens() - earned).abs() < 1e-9, "refused calls made no attempt: no deposit");
}

// --------------------------------------------------------------- timeout

static SLOW_STATS: Stats = Stats::new();

#[retry(max = 3, base = "10ms", jitter = "none", timeout = "100ms", on = is_transient, stats = SLOW_STATS)]
async fn slow(work: Duration) -> Result<&'static str, ApiError> {
    tokio::time::sleep(work).await;
    Ok("done")
}

#[tokio::test(start_paused = true)]
async fn an_attempt_past_its_timeout_fails_with_timed_out_and_is_retried() {
    let started = Instant::now();
    assert_eq!(
        slow(Duration::from_secs(1)).await,
        Err(ApiError::TimedOut(TimedOut::after(Duration::from_millis(100))))
    );
    assert_eq!(started.elapsed(), Duration::from_millis(100 + 10 + 100 + 20 + 100));
    assert_eq!(slow(Duration::from_millis(99)).await, Ok("done"));
    let stats = SLOW_STATS.snapshot();
    assert_eq!((stats.timeouts, stats.attempts, stats.failures, stats.first_try_successes), (3, 4, 1, 1));
}

static IO_TIMEOUTS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 2, base = "1ms", timeout = "50ms", on = is_transient, stats = false)]
async fn read_socket() -> std::io::Result<u8> {
    if IO_TIMEOUTS.fetch_add(1, Relaxed) == 0 {
        std::future::pending::<()>().await;
    }
    Ok(42)
}

#[tokio::test(start_paused = true)]
async fn io_errors_take_a_timeout_as_they_are_and_retry_it() {
    assert_eq!(read_socket().await.ok(), Some(42));
    assert_eq!(IO_TIMEOUTS.load(Relaxed), 2);
}

#[retry(max = 5, base = "10ms", jitter = "none", deadline = "250ms", timeout = "200ms", on = is_transient, stats = false)]
async fn slow_with_deadline() -> Result<(), ApiError> {
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_last_attempt_is_cut_short_so_the_call_ends_by_its_deadline() {
    let started = Instant::now();
    // 200 ms (timed out), 10 ms sleep, then only the 40 ms left of the deadline.
    assert_eq!(slow_with_deadline().await, Err(ApiError::TimedOut(TimedOut::after(Duration::from_millis(40)))));
    assert_eq!(started.elapsed(), Duration::from_millis(250));
}

// ---------------------------------------------------------- cancellation

static CANCEL_STATS: Stats = Stats::new();

#[retry(max = 4, base = "100ms", jitter = "none", stats = CANCEL_STATS)]
async fn fails_slowly(work: Duration) -> Result<(), ApiError> {
    tokio::time::sleep(work).await;
    Err(ApiError::Unavailable(0))
}

#[tokio::test(start_paused = true)]
async fn dropping_the_call_mid_attempt_or_mid_sleep_keeps_the_statistics_whole() {
    // Mid-attempt: the first attempt runs 50 ms; the caller gives up at 20 ms.
    assert!(tokio::time::timeout(Duration::from_millis(20), fails_slowly(Duration::from_millis(50))).await.is_err());
    let stats = CANCEL_STATS.snapshot();
    assert_eq!((stats.calls, stats.cancelled, stats.attempts, stats.retries), (1, 1, 1, 0));

    // Mid-sleep: attempt 1 fails at 10 ms, sleeps 100 ms; the caller gives up at 60 ms.
    assert!(tokio::time::timeout(Duration::from_millis(60), fails_slowly(Duration::from_millis(10))).await.is_err());
    let stats = CANCEL_STATS.snapshot();
    assert_eq!((stats.calls, stats.cancelled, stats.attempts, stats.retries), (2, 2, 2, 1));

    // Mid-second-attempt: fails at 10, sleeps to 110, second attempt runs to 120; dropped at 115.
    tokio::select! {
        _ = fails_slowly(Duration::from_millis(10)) => unreachable!("the call cannot finish first"),
        () = tokio::time::sleep(Duration::from_millis(115)) => {}
    }
    let stats = CANCEL_STATS.snapshot();
    assert_eq!((stats.calls, stats.cancelled, stats.attempts, stats.retries), (3, 3, 4, 2));
    assert_eq!(stats.attempts_histogram, [2, 1, 0, 0, 0]);
    assert_eq!(stats.failures + stats.successes(), 0);
}

static TRIAL_BREAKER: CircuitBreaker =
    CircuitBreaker::new().failure_threshold(1).cool_down(Duration::from_secs(1)).half_open_trials(1);

#[retry(max = 1, on = is_transient, breaker = TRIAL_BREAKER, stats = false)]
async fn trial(work: Duration, fail: bool) -> Result<(), ApiError> {
    tokio::time::sleep(work).await;
    if fail { Err(ApiError::Unavailable(0)) } else { Ok(()) }
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_half_open_trial_gives_its_slot_back() {
    assert_eq!(trial(Duration::ZERO, true).await, Err(ApiError::Unavailable(0)));
    assert_eq!(TRIAL_BREAKER.state(), CircuitState::Open);
    tokio::time::advance(Duration::from_secs(1)).await;
    // The only trial slot is taken, then its call is dropped.
    assert!(tokio::time::timeout(Duration::from_millis(5), trial(Duration::from_secs(60), false)).await.is_err());
    assert_eq!(TRIAL_BREAKER.state(), CircuitState::HalfOpen);
    // Had the slot leaked, this call would be refused forever.
    assert_eq!(trial(Duration::ZERO, false).await, Ok(()));
    assert_eq!(TRIAL_BREAKER.state(), CircuitState::Closed);
}
