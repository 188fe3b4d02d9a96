use retry_runtime::retry;

#[retry(max = 3, timeout = "500ms")]
fn read_config() -> std::io::Result<String> {
    std::fs::read_to_string("app.toml")
}

fn main() {}
