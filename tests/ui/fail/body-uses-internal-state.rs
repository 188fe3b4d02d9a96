use retry_runtime::retry;

#[retry(max = 3)]
fn fetch() -> Result<u32, String> {
    let _ = &__retry_state;
    Ok(1)
}

fn main() {}
