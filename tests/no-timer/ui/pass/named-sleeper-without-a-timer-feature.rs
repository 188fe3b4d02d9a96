//! Without a timer feature, an async fn names its sleeper, and a sync fn
//! needs none.

use std::time::Duration;

use retry_runtime::retry;

async fn runtime_sleep(_delay: Duration) {}

#[retry(max = 3, sleep = runtime_sleep)]
async fn fetch() -> Result<u32, std::io::Error> {
    Ok(1)
}

#[retry(max = 3, base = "1ms")]
fn load(attempts: &mut u32) -> Result<u32, &'static str> {
    *attempts += 1;
    if *attempts < 2 { Err("busy") } else { Ok(*attempts) }
}

fn main() {
    let _unpolled = fetch();
    let mut attempts = 0;
    assert_eq!(load(&mut attempts), Ok(2));
}
