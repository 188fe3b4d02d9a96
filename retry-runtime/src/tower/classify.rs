//! Classifiers of a service's whole `Result<Response, Error>`, where a
//! transient answer may be an `Ok`.

use crate::middleware::ClassifyResult;
use crate::verdict::Verdict;

/// The default classifier of [`RetryLayer`](crate::tower::RetryLayer):
/// every `Err` is retried, every `Ok` is a success.
///
/// ```
/// use retry_runtime::tower::{ClassifyResult, RetryErrors};
/// use retry_runtime::Verdict;
///
/// assert_eq!(RetryErrors.verdict(&Err::<u16, _>("reset")), Verdict::Retry);
/// assert_eq!(RetryErrors.verdict(&Ok::<_, &str>(503)), Verdict::Stop);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RetryErrors;

impl<Res, E> ClassifyResult<Res, E> for RetryErrors {
    fn verdict(&self, result: &Result<Res, E>) -> Verdict {
        if result.is_err() { Verdict::Retry } else { Verdict::Stop }
    }
}

/// Classifies an HTTP service's result as `#[retry(on = is_transient)]`
/// classifies an `http::Response`: a response with a transient status (408,
/// 429, 500, 502, 503, 504) is retried, after its `Retry-After` when it has
/// one; another 4xx or 5xx is a failure that is not retried; any other
/// response is a success; every `Err` (the connection failed) is retried.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::tower::{ClassifyResult, TransientHttp};
/// use retry_runtime::Verdict;
///
/// let busy = Ok::<_, std::io::Error>(http::Response::builder().status(503).header("retry-after", "2").body(()).unwrap());
/// assert_eq!(TransientHttp.verdict(&busy), Verdict::RetryAfter(Duration::from_secs(2)));
/// let missing = Ok::<_, std::io::Error>(http::Response::builder().status(404).body(()).unwrap());
/// assert_eq!(TransientHttp.verdict(&missing), Verdict::Stop);
/// assert!(TransientHttp.is_failure(&missing, Verdict::Stop)); // counted, not retried
/// ```
#[cfg(feature = "http")]
#[derive(Clone, Copy, Debug, Default)]
pub struct TransientHttp;

#[cfg(feature = "http")]
impl<B, E> ClassifyResult<http::Response<B>, E> for TransientHttp {
    fn verdict(&self, result: &Result<http::Response<B>, E>) -> Verdict {
        match result {
            Ok(response) => crate::classify::is_transient(response),
            Err(_) => Verdict::Retry,
        }
    }

    fn is_failure(&self, result: &Result<http::Response<B>, E>, _: Verdict) -> bool {
        result
            .as_ref()
            .ok()
            .is_none_or(|response| response.status().is_client_error() || response.status().is_server_error())
    }
}

/// Classifies a gRPC channel's result as `#[retry(on = is_transient)]`
/// classifies a `tonic::Status`: the status a server answered without a
/// body (a trailers-only response: how a server refuses a call it did not
/// start, and the only failure gRPC retries, per gRFC A6) is retried when
/// its code is in the set (by default `Unavailable`, `DeadlineExceeded`,
/// `ResourceExhausted`, `Aborted`), after the server's
/// `grpc-retry-pushback-ms` when it gave one; another code answered so is a
/// failure that is not retried; any other response is a success (its
/// status, if any, comes after the body); every `Err` (the connection
/// failed) is retried.
///
/// ```
/// use retry_runtime::classify::grpc::RetryableCodes;
/// use retry_runtime::tower::{ClassifyResult, TransientGrpc};
/// use retry_runtime::Verdict;
///
/// let unavailable = Ok::<_, std::io::Error>(tonic::Status::unavailable("draining").into_http::<()>());
/// assert_eq!(TransientGrpc::default().verdict(&unavailable), Verdict::Retry);
/// let not_found = Ok::<_, std::io::Error>(tonic::Status::not_found("no such service").into_http::<()>());
/// assert_eq!(TransientGrpc::default().verdict(&not_found), Verdict::Stop);
/// assert!(TransientGrpc::default().is_failure(&not_found, Verdict::Stop)); // counted, not retried
/// let internal = Ok::<_, std::io::Error>(tonic::Status::internal("oops").into_http::<()>());
/// let with_internal = TransientGrpc(RetryableCodes::DEFAULT.with(tonic::Code::Internal));
/// assert_eq!(with_internal.verdict(&internal), Verdict::Retry);
/// ```
#[cfg(feature = "tonic")]
#[derive(Clone, Copy, Debug, Default)]
pub struct TransientGrpc(pub crate::classify::grpc::RetryableCodes);

#[cfg(feature = "tonic")]
impl<B, E> ClassifyResult<http::Response<B>, E> for TransientGrpc {
    fn verdict(&self, result: &Result<http::Response<B>, E>) -> Verdict {
        match result {
            Ok(response) => grpc_status(response).map_or(Verdict::Stop, |status| self.0.verdict(&status)),
            Err(_) => Verdict::Retry,
        }
    }

    fn is_failure(&self, result: &Result<http::Response<B>, E>, _: Verdict) -> bool {
        result.as_ref().ok().is_none_or(|response| grpc_status(response).is_some())
    }
}

/// The status of a trailers-only response, unless it is `Ok`.
#[cfg(feature = "tonic")]
fn grpc_status<B>(response: &http::Response<B>) -> Option<tonic::Status> {
    tonic::Status::from_header_map(response.headers()).filter(|status| status.code() != tonic::Code::Ok)
}
