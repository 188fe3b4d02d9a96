use std::time::Duration;

use retry_runtime::{RetryPolicy, retry};

struct Client {
    policy: RetryPolicy,
    failures_left: u32,
}

impl Client {
    // The policy is copied out before the body runs, so `&mut self` in the
    // body does not conflict with the borrow of `self.policy`, and changing
    // the field mid-call does not change this call's policy.
    #[retry(policy = &self.policy)]
    fn get(&mut self) -> Result<u32, String> {
        if self.failures_left > 0 {
            self.failures_left -= 1;
            self.policy.max_attempts = 1;
            return Err("unavailable".to_owned());
        }
        Ok(200)
    }
}

fn main() {
    let policy = RetryPolicy::new().max_attempts(5).base(Duration::from_millis(1)).validate().unwrap();
    let mut client = Client { policy, failures_left: 3 };
    assert_eq!(client.get(), Ok(200));
}
