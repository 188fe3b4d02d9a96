//! `#[retry(config = "…")]`: the installed configuration's policy and
//! timeout, taken once per call, in tokio's paused time.
//!
//! The configuration is process-wide: each test holds `INSTALLING` while it
//! installs one and calls the functions.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::config::{self, Policies};
use retry_runtime::{TimedOut, retry};
use tokio::sync::Mutex;
use tokio::time::Instant;

static INSTALLING: Mutex<()> = Mutex::const_new(());

fn install(text: &str) {
    match toml::from_str::<Policies>(text) {
        Ok(policies) => policies.install(),
        Err(error) => panic!("{error}"),
    }
}

/// Fails every attempt, counting them in `attempts`.
#[retry(config = "get_product", max = 2, base = "10ms", jitter = "none")]
async fn get_product(attempts: &AtomicU32) -> io::Result<()> {
    attempts.fetch_add(1, Ordering::Relaxed);
    Err(io::Error::other("unavailable"))
}

#[tokio::test(start_paused = true)]
async fn without_a_file_the_attribute_keys_apply() {
    let _installed = INSTALLING.lock().await;
    config::uninstall();
    let attempts = AtomicU32::new(0);
    let start = Instant::now();
    assert!(get_product(&attempts).await.is_err());
    assert_eq!(attempts.load(Ordering::Relaxed), 2, "max = 2");
    assert_eq!(start.elapsed(), Duration::from_millis(10), "base = \"10ms\", no jitter");
}

#[tokio::test(start_paused = true)]
async fn the_operation_entry_then_the_default_then_the_attribute() {
    let _installed = INSTALLING.lock().await;
    install(
        "[default]\nbase = \"1s\"\n[operations.get_product]\nmax_attempts = 4\n[operations.other]\nmax_attempts = 9",
    );
    let attempts = AtomicU32::new(0);
    let start = Instant::now();
    assert!(get_product(&attempts).await.is_err());
    assert_eq!(attempts.load(Ordering::Relaxed), 4, "the operation's max_attempts");
    // base from the default (1 s), multiplier 2 and no jitter from the attribute and the library.
    assert_eq!(start.elapsed(), Duration::from_secs(1 + 2 + 4));
    config::uninstall();
}

static IN_FLIGHT: AtomicU32 = AtomicU32::new(0);

#[tokio::test(start_paused = true)]
async fn a_reload_is_seen_by_the_next_call_and_not_by_one_in_flight() {
    let _installed = INSTALLING.lock().await;
    install("[operations.get_product]\nmax_attempts = 3\nbase = \"1s\"\nbackoff = \"fixed\"");
    let in_flight = tokio::spawn(get_product(&IN_FLIGHT));
    // The spawned call makes its first attempt and sleeps its first second.
    tokio::task::yield_now().await;
    assert_eq!(IN_FLIGHT.load(Ordering::Relaxed), 1);

    install("[operations.get_product]\nmax_attempts = 5\nbase = \"1s\"\nbackoff = \"fixed\"");
    let next = AtomicU32::new(0);
    assert!(get_product(&next).await.is_err());
    assert_eq!(next.load(Ordering::Relaxed), 5, "the next call reads the new file");
    assert!(matches!(in_flight.await, Ok(Err(_))));
    assert_eq!(IN_FLIGHT.load(Ordering::Relaxed), 3, "the call in flight kept the policy it started with");
    config::uninstall();
}

#[derive(Debug)]
enum FetchError {
    TimedOut,
}

impl From<TimedOut> for FetchError {
    fn from(_: TimedOut) -> Self {
        FetchError::TimedOut
    }
}

/// Each attempt takes a minute.
#[retry(config = "list_products", max = 2, base = "0s")]
async fn list_products(attempts: &AtomicU32) -> Result<(), FetchError> {
    attempts.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn the_file_timeout_limits_each_attempt_of_an_async_call() {
    let _installed = INSTALLING.lock().await;
    install("[operations.list_products]\ntimeout = \"10s\"\nmax_attempts = 3");
    let attempts = AtomicU32::new(0);
    let start = Instant::now();
    assert!(matches!(list_products(&attempts).await, Err(FetchError::TimedOut)));
    assert_eq!(attempts.load(Ordering::Relaxed), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(30), "three attempts of 10 s each");

    // Without a timeout in the file (nor in the attribute), an attempt runs to its end.
    config::uninstall();
    let start = Instant::now();
    assert!(list_products(&attempts).await.is_ok());
    assert_eq!(start.elapsed(), Duration::from_secs(60));
}

#[derive(Debug)]
enum QueryError {
    Unavailable,
    Open,
    TimedOut,
}

impl From<retry_runtime::CircuitOpen> for QueryError {
    fn from(_: retry_runtime::CircuitOpen) -> Self {
        QueryError::Open
    }
}

impl From<TimedOut> for QueryError {
    fn from(_: TimedOut) -> Self {
        QueryError::TimedOut
    }
}

/// Its own settings would open it after 10 failures.
static QUERY_SERVICE: retry_runtime::CircuitBreaker = retry_runtime::CircuitBreaker::new()
    .failure_threshold(10)
    .cool_down(Duration::from_secs(60))
    .named("query_service");

#[retry(config = "query", max = 1, breaker = QUERY_SERVICE)]
async fn query() -> Result<(), QueryError> {
    Err(QueryError::Unavailable)
}

fn query_service_status() -> Option<retry_runtime::breaker::BreakerStatus> {
    retry_runtime::breaker::status().into_iter().find(|status| status.name == "query_service")
}

#[tokio::test(start_paused = true)]
async fn a_named_breaker_takes_the_file_settings_is_listed_and_reset() {
    use retry_runtime::CircuitState::{Closed, Open};
    let _installed = INSTALLING.lock().await;
    install("[breakers.query_service]\nfailure_threshold = 2");
    assert!(matches!(query().await, Err(QueryError::Unavailable)));
    let status = query_service_status().map(|s| (s.state, s.failures, s.times_opened));
    assert_eq!(status, Some((Closed, 1, 0)), "listed once asked");
    assert!(matches!(query().await, Err(QueryError::Unavailable)));
    assert!(matches!(query().await, Err(QueryError::Open)), "opened after the file's 2 failures, not its own 10");
    let status = query_service_status().map(|s| (s.state, s.failures, s.times_opened, s.rejections));
    // `failures` read an open breaker's packed word as a count (86400275).
    assert_eq!(status, Some((Open, 0, 1, 1)), "failures are counted only while closed");

    retry_runtime::breaker::reset_all();
    assert_eq!(query_service_status().map(|s| s.state), Some(Closed));

    // A reload applies to the breaker: now three failures open it.
    install("[breakers.query_service]\nfailure_threshold = 3");
    for _ in 0..3 {
        assert!(matches!(query().await, Err(QueryError::Unavailable)));
    }
    assert!(matches!(query().await, Err(QueryError::Open)));
    retry_runtime::breaker::reset_all();
    config::uninstall();
}
