use retry_runtime::retry;

#[retry(config = "get_product", policy = retry_runtime::RetryPolicy::new())]
fn get_product() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
