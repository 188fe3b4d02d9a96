use retry_runtime::retry;

#[retry(max = 0, base = "100xs", jitter = "equall", mx = 3)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
