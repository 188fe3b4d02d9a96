use retry_runtime::{CircuitBreaker, CircuitOpen, retry};

#[derive(Debug)]
struct LoadError;

impl From<CircuitOpen> for LoadError {
    fn from(_: CircuitOpen) -> Self {
        LoadError
    }
}

// A breaker is shared by every call of the function: it must be a `static`.
#[retry(max = 3, breaker = breaker)]
fn load(breaker: &CircuitBreaker) -> Result<(), LoadError> {
    let _ = breaker;
    Ok(())
}

fn main() {}
