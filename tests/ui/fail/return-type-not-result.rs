use retry_runtime::retry;

#[retry(max = 3)]
fn fetch() -> u32 {
    1
}

fn main() {}
