use retry_runtime::retry;

#[derive(Debug)]
enum FetchError {
    Unavailable,
}

#[retry(max = 3, timeout = "500ms")]
async fn fetch() -> Result<u32, FetchError> {
    Err(FetchError::Unavailable)
}

fn main() {}
