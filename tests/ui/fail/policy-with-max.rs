use retry_runtime::{RetryPolicy, retry};

const POLICY: RetryPolicy = RetryPolicy::new();

#[retry(policy = POLICY, max = 5)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
