use retry_runtime::retry;

/// # Safety
/// `pointer` must be valid for reads.
#[retry(max = 2, base = "1ms")]
unsafe fn read(pointer: *const u32) -> Result<u32, String> {
    Ok(unsafe { *pointer })
}

fn main() {
    let value = 9;
    assert_eq!(unsafe { read(&value) }, Ok(9));
}
