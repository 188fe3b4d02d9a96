//! A budget, a breaker, a timeout and a deadline on one async function, with
//! an error type that converts from both refusals.
use std::time::Duration;

use retry_runtime::{CircuitBreaker, CircuitOpen, RetryBudget, TimedOut, Transient, is_transient, retry};

static API_BUDGET: RetryBudget = RetryBudget::new().ratio(0.2);
static API_BREAKER: CircuitBreaker = CircuitBreaker::new().failure_threshold(3).cool_down(Duration::from_secs(5));

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("service unavailable")]
    Unavailable,
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

#[retry(max = 4, base = "1ms", deadline = "1s", timeout = "100ms", budget = API_BUDGET, breaker = API_BREAKER, on = is_transient)]
async fn fetch(fail: bool) -> Result<u32, ApiError> {
    if fail { Err(ApiError::Unavailable) } else { Ok(1) }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    assert_eq!(runtime.block_on(fetch(false)).unwrap(), 1);
    assert!(matches!(runtime.block_on(fetch(true)), Err(ApiError::Unavailable)));
}
