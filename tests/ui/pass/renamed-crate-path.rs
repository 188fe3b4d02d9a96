use ::retry_runtime as my_retry;

use my_retry::retry;

#[retry(max = 2, base = "1ms", crate = my_retry)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {
    assert_eq!(fetch(), Ok(1));
}
