use retry_runtime::{CircuitBreaker, retry};

static PAYMENTS: CircuitBreaker = CircuitBreaker::new();

#[derive(Debug)]
enum ChargeError {
    Declined,
}

#[retry(max = 3, breaker = PAYMENTS)]
fn charge() -> Result<(), ChargeError> {
    Err(ChargeError::Declined)
}

fn main() {}
