use retry_runtime::retry;

#[retry(multiplier = 0.5)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
