use retry_runtime::retry;

struct User {
    name: String,
}

impl User {
    #[retry(max = 2, base = "1ms")]
    fn name(&self) -> Result<&str, String> {
        Ok(&self.name)
    }
}

fn main() {
    let user = User { name: "ada".to_owned() };
    assert_eq!(user.name(), Ok("ada"));
}
