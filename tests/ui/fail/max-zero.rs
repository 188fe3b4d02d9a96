// The macro emits the original function next to its error, so `main`,
// which calls it and uses the result, raises no second error.
use retry_runtime::retry;

#[retry(max = 0)]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {
    let value: u32 = fetch().unwrap();
    assert_eq!(value, 1);
}
