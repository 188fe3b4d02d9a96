use retry_runtime::retry;

fn default_name(_error: std::io::Error) -> String {
    "guest".to_owned()
}

#[retry(max = 3, fallback = default_name)]
fn load_name() -> Result<String, std::io::Error> {
    Err(std::io::Error::other("down"))
}

fn main() {
    let _ = load_name();
}
