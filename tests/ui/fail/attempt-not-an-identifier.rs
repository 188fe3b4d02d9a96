use retry_runtime::retry;

#[retry(max = 3, attempt = 3)]
fn fetch() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
