use retry_runtime::retry;

fn takes_string(error: &String) -> bool {
    !error.is_empty()
}

#[retry(max = 3, on = takes_string)]
fn read_config() -> Result<u32, std::io::Error> {
    Ok(1)
}

fn main() {}
