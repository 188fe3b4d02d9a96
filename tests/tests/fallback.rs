//! `fallback = expr` and `.fallback(f)`: every way a call can end with an
//! error hands that error to the fallback, whose result is returned, and
//! the statistics count it. A success never calls it.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;

use retry_runtime::{
    CircuitBreaker, CircuitOpen, RetryBudget, RetryPolicy, Stats, TimedOut, Transient, is_transient, retry,
};

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

/// The fallback of every function here: says which error it was given.
#[allow(clippy::unnecessary_wraps, reason = "a fallback returns the function's `Result`")]
#[allow(clippy::needless_pass_by_value, reason = "a fallback is given the error")]
fn served_stale(error: ApiError) -> Result<String, ApiError> {
    Ok(format!("stale after {error:?}"))
}

async fn served_stale_async(error: ApiError) -> Result<String, ApiError> {
    tokio::task::yield_now().await;
    served_stale(error)
}

// ------------------------------------------------------------ sync

static EXHAUSTED_STATS: Stats = Stats::new();
static EXHAUSTED_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 3, base = "1ms", on = is_transient, fallback = served_stale, stats = EXHAUSTED_STATS)]
fn exhausted(fail: bool) -> Result<String, ApiError> {
    EXHAUSTED_CALLS.fetch_add(1, Relaxed);
    if fail { Err(ApiError::Unavailable) } else { Ok("fresh".to_owned()) }
}

#[test]
fn exhausted_attempts_fall_back_and_a_success_does_not() {
    assert_eq!(exhausted(true).as_deref(), Ok("stale after Unavailable"));
    assert_eq!(EXHAUSTED_CALLS.load(Relaxed), 3, "every attempt ran before the fallback");
    assert_eq!(exhausted(false).as_deref(), Ok("fresh"));
    let stats = EXHAUSTED_STATS.snapshot();
    assert_eq!((stats.calls, stats.failures, stats.fallbacks), (2, 1, 1));
    assert!(stats.to_string().contains("fallbacks"));
}

static PERMANENT_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 3, base = "1ms", on = is_transient, fallback = |error| Err(ApiError::from(error_seen(error))))]
fn permanent() -> Result<String, ApiError> {
    PERMANENT_CALLS.fetch_add(1, Relaxed);
    Err(ApiError::NotFound)
}

#[allow(clippy::needless_pass_by_value, reason = "a fallback is given the error")]
fn error_seen(error: ApiError) -> TimedOut {
    assert_eq!(error, ApiError::NotFound);
    TimedOut::after(Duration::ZERO)
}

#[test]
fn a_permanent_error_falls_back_at_once_and_a_closure_may_return_another_error() {
    assert!(matches!(permanent(), Err(ApiError::TimedOut(_))));
    assert_eq!(PERMANENT_CALLS.load(Relaxed), 1);
}

static EMPTY_BUDGET: RetryBudget = RetryBudget::new().capacity(1).ratio(0.0).min_retries_per_second(0);
static BUDGET_STATS: Stats = Stats::new();
static BUDGET_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 5, base = "1ms", budget = EMPTY_BUDGET, fallback = served_stale, stats = BUDGET_STATS)]
fn refused_by_budget() -> Result<String, ApiError> {
    BUDGET_CALLS.fetch_add(1, Relaxed);
    Err(ApiError::Unavailable)
}

#[test]
fn a_budget_refusal_falls_back() {
    assert_eq!(refused_by_budget().as_deref(), Ok("stale after Unavailable"));
    assert_eq!(BUDGET_CALLS.load(Relaxed), 1, "the budget refused the first retry");
    let stats = BUDGET_STATS.snapshot();
    assert_eq!((stats.budget_refusals, stats.fallbacks), (1, 1));
}

static OPEN_BREAKER: CircuitBreaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::from_secs(600));
static BREAKER_STATS: Stats = Stats::new();
static BREAKER_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 2, base = "1ms", breaker = OPEN_BREAKER, fallback = served_stale, stats = BREAKER_STATS)]
fn behind_breaker() -> Result<String, ApiError> {
    BREAKER_CALLS.fetch_add(1, Relaxed);
    Err(ApiError::Unavailable)
}

#[test]
fn an_open_breaker_falls_back_with_circuit_open() {
    // The first call's failure opens the breaker, which then ends it.
    assert_eq!(behind_breaker().as_deref(), Ok("stale after Unavailable"));
    assert_eq!(behind_breaker().as_deref(), Ok("stale after CircuitOpen(CircuitOpen)"));
    assert_eq!(BREAKER_CALLS.load(Relaxed), 1, "a refused call runs no attempt");
    assert_eq!(BREAKER_STATS.snapshot().fallbacks, 2);
}

// ----------------------------------------------------------- async

static DEADLINE_CALLS: AtomicU32 = AtomicU32::new(0);

#[retry(max = 10, base = "1s", backoff = "fixed", jitter = "none", deadline = "2500ms", fallback = served_stale_async)]
async fn out_of_time() -> Result<String, ApiError> {
    DEADLINE_CALLS.fetch_add(1, Relaxed);
    Err(ApiError::Unavailable)
}

#[tokio::test(start_paused = true)]
async fn the_deadline_falls_back() {
    let started = tokio::time::Instant::now();
    assert_eq!(out_of_time().await.as_deref(), Ok("stale after Unavailable"));
    assert_eq!(DEADLINE_CALLS.load(Relaxed), 3);
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

static TIMEOUT_STATS: Stats = Stats::new();

#[retry(max = 2, base = "10ms", timeout = "100ms", fallback = served_stale_async, stats = TIMEOUT_STATS)]
async fn hangs() -> Result<String, ApiError> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok("never".to_owned())
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_last_attempt_falls_back() {
    let answer = hangs().await;
    assert!(answer.as_deref().is_ok_and(|text| text.starts_with("stale after TimedOut")), "{answer:?}");
    let stats = TIMEOUT_STATS.snapshot();
    assert_eq!((stats.timeouts, stats.fallbacks), (2, 1));
}

static ASYNC_BREAKER: CircuitBreaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::from_secs(600));

struct Client {
    region: &'static str,
}

impl Client {
    #[retry(max = 2, base = "1ms", breaker = ASYNC_BREAKER, fallback = |error| self.other_region(error))]
    async fn fetch(&self) -> Result<String, ApiError> {
        Err(ApiError::Unavailable)
    }

    async fn other_region(&self, error: ApiError) -> Result<String, ApiError> {
        tokio::task::yield_now().await;
        Ok(format!("{} answered after {error}", self.region))
    }
}

#[tokio::test(start_paused = true)]
async fn an_async_method_falls_back_to_another_method_and_an_open_breaker_too() {
    let client = Client { region: "eu-west" };
    assert_eq!(client.fetch().await.as_deref(), Ok("eu-west answered after 503 service unavailable"));
    assert_eq!(
        client.fetch().await.as_deref(),
        Ok("eu-west answered after circuit breaker is open: calls fail fast until it cools down")
    );
}

// ----------------------------------------------------------- closure API

#[test]
fn the_closure_api_falls_back_on_exhaustion_and_on_a_permanent_error() {
    let policy = RetryPolicy::new().max_attempts(3).base(Duration::ZERO);
    let mut calls = 0;
    let answer = policy
        .retry(|| {
            calls += 1;
            Err::<String, _>(ApiError::Unavailable)
        })
        .fallback(served_stale)
        .call();
    assert_eq!((answer.as_deref(), calls), (Ok("stale after Unavailable"), 3));

    let answer = policy.retry(|| Err::<String, _>(ApiError::NotFound)).when(is_transient).fallback(served_stale).call();
    assert_eq!(answer.as_deref(), Ok("stale after NotFound"));
    let untouched: Result<u8, ApiError> = policy.retry(|| Ok(1)).fallback(|_| Ok(2)).call();
    assert_eq!(untouched, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn the_async_closure_api_falls_back_at_the_deadline() {
    let policy = RetryPolicy::new().max_attempts(10).base(Duration::from_secs(1)).deadline(Duration::from_secs(2));
    let answer = policy
        .retry_async(|| async { Err::<String, _>(ApiError::Unavailable) })
        .fallback(served_stale_async)
        .call()
        .await;
    assert_eq!(answer.as_deref(), Ok("stale after Unavailable"));
}
