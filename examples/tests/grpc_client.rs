//! The `grpc_client` example's scenario, with assertions: a tonic channel
//! wrapped in `RetryLayer` gets through two `Unavailable` refusals from a
//! real gRPC server on 127.0.0.1, waits the server's pushback (not the
//! policy's delay), does not retry a `NotFound`, and counts it all.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/grpc_client.rs"]
mod grpc_client;

use std::time::Duration;

use tonic_health::pb::health_check_response::ServingStatus;

#[tokio::test]
async fn retries_after_the_pushback_and_not_a_not_found() {
    let outcome = grpc_client::run().await.unwrap();

    assert_eq!(outcome.status, ServingStatus::Serving);
    assert_eq!(outcome.delays, [Duration::from_millis(200); 2]);
    assert!(outcome.elapsed >= Duration::from_millis(400), "{:?}", outcome.elapsed);
    assert!(outcome.elapsed < Duration::from_secs(2), "the policy's 1 s delay was used: {:?}", outcome.elapsed);
    assert_eq!(outcome.unknown, tonic::Code::NotFound);
    assert_eq!(outcome.server_calls, 4, "2 refusals, the answer, the NotFound");
    let stats = &outcome.stats;
    assert_eq!((stats.calls, stats.attempts, stats.retries), (2, 4, 2));
    assert_eq!((stats.retried_successes, stats.non_retryable_failures), (1, 1));
}
