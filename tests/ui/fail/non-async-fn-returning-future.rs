use std::future::Future;

use retry_runtime::retry;

#[retry(max = 3)]
fn fetch() -> impl Future<Output = Result<u32, String>> {
    async { Ok(1) }
}

fn main() {}
