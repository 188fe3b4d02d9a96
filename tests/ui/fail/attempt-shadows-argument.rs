use retry_runtime::retry;

#[retry(max = 3, attempt = id)]
fn load(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

fn main() {}
