//! Durations past the largest `Duration` (u64::MAX seconds and 999999999ns),
//! some of which only overflow once their sub-second parts carry.
use retry_runtime::retry;

#[retry(cap = "18446744073709551615s 1000ms")]
fn cap() -> Result<(), String> {
    Ok(())
}

#[retry(base = "18446744073709551615s 500ms 500000us")]
fn base() -> Result<(), String> {
    Ok(())
}

#[retry(deadline = "18446744073709551615s 999999999ns 1ns")]
fn deadline() -> Result<(), String> {
    Ok(())
}

#[retry(timeout = "18446744073709551615s 1000000000ns")]
async fn timeout() -> Result<(), retry_runtime::TimedOut> {
    Ok(())
}

fn main() {
    // Each function is still there, unchanged: the rest of the crate compiles.
    let _ = (cap(), base(), deadline(), timeout());
}
