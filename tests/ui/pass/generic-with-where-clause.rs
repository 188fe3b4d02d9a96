use std::fmt::Debug;

use retry_runtime::retry;

#[retry(max = 2, base = "1ms")]
fn parse<T, E>(text: &str) -> Result<T, E>
where
    T: std::str::FromStr<Err = E>,
    E: Debug,
{
    text.trim().parse::<T>()
}

fn main() {
    assert_eq!(parse::<u32, _>(" 42 "), Ok(42));
    assert!(parse::<u32, _>("x").is_err());
}
