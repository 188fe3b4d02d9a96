use retry_runtime::retry;

#[retry(max = 1, hedge = "50ms")]
async fn lookup(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

fn main() {}
