use retry_runtime::retry;

#[retry(max = "5")]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
