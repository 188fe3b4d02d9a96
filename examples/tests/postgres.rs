//! PostgreSQL, for real: a serialization failure (`40001`) and a deadlock
//! (`40P01`) provoked with two transactions and recovered by `#[retry]`
//! repository methods, and the classification of real server errors.
//!
//! Needs a server: `RETRY_TEST_POSTGRES_URL=postgres://user@host:port/db`.
//! `.ci/services.sh` installs and starts one and sets it. Outside CI the
//! tests skip with a notice when the variable is unset; with `CI=true` they
//! fail instead, so a broken service set-up cannot pass unnoticed.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::doc_markdown, reason = "PostgreSQL is a product name, not code")]

use std::sync::{Arc, Mutex, PoisonError};

use retry_runtime::classify::{Transient, is_transient};
use retry_runtime::{RetryEvent, Verdict, retry};
use tokio::sync::Barrier;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, IsolationLevel, NoTls};

const URL_VARIABLE: &str = "RETRY_TEST_POSTGRES_URL";

/// The server to test against; `None` (skip) only outside CI.
fn database_url() -> Option<String> {
    if let Ok(url) = std::env::var(URL_VARIABLE) {
        return Some(url);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{URL_VARIABLE} is not set but CI=true: .ci/services.sh should have started PostgreSQL and exported it"
    );
    eprintln!("SKIPPED: set {URL_VARIABLE}=postgres://user@host:port/db to run the PostgreSQL tests");
    None
}

async fn connect(url: &str) -> Client {
    let (client, connection) =
        tokio_postgres::connect(url, NoTls).await.unwrap_or_else(|error| panic!("cannot connect to {url}: {error}"));
    tokio::spawn(connection);
    client
}

/// Something the test does inside a repository method's first attempt, to
/// make the real failure happen at a known point.
enum Interference {
    /// Another connection updates the row and commits, between our read and our write.
    ConcurrentUpdate(Client),
    /// Wait until the other transaction holds its first lock too.
    Barrier(Arc<Barrier>),
}

/// Account balances in table `table`.
struct Accounts {
    client: Client,
    table: &'static str,
    attempts: u32,
    /// SQLSTATE of each error that was retried.
    retried: Mutex<Vec<String>>,
    interference: Option<Interference>,
}

impl Accounts {
    async fn new(url: &str, table: &'static str) -> Self {
        Accounts { client: connect(url).await, table, attempts: 0, retried: Mutex::default(), interference: None }
    }

    fn note(&self, event: &RetryEvent<'_, tokio_postgres::Error>) {
        let error = event.error();
        let code = error.code().map_or("none", SqlState::code).to_owned();
        let message = error.as_db_error().map_or_else(|| error.to_string(), |db| db.message().to_owned());
        eprintln!("{}: attempt {} failed with {code}: {message}", self.table, event.attempt());
        self.retried.lock().unwrap_or_else(PoisonError::into_inner).push(code);
    }

    fn retried(&self) -> Vec<String> {
        self.retried.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Creates the table with two accounts of 100.
    async fn reset(&self) {
        self.client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {0};
                 CREATE TABLE {0} (id INTEGER PRIMARY KEY, balance BIGINT NOT NULL);
                 INSERT INTO {0} VALUES (1, 100), (2, 100);",
                self.table
            ))
            .await
            .unwrap();
    }

    #[retry(max = 5, base = "10ms", on = is_transient)]
    async fn balance(&self, id: i32) -> Result<i64, tokio_postgres::Error> {
        let row = self.client.query_one(&format!("SELECT balance FROM {} WHERE id = $1", self.table), &[&id]).await?;
        Ok(row.get(0))
    }

    /// Adds `amount` to account `id`, reading the balance and writing it
    /// back in one REPEATABLE READ transaction. A concurrent update makes
    /// PostgreSQL refuse the write with `40001`; the whole transaction is
    /// then run again and reads the new balance.
    #[retry(max = 5, base = "10ms", on = is_transient, on_retry = |event| self.note(event))]
    async fn deposit(&mut self, id: i32, amount: i64) -> Result<i64, tokio_postgres::Error> {
        self.attempts += 1;
        let interference = self.interference.take();
        let table = self.table;
        let tx = self.client.build_transaction().isolation_level(IsolationLevel::RepeatableRead).start().await?;
        let balance: i64 = tx.query_one(&format!("SELECT balance FROM {table} WHERE id = $1"), &[&id]).await?.get(0);
        if let Some(Interference::ConcurrentUpdate(other)) = interference {
            other.execute(&format!("UPDATE {table} SET balance = balance + 1000 WHERE id = $1"), &[&id]).await?;
        }
        tx.execute(&format!("UPDATE {table} SET balance = $2 WHERE id = $1"), &[&id, &(balance + amount)]).await?;
        tx.commit().await?;
        Ok(balance + amount)
    }

    /// Moves `amount` from one account to another, locking `from` first.
    /// Two opposite transfers at once deadlock; PostgreSQL aborts one with
    /// `40P01`, which runs again once the other has committed.
    #[retry(max = 5, base = "10ms", on = is_transient, on_retry = |event| self.note(event))]
    async fn transfer(&mut self, from: i32, to: i32, amount: i64) -> Result<(), tokio_postgres::Error> {
        self.attempts += 1;
        let interference = self.interference.take();
        let table = self.table;
        let tx = self.client.transaction().await?;
        tx.execute(&format!("UPDATE {table} SET balance = balance - $2 WHERE id = $1"), &[&from, &amount]).await?;
        if let Some(Interference::Barrier(barrier)) = interference {
            barrier.wait().await;
        }
        tx.execute(&format!("UPDATE {table} SET balance = balance + $2 WHERE id = $1"), &[&to, &amount]).await?;
        tx.commit().await
    }

    /// Opens an account; a taken id is a unique violation, not retried.
    #[retry(max = 5, base = "10ms", on = is_transient, on_retry = |event| self.note(event))]
    async fn open_account(&mut self, id: i32) -> Result<(), tokio_postgres::Error> {
        self.attempts += 1;
        let table = self.table;
        self.client.execute(&format!("INSERT INTO {table} VALUES ($1, 0)"), &[&id]).await.map(drop)
    }
}

#[tokio::test]
async fn a_serialization_failure_is_retried_and_no_update_is_lost() {
    let Some(url) = database_url() else { return };
    let mut accounts = Accounts::new(&url, "retry_test_deposit").await;
    accounts.reset().await;
    accounts.interference = Some(Interference::ConcurrentUpdate(connect(&url).await));

    let balance = accounts.deposit(1, 5).await.unwrap();

    assert_eq!(accounts.retried(), ["40001"], "the first attempt must fail with serialization_failure");
    assert_eq!(accounts.attempts, 2);
    // Both the concurrent +1000 and our +5 are in: the retry read the new balance.
    assert_eq!(balance, 1105);
    assert_eq!(accounts.balance(1).await.unwrap(), 1105);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_is_retried_and_both_transfers_land() {
    let Some(url) = database_url() else { return };
    let mut one_to_two = Accounts::new(&url, "retry_test_transfer").await;
    one_to_two.reset().await;
    let mut two_to_one = Accounts::new(&url, "retry_test_transfer").await;
    let barrier = Arc::new(Barrier::new(2));
    one_to_two.interference = Some(Interference::Barrier(Arc::clone(&barrier)));
    two_to_one.interference = Some(Interference::Barrier(barrier));

    // Each task locks its `from` row, waits for the other, then wants the
    // row the other holds. Spawned tasks: the retried futures are `Send`.
    let first = tokio::spawn(async move { one_to_two.transfer(1, 2, 10).await.map(|()| one_to_two) });
    let second = tokio::spawn(async move { two_to_one.transfer(2, 1, 30).await.map(|()| two_to_one) });
    let one_to_two = first.await.unwrap().unwrap();
    let two_to_one = second.await.unwrap().unwrap();

    let mut retried = one_to_two.retried();
    retried.extend(two_to_one.retried());
    // Usually one victim and one retry. But full jitter may retry the victim
    // at once, before the survivor has taken the row the victim let go: the
    // retry takes it first, and the two deadlock again (a CI run saw this).
    // Every failure must still be a deadlock, and each one retried.
    assert!(!retried.is_empty(), "one transaction must be chosen as the deadlock victim");
    assert!(retried.iter().all(|code| code == "40P01"), "only deadlocks are retried: {retried:?}");
    assert_eq!(one_to_two.attempts + two_to_one.attempts, 2 + u32::try_from(retried.len()).unwrap());
    assert_eq!(one_to_two.balance(1).await.unwrap(), 100 - 10 + 30);
    assert_eq!(one_to_two.balance(2).await.unwrap(), 100 + 10 - 30);
}

#[tokio::test]
async fn a_unique_violation_is_returned_at_once() {
    let Some(url) = database_url() else { return };
    let mut accounts = Accounts::new(&url, "retry_test_unique").await;
    accounts.reset().await;

    let error = accounts.open_account(1).await.unwrap_err();

    assert_eq!(error.code(), Some(&SqlState::UNIQUE_VIOLATION));
    assert_eq!(accounts.attempts, 1);
    assert!(accounts.retried().is_empty());
}

#[tokio::test]
async fn real_server_errors_are_classified_by_sqlstate() {
    let Some(url) = database_url() else { return };
    let client = connect(&url).await;

    let syntax = client.execute("SELEC 1", &[]).await.unwrap_err();
    assert_eq!(syntax.code(), Some(&SqlState::SYNTAX_ERROR));
    assert_eq!(is_transient(&syntax), Verdict::Stop);

    let missing = client.execute("SELECT * FROM retry_test_no_such_table", &[]).await.unwrap_err();
    assert_eq!(missing.code(), Some(&SqlState::UNDEFINED_TABLE));
    assert!(!missing.is_transient());

    let division = client.query_one("SELECT 1 / 0", &[]).await.unwrap_err();
    assert_eq!(division.code(), Some(&SqlState::DIVISION_BY_ZERO));
    assert!(!division.is_transient());

    // lock_not_available: a row locked by one transaction, requested NOWAIT by another.
    let mut holder = connect(&url).await;
    holder
        .batch_execute(
            "DROP TABLE IF EXISTS retry_test_locks;
             CREATE TABLE retry_test_locks (id INTEGER PRIMARY KEY);
             INSERT INTO retry_test_locks VALUES (1);",
        )
        .await
        .unwrap();
    let tx = holder.transaction().await.unwrap();
    tx.execute("SELECT id FROM retry_test_locks WHERE id = 1 FOR UPDATE", &[]).await.unwrap();
    let locked =
        client.execute("SELECT id FROM retry_test_locks WHERE id = 1 FOR UPDATE NOWAIT", &[]).await.unwrap_err();
    assert_eq!(locked.code(), Some(&SqlState::LOCK_NOT_AVAILABLE));
    assert_eq!(is_transient(&locked), Verdict::Retry);
    tx.rollback().await.unwrap();

    // admin_shutdown: the server terminates a session; its next query fails.
    let victim = connect(&url).await;
    let pid: i32 = victim.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let terminated: bool = client.query_one("SELECT pg_terminate_backend($1)", &[&pid]).await.unwrap().get(0);
    assert!(terminated);
    let error = victim.query_one("SELECT 1", &[]).await.unwrap_err();
    eprintln!("terminated session: {error} ({:?})", error.code());
    assert!(error.code() == Some(&SqlState::ADMIN_SHUTDOWN) || error.is_closed(), "{error:?}");
    assert!(error.is_transient(), "{error:?}");
}
