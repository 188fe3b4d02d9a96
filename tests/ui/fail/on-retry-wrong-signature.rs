use retry_runtime::retry;

fn log_retry(error: &String) {
    eprintln!("retrying after {error}");
}

#[retry(max = 3, on_retry = log_retry)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
