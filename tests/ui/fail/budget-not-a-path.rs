use retry_runtime::retry;

#[retry(max = 3, budget = retry_runtime::RetryBudget::new())]
fn load() -> Result<(), String> {
    Ok(())
}

fn main() {}
