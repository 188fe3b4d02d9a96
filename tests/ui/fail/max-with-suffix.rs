use retry_runtime::retry;

// rustc would refuse `300u8`; the macro must not read it as 300.
#[retry(max = 300u8)]
fn out_of_range() -> Result<u32, String> {
    Ok(1)
}

#[retry(max = 5s)]
fn not_a_count() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
