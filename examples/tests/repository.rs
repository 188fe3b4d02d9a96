//! The `repository` example's scenario, with assertions: concurrent writers
//! on a real SQLite file really get `SQLITE_BUSY`, `#[retry]` recovers, and
//! no order is lost or written twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::doc_markdown, reason = "SQLite is a product name, not code")]

#[allow(dead_code)]
#[path = "../examples/repository.rs"]
mod repository;

#[test]
fn every_order_lands_exactly_once_despite_sqlite_busy() {
    let dir = tempfile::tempdir().unwrap();
    let report = repository::run(dir.path(), 4, 50).unwrap();

    let (rows, distinct, amount, totals) = report.check;
    assert_eq!(report.expected_orders, 200);
    assert_eq!(rows, 200, "orders lost or duplicated");
    assert_eq!(distinct, 200, "an order was written twice");
    assert_eq!(amount, report.expected_amount);
    assert_eq!(totals, amount, "totals disagree with the orders");

    // The point of the exercise: SQLite really was busy, and it was retried.
    let retries: u32 = report.writers.iter().map(|w| w.attempts - w.orders).sum();
    assert!(retries > 0, "no SQLITE_BUSY happened, so nothing was retried: {report:?}");
    assert!(report.attempts_histogram.keys().any(|&attempts| attempts > 1));
    assert_eq!(report.attempts_histogram.values().sum::<u32>(), 200);
}

#[test]
fn a_constraint_violation_is_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let report = repository::run(dir.path(), 1, 1).unwrap();
    let error = report.duplicate.expect("the second insert of the same email must fail");
    assert_eq!(error.sqlite_error_code(), Some(rusqlite::ErrorCode::ConstraintViolation));
    assert_eq!(report.duplicate_attempts, 1);
}
