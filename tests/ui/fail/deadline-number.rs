use retry_runtime::retry;

#[retry(deadline = 500)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
