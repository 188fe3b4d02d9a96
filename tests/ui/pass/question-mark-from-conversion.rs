use std::num::ParseIntError;

use retry_runtime::retry;

#[derive(Debug)]
enum ConfigError {
    Parse(ParseIntError),
}

impl From<ParseIntError> for ConfigError {
    fn from(error: ParseIntError) -> Self {
        ConfigError::Parse(error)
    }
}

#[retry(max = 2, base = "1ms")]
fn port(text: &str) -> Result<u16, ConfigError> {
    let port: u16 = text.parse()?;
    Ok(port)
}

fn main() {
    assert_eq!(port("8080").unwrap(), 8080);
    assert!(matches!(port("http"), Err(ConfigError::Parse(_))));
}
