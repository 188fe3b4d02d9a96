use retry_runtime::retry;

#[retry(base = "100xs")]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
