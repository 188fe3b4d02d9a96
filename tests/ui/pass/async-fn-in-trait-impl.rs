use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use retry_runtime::retry;

trait Fetch {
    async fn fetch(&self) -> Result<u32, String>;
}

trait FetchSend {
    fn fetch_send(&self) -> impl Future<Output = Result<u32, String>> + Send;
}

struct Flaky {
    failures: AtomicU32,
}

impl Fetch for Flaky {
    #[retry(max = 3, base = "1ms")]
    async fn fetch(&self) -> Result<u32, String> {
        if self.failures.load(Ordering::Relaxed) > 0 {
            self.failures.fetch_sub(1, Ordering::Relaxed);
            return Err("unavailable".to_owned());
        }
        Ok(200)
    }
}

impl FetchSend for Flaky {
    #[retry(max = 3, base = "1ms")]
    async fn fetch_send(&self) -> Result<u32, String> {
        if self.failures.load(Ordering::Relaxed) > 0 {
            self.failures.fetch_sub(1, Ordering::Relaxed);
            return Err("unavailable".to_owned());
        }
        Ok(201)
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let flaky = Flaky { failures: AtomicU32::new(2) };
    assert_eq!(runtime.block_on(flaky.fetch()), Ok(200));
    flaky.failures.store(2, Ordering::Relaxed);
    assert_eq!(runtime.block_on(flaky.fetch_send()), Ok(201));
}
