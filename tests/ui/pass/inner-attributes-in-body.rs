use retry_runtime::retry;

#[retry(max = 2, base = "1ms")]
fn fetch() -> Result<u32, String> {
    #![allow(unused_variables)]
    let unused = 5;
    Ok(1)
}

fn main() {
    assert_eq!(fetch(), Ok(1));
}
