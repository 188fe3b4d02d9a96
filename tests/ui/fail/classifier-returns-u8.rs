use retry_runtime::retry;

fn severity(_error: &String) -> u8 {
    3
}

#[retry(max = 3, on = severity)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
