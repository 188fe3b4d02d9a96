//! Classifiers of a service's whole `Result<Response, Error>`, where a
//! transient answer may be an `Ok`.

use crate::closure::Classify;
use crate::verdict::Verdict;

/// The default classifier of [`RetryLayer`](crate::tower::RetryLayer):
/// every `Err` is retried, every `Ok` is a success.
///
/// ```
/// use retry_runtime::tower::RetryErrors;
/// use retry_runtime::{Classify, Verdict};
///
/// assert_eq!(RetryErrors.classify(&Err::<u16, _>("reset")), Verdict::Retry);
/// assert_eq!(RetryErrors.classify(&Ok::<_, &str>(503)), Verdict::Stop);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RetryErrors;

impl<Res, E> Classify<Result<Res, E>> for RetryErrors {
    fn classify(&self, result: &Result<Res, E>) -> Verdict {
        if result.is_err() { Verdict::Retry } else { Verdict::Stop }
    }
}

/// Classifies an HTTP service's result as `#[retry(on = is_transient)]`
/// classifies an `http::Response`: a response with a transient status (408,
/// 429, 500, 502, 503, 504) is retried, after its `Retry-After` when it has
/// one; any other response is a success; every `Err` (the connection
/// failed) is retried.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::tower::is_transient_http;
/// use retry_runtime::Verdict;
///
/// let busy = http::Response::builder().status(503).header("retry-after", "2").body(()).unwrap();
/// assert_eq!(is_transient_http(&Ok::<_, std::io::Error>(busy)), Verdict::RetryAfter(Duration::from_secs(2)));
/// let missing = http::Response::builder().status(404).body(()).unwrap();
/// assert_eq!(is_transient_http(&Ok::<_, std::io::Error>(missing)), Verdict::Stop);
/// ```
#[cfg(feature = "http")]
pub fn is_transient_http<B, E>(result: &Result<http::Response<B>, E>) -> Verdict {
    match result {
        Ok(response) => crate::classify::is_transient(response),
        Err(_) => Verdict::Retry,
    }
}

/// Classifies a gRPC channel's result as `#[retry(on = is_transient)]`
/// classifies a `tonic::Status`: the status a server answered without a
/// body (a trailers-only response: how a server refuses a call it did not
/// start, and the only failure gRPC retries, per gRFC A6) is retried when
/// its code is `Unavailable`, `DeadlineExceeded`, `ResourceExhausted` or
/// `Aborted`, after the server's `grpc-retry-pushback-ms` when it gave one;
/// any other response is a success (its status, if any, comes with the
/// body); every `Err` (the connection failed) is retried.
///
/// ```
/// use retry_runtime::tower::is_transient_grpc;
/// use retry_runtime::Verdict;
///
/// let unavailable = tonic::Status::unavailable("draining").into_http::<()>();
/// assert_eq!(is_transient_grpc(&Ok::<_, std::io::Error>(unavailable)), Verdict::Retry);
/// let not_found = tonic::Status::not_found("no such service").into_http::<()>();
/// assert_eq!(is_transient_grpc(&Ok::<_, std::io::Error>(not_found)), Verdict::Stop);
/// ```
#[cfg(feature = "tonic")]
pub fn is_transient_grpc<B, E>(result: &Result<http::Response<B>, E>) -> Verdict {
    grpc_verdict(crate::classify::grpc::RetryableCodes::DEFAULT, result)
}

/// [`is_transient_grpc`] with a set of codes of your own.
///
/// ```
/// use retry_runtime::classify::grpc::RetryableCodes;
/// use retry_runtime::tower::grpc_codes;
/// use retry_runtime::Verdict;
///
/// let classify = grpc_codes(RetryableCodes::DEFAULT.with(tonic::Code::Internal));
/// let internal = tonic::Status::internal("oops").into_http::<()>();
/// assert_eq!(classify(&Ok::<_, std::io::Error>(internal)), Verdict::Retry);
/// ```
#[cfg(feature = "tonic")]
pub fn grpc_codes<B, E>(
    codes: crate::classify::grpc::RetryableCodes,
) -> impl Fn(&Result<http::Response<B>, E>) -> Verdict + Clone + Send + Sync {
    move |result| grpc_verdict(codes, result)
}

#[cfg(feature = "tonic")]
fn grpc_verdict<B, E>(codes: crate::classify::grpc::RetryableCodes, result: &Result<http::Response<B>, E>) -> Verdict {
    match result {
        Ok(response) => tonic::Status::from_header_map(response.headers())
            .filter(|status| status.code() != tonic::Code::Ok)
            .map_or(Verdict::Stop, |status| codes.verdict(&status)),
        Err(_) => Verdict::Retry,
    }
}
