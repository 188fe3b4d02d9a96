use std::cell::Cell;
use std::io;

use retry_runtime::retry;

#[retry(max = 3, base = "1ms", jitter = "none")]
fn read(failures: &Cell<u32>) -> io::Result<u32> {
    if failures.get() > 0 {
        failures.set(failures.get() - 1);
        return Err(io::ErrorKind::Interrupted.into());
    }
    Ok(7)
}

fn main() {
    let failures = Cell::new(2);
    assert_eq!(read(&failures).unwrap(), 7);
}
