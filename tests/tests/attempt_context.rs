//! `#[retry(attempt = name)]`: the body knows which attempt it runs, and all
//! the attempts of one call share an identifier (an idempotency key).

use std::time::Duration;

use retry_runtime::{Attempt, CallId, retry};

/// What one attempt saw.
#[derive(Debug, Clone, Copy)]
struct Seen {
    number: u32,
    max: u32,
    is_last: bool,
    call_id: CallId,
    elapsed: Duration,
}

impl Seen {
    fn of(attempt: Attempt) -> Self {
        Seen {
            number: attempt.number(),
            max: attempt.max(),
            is_last: attempt.is_last(),
            call_id: attempt.call_id(),
            elapsed: attempt.elapsed(),
        }
    }
}

#[retry(max = 4, base = "100ms", jitter = "none", attempt = attempt)]
async fn post_order(seen: &mut Vec<Seen>) -> Result<(), &'static str> {
    seen.push(Seen::of(attempt));
    Err("503 Service Unavailable")
}

#[tokio::test(start_paused = true)]
async fn attempts_are_numbered_and_share_one_call_id() {
    let mut first = Vec::new();
    assert!(post_order(&mut first).await.is_err());
    assert_eq!(first.iter().map(|s| s.number).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(first.iter().all(|s| s.max == 4));
    assert_eq!(first.iter().map(|s| s.is_last).collect::<Vec<_>>(), [false, false, false, true]);
    assert!(first.iter().all(|s| s.call_id == first[0].call_id));
    // Measured on tokio's clock: 100, 200 and 400 ms slept in paused time.
    assert_eq!(first.iter().map(|s| s.elapsed).collect::<Vec<_>>(), [0, 100, 300, 700].map(Duration::from_millis));

    let mut second = Vec::new();
    assert!(post_order(&mut second).await.is_err());
    assert_ne!(second[0].call_id, first[0].call_id, "each call draws its own id");
    assert_eq!(second[0].call_id.to_string().len(), 32);
}

#[retry(max = 3, base = "1ms", attempt = this_try)]
fn header(headers: &mut Vec<(String, String)>) -> Result<u32, &'static str> {
    headers.push(("X-Retry-Attempt".to_owned(), this_try.number().to_string()));
    headers.push(("Idempotency-Key".to_owned(), this_try.call_id().to_string()));
    if this_try.is_last() { Ok(this_try.number()) } else { Err("reset") }
}

#[test]
fn a_sync_body_knows_its_attempt_too() {
    let mut headers = Vec::new();
    assert_eq!(header(&mut headers), Ok(3));
    let attempts: Vec<&str> =
        headers.iter().filter(|(name, _)| name == "X-Retry-Attempt").map(|(_, value)| value.as_str()).collect();
    assert_eq!(attempts, ["1", "2", "3"]);
    let keys: Vec<&str> =
        headers.iter().filter(|(name, _)| name == "Idempotency-Key").map(|(_, value)| value.as_str()).collect();
    assert!(keys.iter().all(|key| *key == keys[0] && key.len() == 32));
}

struct Client {
    sent: Vec<u32>,
}

impl Client {
    /// A method, with `&mut self`, a moved argument and the attempt.
    #[retry(max = 2, base = "10ms", attempt = attempt, clone(body))]
    async fn send(&mut self, body: String) -> Result<usize, String> {
        self.sent.push(attempt.number());
        if attempt.is_last() { Ok(body.len()) } else { Err(body) }
    }
}

#[tokio::test(start_paused = true)]
async fn a_method_sees_its_attempts() {
    let mut client = Client { sent: Vec::new() };
    assert_eq!(client.send("hello".to_owned()).await, Ok(5));
    assert_eq!(client.sent, [1, 2]);
}

#[test]
fn the_closure_api_passes_the_same_context() {
    let mut ids = Vec::new();
    let result = retry_runtime::RetryPolicy::new()
        .max_attempts(3)
        .base(Duration::ZERO)
        .retry_with_attempt(|attempt| {
            ids.push((attempt.number(), attempt.call_id()));
            if attempt.is_last() { Ok(()) } else { Err("busy") }
        })
        .call();
    assert_eq!(result, Ok(()));
    assert_eq!(ids.iter().map(|(number, _)| *number).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(ids.iter().all(|(_, id)| *id == ids[0].1));
}
