use retry_runtime::retry;

struct Cache {
    hits: u64,
}

impl Cache {
    #[retry(max = 3, hedge = "50ms")]
    async fn refresh(&mut self) -> Result<u64, std::io::Error> {
        self.hits += 1;
        Ok(self.hits)
    }
}

fn main() {}
