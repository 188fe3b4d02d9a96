//! A repository over a real SQLite file database, written by several threads
//! at once.
//!
//! Each thread has its own connection with a zero busy timeout, so when
//! another thread holds the write lock SQLite fails at once with
//! `SQLITE_BUSY` ("database is locked") instead of waiting inside SQLite.
//! The repository's methods carry `#[retry(on = is_transient, …)]`: a busy
//! database is retried with backoff, a constraint violation is returned at
//! once. Writes give up after 30 s of trying (`deadline`), not after a count:
//! how long a lock is held depends on the disk. At the end the program checks
//! that every order landed exactly once.
//!
//! Run it with `cargo run -p examples --example repository`.

#![allow(clippy::doc_markdown, reason = "SQLite is a product name, not code")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use retry_runtime::classify::is_transient;
use retry_runtime::{RetryEvent, retry};
use rusqlite::{Connection, TransactionBehavior, params};

/// Orders and per-writer totals, in one SQLite file.
struct Repository {
    db: Connection,
    /// Attempts made by the last call, counted by the method bodies.
    attempts: u32,
}

/// How many retries have been printed so far: the log shows the first few.
static PRINTED: AtomicU32 = AtomicU32::new(0);

/// Prints the first retries, so the output shows what happened.
fn log_retry(event: &RetryEvent<'_, rusqlite::Error>) {
    if PRINTED.fetch_add(1, Ordering::Relaxed) < 5 {
        println!(
            "  retry: {} attempt {}/{} failed: {} ({:?}); next attempt in {:?}",
            event.function().rsplit("::").next().unwrap_or_default(),
            event.attempt(),
            event.max_attempts(),
            event.error(),
            event.error().sqlite_error_code(),
            event.delay(),
        );
    }
}

impl Repository {
    /// Opens the database file with a zero busy timeout: a locked database
    /// is reported at once, and `#[retry]` decides what to do.
    fn open(path: &Path) -> rusqlite::Result<Self> {
        let db = Connection::open(path)?;
        db.busy_timeout(Duration::ZERO)?;
        Ok(Repository { db, attempts: 0 })
    }

    /// Creates the tables.
    #[retry(max = 50, base = "1ms", cap = "20ms", on = is_transient)]
    fn create_schema(&mut self) -> rusqlite::Result<()> {
        self.db.execute_batch(
            "CREATE TABLE IF NOT EXISTS orders (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 writer INTEGER NOT NULL,
                 seq INTEGER NOT NULL,
                 amount INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS totals (writer INTEGER PRIMARY KEY, amount INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS customers (email TEXT PRIMARY KEY);",
        )
    }

    /// Records an order and adds it to its writer's total, in one
    /// transaction: each attempt runs the whole transaction again.
    ///
    /// `orders` has no unique key on `(writer, seq)`, on purpose: a retry
    /// that wrote twice would show up in [`Repository::check`].
    #[retry(max = 1000, base = "1ms", cap = "20ms", deadline = "30s", on = is_transient, on_retry = log_retry)]
    fn place_order(&mut self, writer: u32, seq: u32, amount: i64) -> rusqlite::Result<()> {
        self.attempts += 1;
        // IMMEDIATE takes the write lock up front: `SQLITE_BUSY` comes here
        // (or at COMMIT), never halfway through.
        let tx = self.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute("INSERT INTO orders (writer, seq, amount) VALUES (?1, ?2, ?3)", params![writer, seq, amount])?;
        tx.execute(
            "INSERT INTO totals (writer, amount) VALUES (?1, ?2)
             ON CONFLICT (writer) DO UPDATE SET amount = amount + excluded.amount",
            params![writer, amount],
        )?;
        // A failed commit leaves nothing behind: dropping `tx` rolls back.
        tx.commit()
    }

    /// Adds a customer. A duplicate email is a constraint violation:
    /// permanent, so it is returned after one attempt.
    #[retry(max = 1000, base = "1ms", cap = "20ms", deadline = "30s", on = is_transient, on_retry = log_retry)]
    fn add_customer(&mut self, email: &str) -> rusqlite::Result<()> {
        self.attempts += 1;
        self.db.execute("INSERT INTO customers (email) VALUES (?1)", [email]).map(drop)
    }

    /// Counts what was written: `(orders, distinct (writer, seq) pairs,
    /// sum of amounts, sum of totals)`.
    #[retry(max = 1000, base = "1ms", cap = "20ms", deadline = "30s", on = is_transient)]
    fn check(&mut self) -> rusqlite::Result<(i64, i64, i64, i64)> {
        self.db.query_row(
            "SELECT (SELECT count(*) FROM orders),
                    (SELECT count(*) FROM (SELECT DISTINCT writer, seq FROM orders)),
                    (SELECT coalesce(sum(amount), 0) FROM orders),
                    (SELECT coalesce(sum(amount), 0) FROM totals)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
    }

    /// The attempts the last call made, and resets the count.
    fn take_attempts(&mut self) -> u32 {
        std::mem::take(&mut self.attempts)
    }
}

/// What one writer thread saw.
#[derive(Debug, Default, Clone)]
pub(crate) struct WriterReport {
    /// Orders written.
    pub(crate) orders: u32,
    /// Attempts made for them, first attempts included.
    pub(crate) attempts: u32,
    /// The most attempts one order needed.
    pub(crate) most_attempts: u32,
}

/// What the whole run saw.
#[derive(Debug)]
pub(crate) struct Report {
    /// Per writer thread.
    pub(crate) writers: Vec<WriterReport>,
    /// How many orders needed 1, 2, 3, … attempts.
    pub(crate) attempts_histogram: BTreeMap<u32, u32>,
    /// Orders expected.
    pub(crate) expected_orders: i64,
    /// `Repository::check` at the end.
    pub(crate) check: (i64, i64, i64, i64),
    /// The sum of the amounts the writers placed.
    pub(crate) expected_amount: i64,
    /// The error of adding a customer twice (`None` if it was accepted).
    pub(crate) duplicate: Option<rusqlite::Error>,
    /// The attempts that second `add_customer` made.
    pub(crate) duplicate_attempts: u32,
    /// Wall-clock time of the concurrent part.
    pub(crate) elapsed: Duration,
}

/// Runs the scenario in `dir`: `writers` threads each place
/// `orders_per_writer` orders concurrently, then the results are checked.
///
/// # Errors
///
/// Any error the repository returns after its retries.
pub(crate) fn run(dir: &Path, writers: u32, orders_per_writer: u32) -> rusqlite::Result<Report> {
    let path = dir.join("shop.db");
    Repository::open(&path)?.create_schema()?;

    let start = Arc::new(Barrier::new(usize::try_from(writers).unwrap_or(usize::MAX)));
    let started = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|writer| {
            let path = path.clone();
            let start = Arc::clone(&start);
            thread::spawn(move || -> rusqlite::Result<(WriterReport, Vec<u32>)> {
                let mut repo = Repository::open(&path)?;
                let mut report = WriterReport::default();
                let mut per_order = Vec::new();
                start.wait(); // all threads write at the same moment
                for seq in 0..orders_per_writer {
                    repo.place_order(writer, seq, i64::from(seq + 1))?;
                    let attempts = repo.take_attempts();
                    report.orders += 1;
                    report.attempts += attempts;
                    report.most_attempts = report.most_attempts.max(attempts);
                    per_order.push(attempts);
                    // The next order arrives a moment later, as from a client.
                    thread::sleep(Duration::from_micros(300));
                }
                Ok((report, per_order))
            })
        })
        .collect();

    let mut reports = Vec::new();
    let mut attempts_histogram = BTreeMap::new();
    for handle in handles {
        let (report, per_order) = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        for attempts in per_order {
            *attempts_histogram.entry(attempts).or_insert(0) += 1;
        }
        reports.push(report);
    }
    let elapsed = started.elapsed();

    let mut repo = Repository::open(&path)?;
    let check = repo.check()?;
    repo.add_customer("ada@example.com")?;
    repo.take_attempts();
    let duplicate = repo.add_customer("ada@example.com").err();
    let duplicate_attempts = repo.take_attempts();

    let per_writer: i64 = (1..=i64::from(orders_per_writer)).sum();
    Ok(Report {
        writers: reports,
        attempts_histogram,
        expected_orders: i64::from(writers) * i64::from(orders_per_writer),
        check,
        expected_amount: per_writer * i64::from(writers),
        duplicate,
        duplicate_attempts,
        elapsed,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let (writers, orders) = (4, 50);
    println!(
        "SQLite file {}; {writers} writer threads x {orders} orders, busy timeout 0",
        dir.path().join("shop.db").display()
    );
    let report = run(dir.path(), writers, orders)?;

    println!("\nper writer:");
    for (writer, w) in report.writers.iter().enumerate() {
        println!(
            "  writer {writer}: {} orders in {} attempts ({} retries), at most {} for one order",
            w.orders,
            w.attempts,
            w.attempts - w.orders,
            w.most_attempts
        );
    }
    let histogram: Vec<String> =
        report.attempts_histogram.iter().map(|(attempts, orders)| format!("{orders} took {attempts}")).collect();
    println!("\norders by attempts: {}", histogram.join(", "));
    let (rows, distinct, amount, totals) = report.check;
    println!("\ncheck after {:?}:", report.elapsed);
    println!("  orders:   {rows} rows, {distinct} distinct (expected {})", report.expected_orders);
    println!("  amounts:  {amount} in orders, {totals} in totals (expected {})", report.expected_amount);
    if let Some(error) = &report.duplicate {
        let code = error.sqlite_error_code();
        println!("\nduplicate customer: {error} ({code:?}) after {} attempt: not retried", report.duplicate_attempts);
    }

    let ok = rows == report.expected_orders && distinct == rows && amount == report.expected_amount && totals == amount;
    println!("\n{}", if ok { "no order lost, none written twice" } else { "MISMATCH" });
    if ok { Ok(()) } else { Err("the database does not match what the writers placed".into()) }
}
