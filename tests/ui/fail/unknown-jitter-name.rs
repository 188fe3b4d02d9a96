use retry_runtime::retry;

#[retry(jitter = "equall")]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
