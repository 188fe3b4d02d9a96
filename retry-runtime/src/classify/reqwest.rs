//! `reqwest`: its errors, and responses whose status is worth retrying.
//!
//! | `reqwest::Error` | transient? |
//! |---|---|
//! | connect (`is_connect`: refused, reset during connect, DNS) | yes |
//! | timeout (`is_timeout`: the client's `timeout`, `connect_timeout`, `read_timeout`) | yes |
//! | request (`is_request`: the connection failed while sending or awaiting the response) | yes |
//! | body (`is_body`: the connection failed mid-body) | yes |
//! | decode (`is_decode`) caused by a failed body read | yes |
//! | decode of a complete body (malformed JSON) | no |
//! | status (`error_for_status`) | as its status code, see [`http`](super::http) |
//! | builder (bad URL, bad header), redirect (loop, too many), upgrade | no |
//!
//! An outbound function usually returns the *response*, and a 503 is an
//! `Ok(Response)` as far as reqwest is concerned. To retry it, turn a
//! transient status into an error with
//! [`error_for_transient_status`](ResponseExt::error_for_transient_status),
//! which keeps the response, so `Retry-After` is honoured, and return
//! [`RequestError`], which holds either kind of error:
//!
//! ```no_run
//! use retry_runtime::classify::is_transient;
//! use retry_runtime::classify::reqwest::{RequestError, ResponseExt};
//! use retry_runtime::retry;
//!
//! #[retry(max = 4, base = "200ms", cap = "10s", on = is_transient)]
//! async fn fetch(client: &reqwest::Client, url: &str) -> Result<String, RequestError> {
//!     let response = client.get(url).send().await?; // connect, timeout, reset: retried
//!     let response = response
//!         .error_for_transient_status()? // 408, 429, 5xx: retried, after `Retry-After` if given
//!         .error_for_status()?; // 404 and other failures: returned at once
//!     Ok(response.text().await?)
//! }
//! ```

use std::fmt;
use std::time::Duration;

use reqwest::{Response, StatusCode};

use super::{Transient, find_source};

impl Transient for reqwest::Error {
    fn is_transient(&self) -> bool {
        if let Some(status) = self.status() {
            return status.is_transient();
        }
        if self.is_timeout() || self.is_connect() || self.is_request() || self.is_body() {
            return true;
        }
        if self.is_decode() {
            // reqwest reports a body that could not be read as a decode
            // error wrapping a body error; a body that was read but is not
            // valid JSON has no such cause.
            if let Some(cause) = std::error::Error::source(self) {
                return find_source::<reqwest::Error>(cause).is_some_and(Transient::is_transient)
                    || find_source::<std::io::Error>(cause).is_some_and(Transient::is_transient);
            }
        }
        false
    }
}

impl Transient for Response {
    fn is_transient(&self) -> bool {
        self.status().is_transient()
    }

    fn retry_after(&self) -> Option<Duration> {
        super::http::retry_after(self.headers())
    }
}

/// Turns a response whose status is worth retrying into an error.
pub trait ResponseExt: Sized {
    /// `Err` for a transient status (408, 429, 500, 502, 503, 504), keeping
    /// the response so its `Retry-After` header is honoured; `Ok` for any
    /// other status, including other failures: follow with reqwest's
    /// `error_for_status` to return those as permanent errors.
    ///
    /// ```no_run
    /// use retry_runtime::classify::reqwest::{RequestError, ResponseExt};
    ///
    /// async fn get(url: &str) -> Result<String, RequestError> {
    ///     let response = reqwest::get(url).await?.error_for_transient_status()?.error_for_status()?;
    ///     Ok(response.text().await?)
    /// }
    /// # let _ = get;
    /// ```
    ///
    /// # Errors
    ///
    /// [`TransientStatus`], holding the response, when its status is transient.
    fn error_for_transient_status(self) -> Result<Self, TransientStatus>;
}

impl ResponseExt for Response {
    fn error_for_transient_status(self) -> Result<Self, TransientStatus> {
        if self.status().is_transient() { Err(TransientStatus { response: Box::new(self) }) } else { Ok(self) }
    }
}

/// A response whose status is worth retrying (408, 429, 500, 502, 503,
/// 504), as an error; made by
/// [`error_for_transient_status`](ResponseExt::error_for_transient_status).
///
/// Always transient; its [`retry_after`](Transient::retry_after) is the
/// response's `Retry-After`. When the retries run out, the caller still has
/// the last response: [`into_response`](Self::into_response).
///
/// ```no_run
/// use retry_runtime::classify::reqwest::ResponseExt;
///
/// async fn status_of(url: &str) -> reqwest::StatusCode {
///     let response = reqwest::get(url).await.unwrap();
///     match response.error_for_transient_status() {
///         Ok(response) => response.status(),
///         Err(busy) => busy.status(),
///     }
/// }
/// # let _ = status_of;
/// ```
#[derive(Debug)]
pub struct TransientStatus {
    // Boxed: a `Response` is large, and this travels in `Err`.
    response: Box<Response>,
}

impl TransientStatus {
    /// The response's status.
    ///
    /// See [`TransientStatus`] for an example.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// The response itself: headers, URL, and the unread body.
    ///
    /// ```no_run
    /// # use retry_runtime::classify::reqwest::TransientStatus;
    /// fn server(error: &TransientStatus) -> Option<&str> {
    ///     error.response().headers().get("server")?.to_str().ok()
    /// }
    /// # let _ = server;
    /// ```
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// Gives the response back, for instance to read the error body.
    ///
    /// ```no_run
    /// # use retry_runtime::classify::reqwest::TransientStatus;
    /// async fn body(error: TransientStatus) -> String {
    ///     error.into_response().text().await.unwrap_or_default()
    /// }
    /// # let _ = body;
    /// ```
    pub fn into_response(self) -> Response {
        *self.response
    }
}

impl fmt::Display for TransientStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP status {} for url ({})", self.response.status(), self.response.url())
    }
}

impl std::error::Error for TransientStatus {}

impl Transient for TransientStatus {
    fn is_transient(&self) -> bool {
        true
    }

    fn retry_after(&self) -> Option<Duration> {
        self.response.retry_after()
    }
}

/// The error of an outbound call: reqwest's own, or a response with a
/// transient status. Both convert with `?`.
///
/// ```
/// use retry_runtime::classify::reqwest::RequestError;
/// use retry_runtime::classify::Transient;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Nothing listens on port 1: connection refused, a transient error.
/// let error: RequestError = reqwest::get("http://127.0.0.1:1/").await.unwrap_err().into();
/// assert!(error.is_transient());
/// assert_eq!(error.status(), None);
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The request failed, or `error_for_status` turned a status into an error.
    #[error(transparent)]
    Reqwest(#[from] reqwest::Error),
    /// The response's status is transient.
    #[error(transparent)]
    TransientStatus(#[from] TransientStatus),
}

impl RequestError {
    /// The HTTP status, when there was a response.
    ///
    /// See [`RequestError`] for an example.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RequestError::Reqwest(error) => error.status(),
            RequestError::TransientStatus(error) => Some(error.status()),
        }
    }
}

impl Transient for RequestError {
    fn is_transient(&self) -> bool {
        match self {
            RequestError::Reqwest(error) => error.is_transient(),
            RequestError::TransientStatus(error) => error.is_transient(),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            RequestError::Reqwest(error) => error.retry_after(),
            RequestError::TransientStatus(error) => error.retry_after(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::Verdict;
    use crate::classify::is_transient;

    /// What the test server does with one connection.
    enum Reply {
        /// Writes these bytes and closes.
        Bytes(String),
        /// Resets the connection (RST) after reading the request.
        Reset,
        /// Reads the request and never answers.
        Hang,
    }

    fn status(line: &str, headers: &str) -> Reply {
        Reply::Bytes(format!("HTTP/1.1 {line}\r\n{headers}content-length: 0\r\nconnection: close\r\n\r\n"))
    }

    /// A real HTTP/1.1 server on 127.0.0.1 answering one connection per reply.
    async fn serve(replies: Vec<Reply>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for reply in replies {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut request = Vec::new();
                let mut buffer = [0; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let read = stream.read(&mut buffer).await.unwrap();
                    if read == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..read]);
                }
                match reply {
                    Reply::Bytes(bytes) => {
                        stream.write_all(bytes.as_bytes()).await.unwrap();
                        stream.shutdown().await.unwrap();
                    }
                    Reply::Reset => stream.set_zero_linger().unwrap(),
                    Reply::Hang => std::mem::forget(stream),
                }
            }
        });
        addr
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    #[tokio::test]
    async fn connection_refused_is_transient() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let error = client().get(format!("http://127.0.0.1:{port}/")).send().await.unwrap_err();
        assert!(error.is_connect(), "{error:?}");
        assert!(error.is_transient());
        assert_eq!(is_transient(&error), Verdict::Retry);
    }

    #[tokio::test]
    async fn timeout_is_transient() {
        let addr = serve(vec![Reply::Hang]).await;
        let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_millis(100)).build().unwrap();
        let error = client.get(format!("http://{addr}/")).send().await.unwrap_err();
        assert!(error.is_timeout(), "{error:?}");
        assert!(error.is_transient());
    }

    #[tokio::test]
    async fn connection_reset_while_waiting_for_the_response_is_transient() {
        let addr = serve(vec![Reply::Reset]).await;
        let error = client().get(format!("http://{addr}/")).send().await.unwrap_err();
        assert!(error.is_request(), "{error:?}");
        assert!(error.is_transient());
    }

    #[tokio::test]
    async fn body_cut_short_is_transient() {
        let addr = serve(vec![Reply::Bytes("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this".into())]).await;
        let response = client().get(format!("http://{addr}/")).send().await.unwrap();
        let error = response.text().await.unwrap_err();
        assert!(error.is_decode() || error.is_body(), "{error:?}");
        assert!(error.is_transient(), "{error:?}");
    }

    #[tokio::test]
    async fn malformed_json_is_permanent() {
        let body = "not json";
        let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        let addr = serve(vec![Reply::Bytes(reply)]).await;
        let response = client().get(format!("http://{addr}/")).send().await.unwrap();
        let error = response.json::<Vec<u32>>().await.unwrap_err();
        assert!(error.is_decode(), "{error:?}");
        assert!(!error.is_transient());
    }

    #[tokio::test]
    async fn builder_errors_are_permanent() {
        let error = client().get("http://exa mple.com/").send().await.unwrap_err();
        assert!(error.is_builder(), "{error:?}");
        assert!(!error.is_transient());
    }

    #[tokio::test]
    async fn redirect_loops_are_permanent() {
        let addr = serve((0..3).map(|_| status("302 Found", "location: /again\r\n")).collect()).await;
        let client = reqwest::Client::builder().no_proxy().redirect(reqwest::redirect::Policy::limited(2)).build();
        let error = client.unwrap().get(format!("http://{addr}/")).send().await.unwrap_err();
        assert!(error.is_redirect(), "{error:?}");
        assert!(!error.is_transient());
    }

    #[tokio::test]
    async fn status_errors_follow_their_status() {
        let addr = serve(vec![status("503 Service Unavailable", ""), status("404 Not Found", "")]).await;
        let unavailable = client().get(format!("http://{addr}/")).send().await.unwrap().error_for_status().unwrap_err();
        assert_eq!(unavailable.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert!(unavailable.is_transient());
        let not_found = client().get(format!("http://{addr}/")).send().await.unwrap().error_for_status().unwrap_err();
        assert_eq!(not_found.status(), Some(StatusCode::NOT_FOUND));
        assert!(!not_found.is_transient());
    }

    #[tokio::test]
    async fn a_transient_response_keeps_its_retry_after() {
        let addr = serve(vec![
            status("503 Service Unavailable", "retry-after: 3\r\n"),
            status("429 Too Many Requests", "retry-after: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
            status("502 Bad Gateway", ""),
        ])
        .await;
        let url = format!("http://{addr}/");

        let response = client().get(&url).send().await.unwrap();
        assert_eq!(is_transient(&response), Verdict::RetryAfter(Duration::from_secs(3)));
        let error = RequestError::from(response.error_for_transient_status().unwrap_err());
        assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(is_transient(&error), Verdict::RetryAfter(Duration::from_secs(3)));
        assert_eq!(error.to_string(), format!("HTTP status 503 Service Unavailable for url ({url})"));

        let error = client().get(&url).send().await.unwrap().error_for_transient_status().unwrap_err();
        assert_eq!(is_transient(&error), Verdict::RetryAfter(Duration::ZERO)); // a date in the past

        let error = client().get(&url).send().await.unwrap().error_for_transient_status().unwrap_err();
        assert_eq!(is_transient(&error), Verdict::Retry);
        assert_eq!(error.into_response().status(), StatusCode::BAD_GATEWAY);
    }

    #[tokio::test]
    async fn other_statuses_pass_through() {
        let addr = serve(vec![status("200 OK", ""), status("404 Not Found", "")]).await;
        let url = format!("http://{addr}/");
        let ok = client().get(&url).send().await.unwrap().error_for_transient_status().unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        let not_found = client().get(&url).send().await.unwrap().error_for_transient_status().unwrap();
        let error = RequestError::from(not_found.error_for_status().unwrap_err());
        assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(is_transient(&error), Verdict::Stop);
    }

    #[test]
    fn errors_are_send_and_sync() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<RequestError>();
        send_sync::<TransientStatus>();
    }
}
