use retry_runtime::retry;

#[retry(max = 3, hedge = "50ms")]
async fn send(body: String, attempts: u32) -> Result<usize, std::io::Error> {
    Ok(body.len() + attempts as usize)
}

fn main() {}
