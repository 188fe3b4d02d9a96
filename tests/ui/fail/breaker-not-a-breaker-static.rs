use retry_runtime::{CircuitOpen, RetryBudget, retry};

static API: RetryBudget = RetryBudget::new();

#[derive(Debug)]
struct LoadError;

impl From<CircuitOpen> for LoadError {
    fn from(_: CircuitOpen) -> Self {
        LoadError
    }
}

#[retry(max = 3, breaker = API)]
fn load() -> Result<(), LoadError> {
    Ok(())
}

fn main() {}
