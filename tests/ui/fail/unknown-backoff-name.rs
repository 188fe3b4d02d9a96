use retry_runtime::retry;

#[retry(backoff = "exponentail")]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
