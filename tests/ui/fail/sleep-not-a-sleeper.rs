use retry_runtime::retry;

/// Takes milliseconds, not a `Duration`.
async fn nap(_millis: u64) {}

#[retry(max = 3, sleep = nap)]
async fn fetch() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
