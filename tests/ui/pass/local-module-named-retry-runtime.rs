// A crate-root module shadowing the crate's name: the expansion's leading
// `::retry_runtime` still reaches the extern crate.
mod retry_runtime {}

#[::retry_runtime::retry(max = 2, base = "1ms")]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {
    assert_eq!(fetch(), Ok(1));
}
