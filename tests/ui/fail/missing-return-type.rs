use retry_runtime::retry;

#[retry(max = 3)]
fn flush() {
    println!("flushed");
}

fn main() {}
