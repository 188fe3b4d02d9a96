//! The `http_client` example's scenario, with assertions: a reqwest client
//! whose `async fn` carries `#[retry]` gets through 503 + `Retry-After`,
//! 429 + a `Retry-After` date and a connection reset from a real server on
//! 127.0.0.1, honours the server's delays, and does not retry a 404.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/http_client.rs"]
mod http_client;

use std::time::Duration;

use reqwest::StatusCode;

#[tokio::test]
async fn retries_through_503_429_and_a_reset_then_stops_at_404() {
    let outcome = http_client::run().await.unwrap();

    assert_eq!(outcome.body, "quarterly report: 42 widgets sold");
    assert_eq!(outcome.hits.get("/report"), Some(&4), "503, 429, reset, 200");

    let retries = &outcome.retries;
    assert_eq!(retries.iter().map(|r| r.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    // 503 with `Retry-After: 1`: exactly the server's delay, not the 100 ms backoff.
    assert_eq!(retries[0].status, Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(retries[0].delay, Duration::from_secs(1));
    // 429 with a date two seconds ahead (one-second resolution): between 1 and 2 s.
    assert_eq!(retries[1].status, Some(StatusCode::TOO_MANY_REQUESTS));
    assert!(retries[1].delay > Duration::from_millis(900), "{:?}", retries[1].delay);
    assert!(retries[1].delay <= Duration::from_secs(2), "{:?}", retries[1].delay);
    // The reset carries no hint: the policy's third delay, full jitter under 100 ms * 2^2.
    assert_eq!(retries[2].status, None);
    assert!(retries[2].delay <= Duration::from_millis(400), "{:?}", retries[2].delay);
    // The client really waited for the server's delays.
    assert!(outcome.elapsed >= Duration::from_secs(1) + retries[1].delay);

    assert_eq!(outcome.missing_status, Some(StatusCode::NOT_FOUND));
    assert_eq!(outcome.hits.get("/missing"), Some(&1), "a 404 must not be retried");
    assert!(outcome.missing_retries.is_empty());
}
