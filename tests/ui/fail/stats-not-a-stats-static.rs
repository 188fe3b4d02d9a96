use retry_runtime::retry;

static CALLS: u32 = 0;

#[retry(stats = CALLS)]
fn load() -> Result<(), ()> {
    Ok(())
}

fn main() {}
