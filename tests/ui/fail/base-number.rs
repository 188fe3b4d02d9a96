use retry_runtime::retry;

#[retry(base = 100)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
