use retry_runtime::retry;

#[retry(max = 3)]
const fn fetch() -> Result<u32, u32> {
    Ok(1)
}

fn main() {}
