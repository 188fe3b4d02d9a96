use retry_runtime::retry;

#[retry(stats = 5)]
fn load() -> Result<(), ()> {
    Ok(())
}

fn main() {}
