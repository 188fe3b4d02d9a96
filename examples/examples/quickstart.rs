//! The 30-second tour: a flaky function, a repository method, an async
//! client call, each retried by `#[retry]`, printing what the retries did.
//!
//! Run it with `cargo run -p examples --example quickstart`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use retry_runtime::{RetryEvent, RetryPolicy, Verdict, retry};

#[derive(Debug)]
enum DbError {
    Busy,
    UniqueViolation,
}

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DbError::Busy => "database is locked",
            DbError::UniqueViolation => "UNIQUE constraint failed",
        })
    }
}

impl std::error::Error for DbError {}

fn is_transient(error: &DbError) -> bool {
    matches!(error, DbError::Busy)
}

fn log_retry<E: std::fmt::Display>(event: &RetryEvent<'_, E>) {
    println!(
        "  retrying {} after attempt {}/{} failed: {}; next in {:?}",
        event.function(),
        event.attempt(),
        event.max_attempts(),
        event.error(),
        event.delay()
    );
}

struct UserRepo {
    busy_for: u32,
    rows: Vec<String>,
}

impl UserRepo {
    /// Busy twice, then saves: three attempts, two sleeps.
    #[retry(max = 5, base = "20ms", jitter = "equal", on = is_transient, on_retry = log_retry)]
    fn insert(&mut self, name: &str) -> Result<usize, DbError> {
        if self.busy_for > 0 {
            self.busy_for -= 1;
            return Err(DbError::Busy);
        }
        if self.rows.iter().any(|row| row == name) {
            return Err(DbError::UniqueViolation);
        }
        self.rows.push(name.to_owned());
        Ok(self.rows.len())
    }
}

#[derive(Debug)]
enum HttpError {
    Status(u16),
    TooManyRequests { retry_after: Duration },
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Status(code) => write!(f, "HTTP {code}"),
            HttpError::TooManyRequests { retry_after } => write!(f, "HTTP 429, Retry-After {retry_after:?}"),
        }
    }
}

impl std::error::Error for HttpError {}

fn http_verdict(error: &HttpError) -> Verdict {
    match error {
        HttpError::Status(500..=599) => Verdict::Retry,
        HttpError::TooManyRequests { retry_after } => Verdict::RetryAfter(*retry_after),
        HttpError::Status(_) => Verdict::Stop,
    }
}

/// 503, then 429 with a hint, then 200.
#[retry(max = 4, base = "50ms", cap = "2s", deadline = "5s", on = http_verdict, on_retry = log_retry)]
async fn fetch_profile(calls: &AtomicU32) -> Result<&'static str, HttpError> {
    match calls.fetch_add(1, Ordering::Relaxed) {
        0 => Err(HttpError::Status(503)),
        1 => Err(HttpError::TooManyRequests { retry_after: Duration::from_millis(300) }),
        _ => Ok("{\"name\":\"ada\"}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("repository method, busy twice:");
    let mut repo = UserRepo { busy_for: 2, rows: Vec::new() };
    let started = Instant::now();
    let count = repo.insert("ada")?;
    println!("  saved; {count} row(s) after {:?}", started.elapsed());

    println!("a permanent error is returned at once:");
    match repo.insert("ada") {
        Err(error) => println!("  gave up immediately: {error}"),
        Ok(_) => return Err("a duplicate insert should fail".into()),
    }

    println!("async client, 503 then 429 with Retry-After:");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    let calls = AtomicU32::new(0);
    let started = Instant::now();
    let body = runtime.block_on(fetch_profile(&calls))?;
    println!("  got {body} after {} calls in {:?}", calls.load(Ordering::Relaxed), started.elapsed());

    println!("the same loop without the macro:");
    let policy = RetryPolicy::new().max_attempts(3).base(Duration::from_millis(10)).validate()?;
    let mut attempts = 0;
    let value = policy
        .retry(|| {
            attempts += 1;
            if attempts < 2 { Err("connection reset") } else { Ok(attempts * 21) }
        })
        .named("quickstart::closure")
        .on_retry(log_retry)
        .call()?;
    println!("  closure returned {value}");
    Ok(())
}
