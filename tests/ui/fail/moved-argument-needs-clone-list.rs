use retry_runtime::retry;

fn send(request: Vec<u8>) -> Result<usize, Vec<u8>> {
    if request.is_empty() { Err(request) } else { Ok(request.len()) }
}

// The fix: `#[retry(max = 3, clone(request))]`.
#[retry(max = 3)]
fn post(request: Vec<u8>) -> Result<usize, Vec<u8>> {
    send(request)
}

fn main() {}
