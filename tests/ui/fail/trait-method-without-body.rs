use retry_runtime::retry;

trait Store {
    #[retry(max = 3)]
    fn load(&self) -> Result<u32, String>;
}

fn main() {}
