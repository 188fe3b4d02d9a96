#![deny(warnings)]

mod client {
    use retry_runtime::retry;

    #[retry(max = 3, base = "1ms", jitter = "none", on = is_transient)]
    pub fn fetch(id: u32) -> Result<u32, String> {
        if id == 0 { Err("no such id".to_owned()) } else { Ok(id) }
    }

    fn is_transient(error: &String) -> bool {
        error.contains("busy")
    }
}

fn main() {
    assert_eq!(client::fetch(3), Ok(3));
    assert!(client::fetch(0).is_err());
}
