use retry_runtime::retry;

const NAME: &str = "get_product";

#[retry(config = NAME)]
fn get_product() -> Result<(), std::io::Error> {
    Ok(())
}

fn main() {}
