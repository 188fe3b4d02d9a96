use retry_runtime::retry;

#[retry(jitter = 1.5)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
