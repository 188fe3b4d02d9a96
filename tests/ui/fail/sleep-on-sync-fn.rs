use std::time::Duration;

use retry_runtime::retry;

async fn nap(_: Duration) {}

#[retry(max = 3, sleep = nap)]
fn read_config() -> std::io::Result<String> {
    std::fs::read_to_string("app.toml")
}

fn main() {}
