use retry_runtime::{CircuitBreaker, RetryBudget, Stats, retry};

static BUDGET: RetryBudget = RetryBudget::new();
static BREAKER: CircuitBreaker = CircuitBreaker::new();
static STATS: Stats = Stats::new();

#[retry(budget = self::BUDGET::<u8>, breaker = BREAKER::<'static>, stats = crate::STATS::<()>)]
fn load() -> Result<(), retry_runtime::CircuitOpen> {
    Ok(())
}

fn main() {}
