//! `hedge = "…"` and `.hedge(delay)`: a slow attempt gets a concurrent copy
//! after the hedge delay; the first success wins and the others are
//! dropped. In tokio's paused time, so the delays are exact.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;

use retry_runtime::{
    CircuitBreaker, CircuitOpen, RetryBudget, RetryPolicy, Stats, TimedOut, Transient, is_transient, retry,
};
use tokio::time::{Instant, sleep};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ApiError {
    #[error("503 service unavailable")]
    Unavailable,
    #[error("404 not found")]
    NotFound,
    #[error(transparent)]
    TimedOut(#[from] TimedOut),
    #[error(transparent)]
    CircuitOpen(#[from] CircuitOpen),
}

impl Transient for ApiError {
    fn is_transient(&self) -> bool {
        matches!(self, ApiError::Unavailable | ApiError::TimedOut(_))
    }
}

/// Counts the attempts dropped before they finished.
struct DropGuard<'a>(&'a AtomicU32);

impl Drop for DropGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

/// A backend whose latency and answer depend on the attempt number.
struct Backend {
    started: AtomicU32,
    dropped: AtomicU32,
    finished: AtomicU32,
}

impl Backend {
    const fn new() -> Self {
        Backend { started: AtomicU32::new(0), dropped: AtomicU32::new(0), finished: AtomicU32::new(0) }
    }

    async fn answer(&self, plan: &[(u64, Result<u32, ApiError>)]) -> Result<u32, ApiError> {
        let number = self.started.fetch_add(1, Relaxed);
        let (millis, answer) = plan[number as usize].clone();
        let guard = DropGuard(&self.dropped);
        sleep(Duration::from_millis(millis)).await;
        std::mem::forget(guard);
        self.finished.fetch_add(1, Relaxed);
        answer
    }
}

// ---------------------------------------------------------------- attribute

static SLOW: Backend = Backend::new();
static SLOW_STATS: Stats = Stats::new();

#[retry(max = 3, hedge = "50ms", on = is_transient, stats = SLOW_STATS)]
async fn slow_first() -> Result<u32, ApiError> {
    SLOW.answer(&[(1000, Ok(1)), (20, Ok(2)), (20, Ok(3))]).await
}

#[tokio::test(start_paused = true)]
async fn a_slow_first_attempt_is_beaten_by_the_hedge_and_dropped() {
    let started = Instant::now();
    assert_eq!(slow_first().await, Ok(2));
    assert_eq!(started.elapsed(), Duration::from_millis(70), "the copy started at 50ms and answered in 20ms");
    assert_eq!(SLOW.started.load(Relaxed), 2, "the second copy answered before a third was due (100ms)");
    assert_eq!(SLOW.dropped.load(Relaxed), 1, "the slow first attempt was dropped");
    let stats = SLOW_STATS.snapshot();
    assert_eq!((stats.calls, stats.attempts, stats.hedged_attempts), (1, 2, 1));
    assert_eq!(stats.hedge_wins, [0, 1, 0, 0, 0]);
}

static FAST: Backend = Backend::new();
static FAST_STATS: Stats = Stats::new();

#[retry(max = 3, hedge = "50ms", stats = FAST_STATS)]
async fn fast_first() -> Result<u32, ApiError> {
    FAST.answer(&[(10, Ok(1))]).await
}

#[tokio::test(start_paused = true)]
async fn a_fast_first_attempt_starts_no_copy() {
    assert_eq!(fast_first().await, Ok(1));
    assert_eq!(FAST.started.load(Relaxed), 1);
    let stats = FAST_STATS.snapshot();
    assert_eq!((stats.hedged_attempts, stats.hedge_wins), (0, [1, 0, 0, 0, 0]));
}

static PERMANENT: Backend = Backend::new();

#[retry(max = 3, hedge = "50ms", on = is_transient)]
async fn permanent() -> Result<u32, ApiError> {
    PERMANENT.answer(&[(1000, Ok(1)), (1000, Ok(2)), (10, Err(ApiError::NotFound))]).await
}

#[tokio::test(start_paused = true)]
async fn a_permanent_error_ends_every_attempt() {
    let started = Instant::now();
    assert_eq!(permanent().await, Err(ApiError::NotFound));
    assert_eq!(started.elapsed(), Duration::from_millis(110));
    assert_eq!(PERMANENT.started.load(Relaxed), 3);
    assert_eq!(PERMANENT.dropped.load(Relaxed), 2, "both slow attempts were dropped");
}

static TRANSIENT: Backend = Backend::new();
static HOOKED: AtomicU32 = AtomicU32::new(0);

#[retry(max = 3, hedge = "50ms", on = is_transient, on_retry = |event| HOOKED.store(event.attempt(), Relaxed))]
async fn transient() -> Result<u32, ApiError> {
    TRANSIENT.answer(&[(10, Err(ApiError::Unavailable)), (10, Err(ApiError::Unavailable)), (10, Ok(3))]).await
}

#[tokio::test(start_paused = true)]
async fn a_transient_error_starts_the_next_copy_at_once() {
    let started = Instant::now();
    assert_eq!(transient().await, Ok(3));
    assert_eq!(started.elapsed(), Duration::from_millis(30), "no hedge delay was waited");
    assert_eq!(HOOKED.load(Relaxed), 2, "on_retry was told of each copy a failure started");
}

static EXHAUSTED: Backend = Backend::new();

#[retry(max = 2, hedge = "50ms")]
async fn all_fail() -> Result<u32, ApiError> {
    EXHAUSTED.answer(&[(100, Err(ApiError::Unavailable)), (100, Err(ApiError::NotFound))]).await
}

#[tokio::test(start_paused = true)]
async fn when_every_attempt_fails_the_last_error_is_returned() {
    assert_eq!(all_fail().await, Err(ApiError::NotFound));
    assert_eq!(EXHAUSTED.dropped.load(Relaxed), 0);
}

static TIGHT_BUDGET: RetryBudget = RetryBudget::new().capacity(4).ratio(0.0).min_retries_per_second(0);
static BUDGETED: Backend = Backend::new();
static BUDGET_STATS: Stats = Stats::new();

#[retry(max = 5, hedge = "10ms", budget = TIGHT_BUDGET, stats = BUDGET_STATS)]
async fn budgeted() -> Result<u32, ApiError> {
    const PLAN: (u64, Result<u32, ApiError>) = (100, Ok(1));
    BUDGETED.answer(&[PLAN; 64]).await
}

#[tokio::test(start_paused = true)]
async fn the_budget_bounds_the_copies() {
    for _ in 0..10 {
        assert_eq!(budgeted().await, Ok(1));
    }
    let stats = BUDGET_STATS.snapshot();
    // Half the bucket (2 tokens) may be spent; without the budget each call would start 5 attempts.
    assert_eq!(stats.hedged_attempts, 2);
    assert_eq!(BUDGETED.started.load(Relaxed), 12);
}

static LATE: Backend = Backend::new();

#[retry(max = 3, hedge = "100ms", deadline = "250ms")]
async fn past_the_deadline() -> Result<u32, ApiError> {
    LATE.answer(&[(1000, Ok(1)), (1000, Ok(2)), (1000, Ok(3))]).await
}

#[tokio::test(start_paused = true)]
async fn the_deadline_drops_every_attempt_in_flight() {
    let started = Instant::now();
    assert!(matches!(past_the_deadline().await, Err(ApiError::TimedOut(_))));
    assert_eq!(started.elapsed(), Duration::from_millis(250));
    assert_eq!((LATE.started.load(Relaxed), LATE.dropped.load(Relaxed)), (3, 3));
}

static HEDGE_BREAKER: CircuitBreaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::from_secs(600));
static GUARDED: Backend = Backend::new();
static GUARDED_STATS: Stats = Stats::new();

#[retry(max = 3, hedge = "50ms", breaker = HEDGE_BREAKER, stats = GUARDED_STATS)]
async fn guarded() -> Result<u32, ApiError> {
    GUARDED.answer(&[(10, Err(ApiError::Unavailable)), (10, Ok(2)), (10, Ok(3))]).await
}

#[tokio::test(start_paused = true)]
async fn the_breaker_is_asked_before_each_copy_and_told_each_outcome() {
    // The first attempt's failure opens the breaker, which refuses the next copy.
    assert_eq!(guarded().await, Err(ApiError::Unavailable));
    assert_eq!(GUARDED.started.load(Relaxed), 1);
    // Open: the next call is refused before any attempt.
    assert_eq!(guarded().await, Err(ApiError::CircuitOpen(CircuitOpen)));
    assert_eq!(GUARDED.started.load(Relaxed), 1);
    assert_eq!(GUARDED_STATS.snapshot().circuit_rejections, 2);
}

struct Client {
    backend: Backend,
}

impl Client {
    #[retry(max = 2, hedge = "50ms", timeout = "30ms")]
    async fn fetch(&self, id: u32, key: &str) -> Result<(u32, usize), ApiError> {
        let answer = self.backend.answer(&[(1000, Ok(0)), (10, Ok(0))]).await?;
        Ok((answer + id, key.len()))
    }
}

#[tokio::test(start_paused = true)]
async fn a_method_with_copy_and_borrowed_arguments_is_hedged_within_its_timeout() {
    let client = Client { backend: Backend::new() };
    // The first attempt times out at 30ms: a transient error, so the copy starts at once.
    let started = Instant::now();
    assert_eq!(client.fetch(7, "abc").await, Ok((7, 3)));
    assert_eq!(started.elapsed(), Duration::from_millis(40));
}

// ---------------------------------------------------------------- closure API

#[tokio::test(start_paused = true)]
async fn the_closure_api_hedges_and_drops_the_loser() {
    let backend = Backend::new();
    let plan = [(1000, Ok(1)), (20, Ok(2))];
    let answer = RetryPolicy::new()
        .max_attempts(3)
        .retry_async(|| backend.answer(&plan))
        .hedge(Duration::from_millis(50))
        .call()
        .await;
    assert_eq!(answer, Ok(2));
    assert_eq!((backend.started.load(Relaxed), backend.dropped.load(Relaxed)), (2, 1));
}

#[tokio::test(start_paused = true)]
async fn the_closure_api_stops_at_a_permanent_error_and_falls_back() {
    let backend = Backend::new();
    let plan = [(1000, Ok(1)), (10, Err(ApiError::NotFound))];
    let answer = RetryPolicy::new()
        .max_attempts(3)
        .retry_async(|| backend.answer(&plan))
        .when(is_transient)
        .hedge(Duration::from_millis(50))
        .fallback(|error| async move { if error == ApiError::NotFound { Ok(0) } else { Err(error) } })
        .call()
        .await;
    assert_eq!(answer, Ok(0));
    assert_eq!(backend.dropped.load(Relaxed), 1);
}
