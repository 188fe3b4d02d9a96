use retry_runtime::retry;

#[retry(max = 3, hedge = "50ms")]
fn lookup(id: u64) -> Result<u64, std::io::Error> {
    Ok(id)
}

fn main() {
    let _ = lookup(1);
}
