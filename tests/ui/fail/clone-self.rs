use retry_runtime::retry;

#[derive(Clone)]
struct Request(Vec<u8>);

impl Request {
    #[retry(max = 3, clone(self))]
    fn send(self) -> Result<usize, String> {
        Ok(self.0.len())
    }
}

fn main() {}
