use retry_runtime::retry;

#[retry(crate = retry_runtime::<u8>)]
fn turbofish() -> Result<(), String> {
    Ok(())
}

#[retry(crate = "retry_runtime<u8>")]
fn in_a_string() -> Result<(), String> {
    Ok(())
}

fn main() {}
