// The macro checks `cap` against the runtime's default `base` (100 ms) at
// compile time; `tests/sync_functions.rs` checks that a `cap` of exactly
// 100 ms compiles and sleeps `RetryPolicy::new().base`.
use retry_runtime::retry;

#[retry(cap = "99ms")]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
