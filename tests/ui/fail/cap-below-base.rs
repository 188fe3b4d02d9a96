use retry_runtime::retry;

#[retry(base = "1s", cap = "100ms")]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
