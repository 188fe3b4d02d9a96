//! Retry policies from a configuration file, per operation, reloaded while
//! the program runs; a named circuit breaker configured by the same file.
//!
//! A loopback server answers two operations: `get_product` fails while it
//! has failures queued, `list_products` takes 150 ms. The first file gives
//! `get_product` two attempts and `list_products` a 50 ms timeout: both
//! fail. The file is rewritten (five attempts, a 500 ms timeout) and
//! reloaded: the same calls succeed. The breaker's status is printed.
//!
//! Run with `cargo run -p examples --example config`.

use std::error::Error;
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::config::Policies;
use retry_runtime::{CircuitBreaker, CircuitOpen, TimedOut, breaker, retry};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The file as first deployed, in the shape of the design documents.
pub(crate) const FIRST: &str = r#"
[default]
max_attempts = 3
base = "10ms"
cap = "200ms"
jitter = "none"

[operations.list_products]
timeout = "50ms"

[operations.get_product]
max_attempts = 2
base = "20ms"
timeout = "1s"

[breakers.query_service]
failure_threshold = 8
success_threshold = 1
cool_down = "30s"
"#;

/// The file an operator writes next: more attempts, a longer timeout.
pub(crate) const SECOND: &str = r#"
[default]
max_attempts = 3
base = "10ms"
cap = "200ms"
jitter = "none"

[operations.list_products]
timeout = "500ms"

[operations.get_product]
max_attempts = 5
base = "20ms"
timeout = "1s"

[breakers.query_service]
failure_threshold = 8
cool_down = "30s"
"#;

/// Named: `breaker::status()` lists it, the file's `[breakers.query_service]` configures it.
static QUERY_SERVICE: CircuitBreaker = CircuitBreaker::new().named("query_service");

/// Why a query failed.
#[derive(Debug)]
pub(crate) enum QueryError {
    /// The server said so.
    Unavailable,
    /// The connection failed.
    Io(io::Error),
    /// The attempt ran past the configured timeout.
    TimedOut,
    /// The breaker refused the call.
    Open,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Unavailable => f.write_str("unavailable"),
            QueryError::Io(error) => write!(f, "i/o: {error}"),
            QueryError::TimedOut => f.write_str("timed out"),
            QueryError::Open => f.write_str("circuit open"),
        }
    }
}

impl Error for QueryError {}

impl From<TimedOut> for QueryError {
    fn from(_: TimedOut) -> Self {
        QueryError::TimedOut
    }
}

impl From<CircuitOpen> for QueryError {
    fn from(_: CircuitOpen) -> Self {
        QueryError::Open
    }
}

impl From<io::Error> for QueryError {
    fn from(error: io::Error) -> Self {
        QueryError::Io(error)
    }
}

/// One request line, one reply line.
async fn ask(server: &Server, operation: &str) -> Result<String, QueryError> {
    let mut stream = TcpStream::connect(server.address).await?;
    stream.write_all(format!("{operation}\n").as_bytes()).await?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).await?;
    match reply.trim() {
        "unavailable" => Err(QueryError::Unavailable),
        answer => Ok(answer.to_owned()),
    }
}

#[retry(config = "get_product", breaker = QUERY_SERVICE)]
async fn get_product(server: &Server) -> Result<String, QueryError> {
    ask(server, "get_product").await
}

#[retry(config = "list_products")]
async fn list_products(server: &Server) -> Result<String, QueryError> {
    ask(server, "list_products").await
}

/// The loopback server and what it has seen.
pub(crate) struct Server {
    address: std::net::SocketAddr,
    state: Arc<ServerState>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct ServerState {
    /// `get_product` requests still to fail.
    failures_queued: AtomicU32,
    get_product: AtomicU32,
    list_products: AtomicU32,
}

impl Server {
    async fn start() -> io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(ServerState::default());
        let served = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&served)));
            }
        });
        Ok(Server { address, state, task })
    }

    /// Requests of each operation since the last call: `(get_product, list_products)`.
    fn take_hits(&self) -> (u32, u32) {
        (self.state.get_product.swap(0, Ordering::Relaxed), self.state.list_products.swap(0, Ordering::Relaxed))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: TcpStream, state: Arc<ServerState>) {
    let (read, mut write) = stream.into_split();
    let mut request = String::new();
    if BufReader::new(read).read_line(&mut request).await.is_err() {
        return;
    }
    let reply = match request.trim() {
        "get_product" => {
            state.get_product.fetch_add(1, Ordering::Relaxed);
            let failing =
                state.failures_queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            if failing.is_ok() { "unavailable" } else { "product 42: widget" }
        }
        "list_products" => {
            state.list_products.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(150)).await;
            "42 products"
        }
        _ => "unavailable",
    };
    let _ = write.write_all(format!("{reply}\n").as_bytes()).await;
}

/// Reads the file and installs it.
fn reload(path: &Path) -> Result<(), Box<dyn Error>> {
    let policies: Policies = toml::from_str(&std::fs::read_to_string(path)?)?;
    policies.install();
    Ok(())
}

/// What one phase saw (printed here, asserted by `tests/config.rs`).
#[derive(Debug)]
#[allow(dead_code, reason = "read by the example's test")]
pub(crate) struct Phase {
    /// `get_product`'s result, as text.
    pub(crate) get_product: Result<String, String>,
    /// `list_products`'s result, as text.
    pub(crate) list_products: Result<String, String>,
    /// Requests the server saw: `(get_product, list_products)`.
    pub(crate) hits: (u32, u32),
    /// `query_service`'s status after the phase: `(state, failures, times opened)`.
    pub(crate) breaker: Option<(String, u64, u64)>,
}

async fn phase(server: &Server, label: &str) -> Phase {
    server.state.failures_queued.store(3, Ordering::Relaxed);
    let get_product = get_product(server).await.map_err(|e| e.to_string());
    let list_products = list_products(server).await.map_err(|e| e.to_string());
    let hits = server.take_hits();
    println!("{label}");
    println!("  get_product   -> {get_product:?} after {} attempts", hits.0);
    println!("  list_products -> {list_products:?} after {} attempts", hits.1);
    let breaker = breaker::status().into_iter().find(|status| status.name == "query_service");
    for status in breaker::status() {
        println!(
            "  breaker {}: {}, {} failures, opened {} times",
            status.name, status.state, status.failures, status.times_opened
        );
    }
    let breaker = breaker.map(|status| (status.state.to_string(), status.failures, status.times_opened));
    Phase { get_product, list_products, hits, breaker }
}

/// Runs both phases against a loopback server: `(first, second)`.
///
/// # Errors
/// The server could not start, or a file could not be written or read.
pub(crate) async fn run() -> Result<(Phase, Phase), Box<dyn Error>> {
    let server = Server::start().await?;
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("retry.toml");

    std::fs::write(&path, FIRST)?;
    reload(&path)?;
    let first = phase(&server, "first file: get_product max_attempts = 2, list_products timeout = 50ms").await;

    // The operator edits the file; the program reloads it without restarting.
    std::fs::write(&path, SECOND)?;
    reload(&path)?;
    let second = phase(&server, "after the reload: get_product max_attempts = 5, list_products timeout = 500ms").await;
    Ok((first, second))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    run().await.map(|_| ())
}
