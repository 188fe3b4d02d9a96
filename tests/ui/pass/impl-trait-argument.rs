use retry_runtime::retry;

#[retry(max = 2, base = "1ms")]
fn total(numbers: impl Fn() -> Vec<u32>) -> Result<u32, String> {
    let sum: u32 = numbers().iter().sum();
    if sum == 0 { Err("empty".to_owned()) } else { Ok(sum) }
}

fn main() {
    assert_eq!(total(|| vec![1, 2, 3]), Ok(6));
}
