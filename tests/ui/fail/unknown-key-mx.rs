use retry_runtime::retry;

#[retry(mx = 3)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
