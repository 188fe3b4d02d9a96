// The macro checks `base` against the runtime's default `cap` (30 s) at
// compile time; `tests/sync_functions.rs` checks that a `base` of exactly
// 30 s compiles and sleeps `RetryPolicy::new().cap`.
use retry_runtime::retry;

#[retry(base = "30001ms")]
fn fetch() -> Result<u32, String> {
    Ok(1)
}

fn main() {}
