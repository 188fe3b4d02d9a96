use retry_runtime::retry;

#[retry(max = 3, clone(not_an_argument))]
fn send(request: Vec<u8>) -> Result<usize, String> {
    Ok(request.len())
}

fn main() {}
