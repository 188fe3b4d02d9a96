use retry_runtime::{CircuitBreaker, retry};

static API: CircuitBreaker = CircuitBreaker::new();

#[retry(max = 3, budget = API)]
fn load() -> Result<(), String> {
    Ok(())
}

fn main() {}
