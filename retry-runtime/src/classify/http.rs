//! HTTP status codes and responses (the `http` crate), and `Retry-After`.
//!
//! | status | transient? |
//! |---|---|
//! | 408 Request Timeout, 429 Too Many Requests | yes |
//! | 500 Internal Server Error, 502 Bad Gateway, 503 Service Unavailable, 504 Gateway Timeout | yes |
//! | other 4xx (400, 401, 403, 404, 409, 422, …) | no |
//! | other 5xx (501 Not Implemented, 505, …) | no |
//! | 1xx, 2xx, 3xx | no (not errors) |
//!
//! A transient [`Response`] with a `Retry-After` header answers
//! [`Verdict::RetryAfter`](crate::Verdict::RetryAfter) with the server's
//! delay, in either form: delta-seconds (`Retry-After: 120`) or an HTTP-date
//! (`Retry-After: Wed, 21 Oct 2015 07:28:00 GMT`; a date already past means
//! "now"). The loop still caps it with the policy's `cap`. A malformed value
//! is ignored: the policy's own delay applies.
//!
//! ```
//! use std::time::Duration;
//! use http::{header::RETRY_AFTER, Response, StatusCode};
//! use retry_runtime::classify::is_transient;
//! use retry_runtime::Verdict;
//!
//! let busy = Response::builder().status(503).header(RETRY_AFTER, "2").body(()).unwrap();
//! assert_eq!(is_transient(&busy), Verdict::RetryAfter(Duration::from_secs(2)));
//! assert_eq!(is_transient(&StatusCode::BAD_GATEWAY), Verdict::Retry);
//! assert_eq!(is_transient(&StatusCode::NOT_FOUND), Verdict::Stop);
//! ```

use std::time::{Duration, SystemTime};

use http::header::RETRY_AFTER;
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use super::Transient;

impl Transient for StatusCode {
    fn is_transient(&self) -> bool {
        matches!(
            *self,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::INTERNAL_SERVER_ERROR
                | StatusCode::BAD_GATEWAY
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        )
    }
}

impl<B> Transient for Response<B> {
    fn is_transient(&self) -> bool {
        self.status().is_transient()
    }

    fn retry_after(&self) -> Option<Duration> {
        retry_after(self.headers())
    }
}

/// The delay a `Retry-After` header asks for, measured from now.
///
/// `None` when the header is absent or malformed. A date in the past gives
/// [`Duration::ZERO`]. See [`parse_retry_after`] for the forms accepted.
///
/// ```
/// use std::time::Duration;
/// use http::{header::RETRY_AFTER, HeaderMap, HeaderValue};
/// use retry_runtime::classify::http::retry_after;
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(retry_after(&headers), None);
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("30"));
/// assert_eq!(retry_after(&headers), Some(Duration::from_secs(30)));
/// ```
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers.get(RETRY_AFTER).and_then(|value| parse_retry_after(value, SystemTime::now()))
}

/// Parses one `Retry-After` value (RFC 9110, section 10.2.3) as a delay
/// from `now`.
///
/// Accepts delta-seconds (`"120"`) and an HTTP-date in any of the three
/// forms HTTP allows (`"Sun, 06 Nov 1994 08:49:37 GMT"`, the obsolete RFC 850
/// and asctime forms). A date before `now` gives [`Duration::ZERO`]: retry now.
/// Anything else (a negative or fractional number, garbage) gives `None`.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use http::HeaderValue;
/// use retry_runtime::classify::http::parse_retry_after;
///
/// // 1994-11-06 08:49:37 UTC.
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
/// let date = HeaderValue::from_static("Sun, 06 Nov 1994 08:50:07 GMT");
/// assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after(&HeaderValue::from_static("5"), now), Some(Duration::from_secs(5)));
/// assert_eq!(parse_retry_after(&HeaderValue::from_static("soon"), now), None);
/// ```
pub fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        // delta-seconds: a number too large for u64 still means "a very long
        // time"; the policy's cap bounds it anyway.
        return Some(Duration::from_secs(text.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::UNIX_EPOCH;

    use http::header::CONTENT_TYPE;

    use super::*;
    use crate::Verdict;
    use crate::classify::is_transient;

    fn response(status: u16, retry_after: Option<&str>) -> Response<String> {
        let mut builder = Response::builder().status(status).header(CONTENT_TYPE, "text/plain");
        if let Some(value) = retry_after {
            builder = builder.header(RETRY_AFTER, value);
        }
        builder.body("body".to_owned()).unwrap()
    }

    #[test]
    fn transient_statuses() {
        for status in [408, 429, 500, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(status.is_transient(), "{status}");
        }
    }

    #[test]
    fn other_client_and_server_errors_are_permanent() {
        for status in [400, 401, 403, 404, 405, 409, 410, 413, 418, 422, 451, 501, 505, 511] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(!status.is_transient(), "{status}");
        }
    }

    #[test]
    fn successes_and_redirects_are_not_transient() {
        for status in [100, 200, 204, 301, 304] {
            assert!(!StatusCode::from_u16(status).unwrap().is_transient());
        }
    }

    #[test]
    fn response_without_retry_after_retries_on_the_policy_delay() {
        assert_eq!(is_transient(&response(502, None)), Verdict::Retry);
        assert_eq!(is_transient(&response(404, None)), Verdict::Stop);
    }

    #[test]
    fn retry_after_delta_seconds() {
        assert_eq!(is_transient(&response(503, Some("7"))), Verdict::RetryAfter(Duration::from_secs(7)));
        assert_eq!(is_transient(&response(429, Some("0"))), Verdict::RetryAfter(Duration::ZERO));
        assert_eq!(is_transient(&response(429, Some(" 3 "))), Verdict::RetryAfter(Duration::from_secs(3)));
    }

    #[test]
    fn retry_after_on_a_permanent_status_does_not_make_it_transient() {
        assert_eq!(is_transient(&response(404, Some("1"))), Verdict::Stop);
    }

    #[test]
    fn retry_after_http_date_in_the_future() {
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        let Verdict::RetryAfter(delay) = is_transient(&response(503, Some(&in_a_minute))) else {
            panic!("expected RetryAfter");
        };
        // The date has one-second resolution, and a moment passed since.
        assert!(delay > Duration::from_secs(58) && delay <= Duration::from_secs(60), "{delay:?}");
    }

    #[test]
    fn retry_after_http_date_in_the_past_means_now() {
        let response = response(503, Some("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(is_transient(&response), Verdict::RetryAfter(Duration::ZERO));
    }

    #[test]
    fn retry_after_all_three_date_forms() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        for form in ["Sun, 06 Nov 1994 08:49:47 GMT", "Sunday, 06-Nov-94 08:49:47 GMT", "Sun Nov  6 08:49:47 1994"] {
            let value = HeaderValue::from_str(form).unwrap();
            assert_eq!(parse_retry_after(&value, now), Some(Duration::from_secs(10)), "{form}");
        }
    }

    #[test]
    fn malformed_retry_after_is_ignored() {
        let now = SystemTime::now();
        for value in ["", "-1", "1.5", "soon", "Sun, 32 Nov 1994 08:49:37 GMT", "10 s"] {
            let value = HeaderValue::from_str(value).unwrap();
            assert_eq!(parse_retry_after(&value, now), None, "{value:?}");
        }
        // Still transient: the policy's delay applies.
        assert_eq!(is_transient(&response(503, Some("soon"))), Verdict::Retry);
    }

    #[test]
    fn huge_delta_seconds_saturate() {
        let value = HeaderValue::from_static("99999999999999999999999");
        assert_eq!(parse_retry_after(&value, SystemTime::now()), Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn non_ascii_retry_after_is_ignored() {
        let value = HeaderValue::from_bytes(b"\xff1").unwrap();
        assert_eq!(parse_retry_after(&value, SystemTime::now()), None);
    }
}
