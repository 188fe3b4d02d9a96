//! A fleet of concurrent callers against a failing HTTP server on 127.0.0.1,
//! run twice: without a retry budget, then with one. It prints the load each
//! run put on the server.
//!
//! The server answers 503 to everything for its first `OUTAGE`, then 200.
//! Calls arrive as `CALLERS` users each calling every `PACE` for `RUN`, each
//! through a `#[retry(max = 4)]` function, whether or not earlier calls have
//! finished (an open loop, as user traffic is). Without a budget every failed call is tried
//! four times, so the outage quadruples the load on the server just when it
//! is weakest; with a [`RetryBudget`] shared by the fleet, retries stop once
//! they pass about a tenth of the calls, and the load stays close to the
//! calls themselves. After the outage both fleets succeed alike.
//!
//! Run it with `cargo run -p examples --example fleet`.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use retry_runtime::classify::is_transient;
use retry_runtime::classify::reqwest::{RequestError, ResponseExt};
use retry_runtime::{RetryBudget, Stats, retry};
use tokio::time::Instant;

/// How many users call.
const CALLERS: u32 = 20;
/// How often each caller calls.
const PACE: Duration = Duration::from_millis(50);
/// How long each fleet runs.
const RUN: Duration = Duration::from_millis(1_500);
/// How long the server fails, from the start of each run.
const OUTAGE: Duration = Duration::from_millis(800);

/// Shared by every caller of the budgeted fleet: a retry costs a token, each
/// call earns a tenth of one, and retries stop while fewer than half of the
/// 20 tokens are left (with at most 10 more per second).
pub(crate) static FLEET_BUDGET: RetryBudget = RetryBudget::new().capacity(20).ratio(0.1).min_retries_per_second(10);

static UNBUDGETED: Stats = Stats::new();
static BUDGETED: Stats = Stats::new();

/// The fleet's client.
struct Client {
    http: reqwest::Client,
    url: String,
}

impl Client {
    #[retry(max = 4, base = "20ms", cap = "200ms", on = is_transient, stats = UNBUDGETED)]
    async fn fetch(&self) -> Result<String, RequestError> {
        Ok(self.http.get(&self.url).send().await?.error_for_transient_status()?.text().await?)
    }

    #[retry(max = 4, base = "20ms", cap = "200ms", on = is_transient, stats = BUDGETED, budget = FLEET_BUDGET)]
    async fn fetch_within_budget(&self) -> Result<String, RequestError> {
        Ok(self.http.get(&self.url).send().await?.error_for_transient_status()?.text().await?)
    }
}

/// The load one run put on the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// Calls the fleet made (each a `fetch`, however many attempts it took).
    pub(crate) calls: u64,
    /// Requests the server received: attempts.
    pub(crate) requests: u64,
    /// Requests the server received while failing.
    pub(crate) requests_in_outage: u64,
    /// Calls made while it was failing (started before the outage ended).
    pub(crate) calls_in_outage: u64,
    /// Calls that returned `Ok`.
    pub(crate) successes: u64,
    /// Retries the budget refused.
    pub(crate) budget_refusals: u64,
}

impl Load {
    /// Requests per call: 1.0 means no retry at all.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn amplification(&self) -> f64 {
        self.requests as f64 / self.calls.max(1) as f64
    }

    /// Requests per call during the outage.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn outage_amplification(&self) -> f64 {
        self.requests_in_outage as f64 / self.calls_in_outage.max(1) as f64
    }
}

/// Runs both fleets, one after the other, each against a fresh server.
pub(crate) async fn run() -> Result<(Load, Load), Box<dyn Error>> {
    let without = fleet(false).await?;
    let with = fleet(true).await?;
    println!("{CALLERS} users, one call each per {PACE:?} for {RUN:?}; the server fails for the first {OUTAGE:?}\n");
    println!(
        "{:<16}{:>8}{:>10}{:>10}{:>22}{:>12}{:>10}",
        "", "calls", "requests", "per call", "per call in outage", "succeeded", "refused"
    );
    for (name, load) in [("without budget", without), ("with budget", with)] {
        println!(
            "{name:<16}{:>8}{:>10}{:>10.2}{:>22.2}{:>12}{:>10}",
            load.calls,
            load.requests,
            load.amplification(),
            load.outage_amplification(),
            load.successes,
            load.budget_refusals,
        );
    }
    Ok((without, with))
}

async fn fleet(budgeted: bool) -> Result<Load, Box<dyn Error>> {
    let server = server::start(OUTAGE).await?;
    // No proxy: the server is on the loopback interface.
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build()?;
    let client = Arc::new(Client { http, url: format!("http://{}/", server.addr) });
    let started = Instant::now();
    let mut calls_in_outage = 0;
    let mut calls = tokio::task::JoinSet::new();
    let mut ticks = tokio::time::interval(PACE / CALLERS);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Open loop, as users arrive: a new call every PACE / CALLERS, whether
    // or not the earlier ones have finished.
    while started.elapsed() < RUN {
        ticks.tick().await;
        if started.elapsed() < OUTAGE {
            calls_in_outage += 1;
        }
        let client = Arc::clone(&client);
        calls.spawn(async move {
            let reply = if budgeted { client.fetch_within_budget().await } else { client.fetch().await };
            drop(reply);
        });
    }
    while let Some(joined) = calls.join_next().await {
        joined?;
    }
    let stats = if budgeted { BUDGETED.snapshot() } else { UNBUDGETED.snapshot() };
    Ok(Load {
        calls: stats.calls,
        requests: server.requests.load(Relaxed),
        requests_in_outage: server.requests_in_outage.load(Relaxed),
        calls_in_outage,
        successes: stats.successes(),
        budget_refusals: stats.budget_refusals,
    })
}

/// A small HTTP/1.1 server that fails for a while.
mod server {
    use super::{Arc, AtomicU64, Duration, Instant, Relaxed, SocketAddr};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    /// A running server and what it counted.
    pub(crate) struct Server {
        pub(crate) addr: SocketAddr,
        pub(crate) requests: Arc<AtomicU64>,
        pub(crate) requests_in_outage: Arc<AtomicU64>,
    }

    /// Binds an ephemeral port on 127.0.0.1 and serves on a background task
    /// (which ends with the runtime).
    pub(crate) async fn start(outage: Duration) -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let requests_in_outage = Arc::new(AtomicU64::new(0));
        let (counted, counted_in_outage) = (Arc::clone(&requests), Arc::clone(&requests_in_outage));
        let started = Instant::now();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (counted, counted_in_outage) = (Arc::clone(&counted), Arc::clone(&counted_in_outage));
                tokio::spawn(async move {
                    let _ = serve(stream, started, outage, &counted, &counted_in_outage).await;
                });
            }
        });
        Ok(Server { addr, requests, requests_in_outage })
    }

    /// Answers the requests of one connection (reqwest keeps it alive).
    async fn serve(
        mut stream: TcpStream,
        started: Instant,
        outage: Duration,
        requests: &AtomicU64,
        requests_in_outage: &AtomicU64,
    ) -> std::io::Result<()> {
        let mut head = Vec::new();
        let mut buffer = [0; 1024];
        loop {
            // These requests have no body: a request ends with its head.
            while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).await?;
                if read == 0 {
                    return Ok(());
                }
                head.extend_from_slice(&buffer[..read]);
            }
            head.clear();
            requests.fetch_add(1, Relaxed);
            let reply = if started.elapsed() < outage {
                requests_in_outage.fetch_add(1, Relaxed);
                reply("503 Service Unavailable", "down")
            } else {
                reply("200 OK", "up")
            };
            stream.write_all(reply.as_bytes()).await?;
        }
    }

    fn reply(status: &str, body: &str) -> String {
        format!("HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}", body.len())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    run().await.map(drop)
}
