//! Shapes `hedge` accepts: `&self`, references, `Copy` and cloned arguments,
//! an `#[async_trait]` method.

use retry_runtime::retry;

struct Client {
    base: String,
}

impl Client {
    #[retry(max = 3, hedge = "50ms", clone(path))]
    async fn get(&self, id: u64, path: String, query: &str) -> Result<usize, std::io::Error> {
        Ok(self.base.len() + path.len() + query.len() + usize::try_from(id).unwrap_or(0))
    }
}

#[async_trait::async_trait]
trait Store {
    async fn load(&self, id: u64) -> Result<u64, std::io::Error>;
}

#[async_trait::async_trait]
impl Store for Client {
    #[retry(max = 2, hedge = "20ms")]
    async fn load(&self, id: u64) -> Result<u64, std::io::Error> {
        Ok(id + self.base.len() as u64)
    }
}

fn main() {
    let client = Client { base: String::new() };
    drop(client.get(1, String::new(), ""));
    drop(client.load(1));
}
