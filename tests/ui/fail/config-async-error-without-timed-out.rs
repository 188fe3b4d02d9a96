use retry_runtime::retry;

#[derive(Debug)]
struct NotFound;

// The file may give the operation a `timeout`: an async fn's error must say so.
#[retry(config = "get_product")]
async fn get_product() -> Result<(), NotFound> {
    Err(NotFound)
}

fn main() {}
