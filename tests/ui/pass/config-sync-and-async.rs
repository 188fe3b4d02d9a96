//! `config` on a sync fn and an async fn, composed with the other keys.
use std::io;

use retry_runtime::{CircuitBreaker, CircuitOpen, RetryBudget, RetryEvent, Stats, TimedOut, retry};

static BREAKER: CircuitBreaker = CircuitBreaker::new();
static BUDGET: RetryBudget = RetryBudget::new();
static STATS: Stats = Stats::new();

#[derive(Debug)]
enum ApiError {
    Open,
    TimedOut,
}

impl From<CircuitOpen> for ApiError {
    fn from(_: CircuitOpen) -> Self {
        ApiError::Open
    }
}

impl From<TimedOut> for ApiError {
    fn from(_: TimedOut) -> Self {
        ApiError::TimedOut
    }
}

fn transient(error: &ApiError) -> bool {
    matches!(error, ApiError::TimedOut)
}

// A sync fn: the file's policy keys apply; its `timeout` cannot (a running
// attempt cannot be stopped), and does not require `From<TimedOut>`.
#[retry(config = "read", max = 2)]
fn read() -> io::Result<u8> {
    Ok(1)
}

#[retry(config = "get_product", on = transient, on_retry = |_: &RetryEvent<'_, ApiError>| {}, stats = STATS, budget = BUDGET, breaker = BREAKER, timeout = "1s")]
async fn get_product(id: u32) -> Result<u32, ApiError> {
    Ok(id)
}

fn main() {
    let _ = read();
    let _ = get_product(1);
}
