//! An outbound HTTP client whose `async fn` methods carry `#[retry]`,
//! against a real HTTP server on 127.0.0.1.
//!
//! The server, started in this process on an ephemeral port, answers
//! `GET /report` with 503 and `Retry-After: 1`, then 429 with a
//! `Retry-After` date two seconds ahead, then resets the connection, and
//! then succeeds; `GET /missing` is a 404. The client (reqwest) logs each
//! retry: `Retry-After` replaces the backoff delay, the reset is retried on
//! the policy's own delay, and the 404 is returned at once.
//!
//! Run it with `cargo run -p examples --example http_client`.

use std::collections::BTreeMap;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use reqwest::StatusCode;
use retry_runtime::classify::is_transient;
use retry_runtime::classify::reqwest::{RequestError, ResponseExt};
use retry_runtime::{RetryEvent, retry};

/// A client of the report service.
struct Api {
    http: reqwest::Client,
    base: String,
    retries: Mutex<Vec<RetryRecord>>,
}

/// One retry, as the `on_retry` hook saw it.
#[derive(Debug, Clone)]
pub(crate) struct RetryRecord {
    /// The attempt that failed, 1-based.
    pub(crate) attempt: u32,
    /// The failed attempt's HTTP status, if it got a response.
    pub(crate) status: Option<StatusCode>,
    /// How long the client waited before the next attempt.
    pub(crate) delay: Duration,
}

impl Api {
    fn new(base: String) -> reqwest::Result<Self> {
        // No proxy: the server is on the loopback interface.
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build()?;
        Ok(Api { http, base, retries: Mutex::new(Vec::new()) })
    }

    /// Fetches `path` as text.
    ///
    /// Connection failures, timeouts and transient statuses (408, 429, 5xx)
    /// are retried, after `Retry-After` when the server sends one (capped at
    /// 5 s); any other failure, such as a 404, is returned at once.
    #[retry(max = 5, base = "100ms", cap = "5s", on = is_transient, on_retry = |event| self.record(event))]
    async fn get(&self, path: &str) -> Result<String, RequestError> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await?;
        let response = response.error_for_transient_status()?.error_for_status()?;
        Ok(response.text().await?)
    }

    /// Logs a retry and keeps it for the summary.
    fn record(&self, event: &RetryEvent<'_, RequestError>) {
        println!(
            "  attempt {}/{} failed: {}\n    -> retrying in {:?}",
            event.attempt(),
            event.max_attempts(),
            chain(event.error()),
            event.delay()
        );
        let record = RetryRecord { attempt: event.attempt(), status: event.error().status(), delay: event.delay() };
        self.retries.lock().unwrap_or_else(PoisonError::into_inner).push(record);
    }

    fn take_retries(&self) -> Vec<RetryRecord> {
        std::mem::take(&mut *self.retries.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// An error and its causes, on one line.
fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        text.push_str(": ");
        text.push_str(&error.to_string());
        cause = error.source();
    }
    text
}

/// A small HTTP/1.1 server that misbehaves on purpose.
mod server {
    use super::{Arc, BTreeMap, Duration, Mutex, PoisonError, SocketAddr, SystemTime};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// Requests received, per path.
    pub(crate) type Hits = Arc<Mutex<BTreeMap<String, u32>>>;

    /// Binds an ephemeral port on 127.0.0.1 and serves on a background task.
    pub(crate) async fn start() -> std::io::Result<(SocketAddr, Hits)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let hits = Hits::default();
        let served = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let hits = Arc::clone(&served);
                tokio::spawn(async move {
                    if let Err(error) = handle(stream, &hits).await {
                        eprintln!("server: {error}");
                    }
                });
            }
        });
        Ok((addr, hits))
    }

    async fn handle(mut stream: TcpStream, hits: &Hits) -> std::io::Result<()> {
        // Read the request head; these requests have no body.
        let mut head = Vec::new();
        let mut buffer = [0; 1024];
        while !head.windows(4).any(|window| window == b"\r\n\r\n") {
            let read = stream.read(&mut buffer).await?;
            if read == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buffer[..read]);
        }
        let head = String::from_utf8_lossy(&head);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let hit = {
            let mut hits = hits.lock().unwrap_or_else(PoisonError::into_inner);
            let hit = hits.entry(path.clone()).or_insert(0);
            *hit += 1;
            *hit
        };

        let reply = match (path.as_str(), hit) {
            ("/report", 1) => reply("503 Service Unavailable", "retry-after: 1\r\n", "busy"),
            ("/report", 2) => {
                let date = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
                reply("429 Too Many Requests", &format!("retry-after: {date}\r\n"), "slow down")
            }
            ("/report", 3) => {
                // Linger zero: closing sends RST, the client sees a reset.
                stream.set_zero_linger()?;
                return Ok(());
            }
            ("/report", _) => reply("200 OK", "", "quarterly report: 42 widgets sold"),
            _ => reply("404 Not Found", "", "no such report"),
        };
        stream.write_all(reply.as_bytes()).await?;
        stream.shutdown().await
    }

    fn reply(status: &str, headers: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
            body.len()
        )
    }
}

/// What the scenario saw.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The body of `/report`, fetched through 503, 429 and a reset.
    pub(crate) body: String,
    /// The retries made for it.
    pub(crate) retries: Vec<RetryRecord>,
    /// How long fetching it took.
    pub(crate) elapsed: Duration,
    /// The status of `/missing`'s error.
    pub(crate) missing_status: Option<StatusCode>,
    /// The retries made for it (none expected).
    pub(crate) missing_retries: Vec<RetryRecord>,
    /// Requests the server received, per path.
    pub(crate) hits: BTreeMap<String, u32>,
}

/// Starts the server, fetches `/report` and `/missing`, and reports.
pub(crate) async fn run() -> Result<Outcome, Box<dyn Error>> {
    let (addr, hits) = server::start().await?;
    println!("server listening on http://{addr}");
    let api = Api::new(format!("http://{addr}"))?;

    println!("\nGET /report");
    let started = Instant::now();
    let body = api.get("/report").await?;
    let elapsed = started.elapsed();
    println!("  ok after {elapsed:.2?}: {body:?}");
    let retries = api.take_retries();

    println!("\nGET /missing");
    let missing = api.get("/missing").await;
    let missing_status = missing.as_ref().err().and_then(RequestError::status);
    match &missing {
        Ok(body) => println!("  unexpected success: {body:?}"),
        Err(error) => println!("  failed at once, not retried: {}", chain(error)),
    }
    let missing_retries = api.take_retries();

    let hits = hits.lock().unwrap_or_else(PoisonError::into_inner).clone();
    Ok(Outcome { body, retries, elapsed, missing_status, missing_retries, hits })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let outcome = run().await?;
    let hits = |path: &str| outcome.hits.get(path).copied().unwrap_or(0);
    println!("\nsummary:");
    println!("  /report:  {} requests, {} bytes after {:.2?}", hits("/report"), outcome.body.len(), outcome.elapsed);
    for retry in &outcome.retries {
        let cause = retry.status.map_or_else(|| "a reset connection".to_owned(), |status| status.to_string());
        println!("    attempt {} failed with {cause}; waited {:.2?}", retry.attempt, retry.delay);
    }
    let missing = outcome.missing_status.map_or_else(|| "no status".to_owned(), |status| status.to_string());
    println!("  /missing: {} request, {} retries: {missing}", hits("/missing"), outcome.missing_retries.len());
    Ok(())
}
