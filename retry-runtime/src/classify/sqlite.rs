//! SQLite through `rusqlite`: a busy or locked database is transient.
//!
//! | error | transient? |
//! |---|---|
//! | `SQLITE_BUSY` (another connection holds the lock) and its extended codes `SQLITE_BUSY_RECOVERY`, `SQLITE_BUSY_SNAPSHOT`, `SQLITE_BUSY_TIMEOUT` | yes |
//! | `SQLITE_LOCKED` (a conflict inside one connection or shared cache) and `SQLITE_LOCKED_SHAREDCACHE`, `SQLITE_LOCKED_VTAB` | yes |
//! | `SQLITE_CONSTRAINT` and its extended codes (`UNIQUE`, `NOTNULL`, `FOREIGNKEY`, …) | no |
//! | `SQLITE_ERROR`: syntax errors, `no such table`, `no such column` | no |
//! | `SQLITE_READONLY`, `SQLITE_CORRUPT`, `SQLITE_FULL`, `SQLITE_CANTOPEN`, … | no |
//! | rusqlite's own errors (`QueryReturnedNoRows`, `InvalidColumnType`, …) | no |
//!
//! A transaction that failed with `SQLITE_BUSY_SNAPSHOT` (WAL mode) must be
//! started again, not just its last statement: put `#[retry]` on the method
//! that runs the whole transaction.
//!
//! ```
//! use retry_runtime::classify::Transient;
//!
//! let db = rusqlite::Connection::open_in_memory()?;
//! db.execute_batch("CREATE TABLE users (email TEXT PRIMARY KEY)")?;
//! db.execute("INSERT INTO users VALUES ('a@example.com')", [])?;
//! let duplicate = db.execute("INSERT INTO users VALUES ('a@example.com')", []).unwrap_err();
//! assert_eq!(duplicate.sqlite_error_code(), Some(rusqlite::ErrorCode::ConstraintViolation));
//! assert!(!duplicate.is_transient());
//! # Ok::<(), rusqlite::Error>(())
//! ```

#![allow(clippy::doc_markdown, reason = "product names such as PostgreSQL and SQLite are not code")]

use rusqlite::ErrorCode;
use rusqlite::ffi;

use super::Transient;

impl Transient for ErrorCode {
    fn is_transient(&self) -> bool {
        // The extended codes (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_LOCKED_SHAREDCACHE`, …)
        // share these primary codes.
        matches!(self, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    }
}

impl Transient for ffi::Error {
    fn is_transient(&self) -> bool {
        self.code.is_transient()
    }
}

impl Transient for rusqlite::Error {
    fn is_transient(&self) -> bool {
        // `SqliteFailure` and `SqlInputError` (a failed prepare) both expose
        // SQLite's code as their source.
        std::error::Error::source(self)
            .and_then(|source| source.downcast_ref::<ffi::Error>())
            .is_some_and(Transient::is_transient)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

    use super::*;
    use crate::Verdict;
    use crate::classify::is_transient;

    /// A connection to a file database that gives up at once when locked.
    fn open(path: &Path) -> Connection {
        let db = Connection::open(path).unwrap();
        db.busy_timeout(Duration::ZERO).unwrap();
        db
    }

    fn file_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db");
        open(&path).execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").unwrap();
        (dir, path)
    }

    #[test]
    fn busy_from_a_second_writer_is_transient() {
        let (_dir, path) = file_db();
        let mut first = open(&path);
        let second = open(&path);
        let _holds_the_write_lock = first.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
        let error = second.execute("INSERT INTO t (v) VALUES ('x')", []).unwrap_err();
        assert_eq!(error.sqlite_error_code(), Some(ErrorCode::DatabaseBusy));
        assert_eq!(error.sqlite_extended_error_code(), Some(ffi::SQLITE_BUSY));
        assert!(error.is_transient());
        assert_eq!(is_transient(&error), Verdict::Retry);
    }

    #[test]
    fn busy_snapshot_in_wal_mode_is_transient() {
        let (_dir, path) = file_db();
        let reader = open(&path);
        reader.pragma_update(None, "journal_mode", "wal").unwrap();
        let writer = open(&path);
        // The reader's transaction sees a snapshot; the writer then commits,
        // so the reader can no longer upgrade to a write transaction.
        reader.execute_batch("BEGIN DEFERRED").unwrap();
        let _: Option<i64> = reader.query_row("SELECT id FROM t", [], |row| row.get(0)).optional().unwrap();
        writer.execute("INSERT INTO t (v) VALUES ('new')", []).unwrap();
        let error = reader.execute("INSERT INTO t (v) VALUES ('stale')", []).unwrap_err();
        assert_eq!(error.sqlite_extended_error_code(), Some(ffi::SQLITE_BUSY_SNAPSHOT));
        assert!(error.is_transient());
    }

    #[test]
    fn locked_table_is_transient() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2);").unwrap();
        let mut reading = db.prepare("SELECT v FROM t").unwrap();
        let mut rows = reading.query([]).unwrap();
        assert!(rows.next().unwrap().is_some());
        // The statement above is still reading the table.
        let error = db.execute_batch("DROP TABLE t").unwrap_err();
        assert_eq!(error.sqlite_error_code(), Some(ErrorCode::DatabaseLocked));
        assert!(error.is_transient());
    }

    #[test]
    fn extended_busy_and_locked_codes_are_transient() {
        // What rusqlite builds from these result codes when SQLite returns them.
        for code in [
            ffi::SQLITE_BUSY_RECOVERY,
            ffi::SQLITE_BUSY_SNAPSHOT,
            ffi::SQLITE_BUSY_TIMEOUT,
            ffi::SQLITE_LOCKED_SHAREDCACHE,
            ffi::SQLITE_LOCKED_VTAB,
        ] {
            let error = rusqlite::Error::SqliteFailure(ffi::Error::new(code), None);
            assert!(error.is_transient(), "extended code {code}");
        }
    }

    #[test]
    fn constraint_violations_are_permanent() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE u (email TEXT PRIMARY KEY, name TEXT NOT NULL)").unwrap();
        db.execute("INSERT INTO u VALUES ('a', 'A')", []).unwrap();
        let unique = db.execute("INSERT INTO u VALUES ('a', 'B')", []).unwrap_err();
        assert_eq!(unique.sqlite_extended_error_code(), Some(ffi::SQLITE_CONSTRAINT_PRIMARYKEY));
        let not_null = db.execute("INSERT INTO u VALUES ('b', NULL)", []).unwrap_err();
        assert_eq!(not_null.sqlite_extended_error_code(), Some(ffi::SQLITE_CONSTRAINT_NOTNULL));
        for error in [unique, not_null] {
            assert_eq!(error.sqlite_error_code(), Some(ErrorCode::ConstraintViolation));
            assert!(!error.is_transient());
            assert_eq!(is_transient(&error), Verdict::Stop);
        }
    }

    #[test]
    fn syntax_errors_are_permanent() {
        let db = Connection::open_in_memory().unwrap();
        let error = db.execute("SELEC 1", []).unwrap_err();
        assert!(error.to_string().contains("syntax error"), "{error}");
        assert!(!error.is_transient());
    }

    #[test]
    fn no_such_table_is_permanent() {
        let db = Connection::open_in_memory().unwrap();
        let error = db.execute("INSERT INTO missing VALUES (1)", []).unwrap_err();
        assert!(error.to_string().contains("no such table"), "{error}");
        assert!(!error.is_transient());
    }

    #[test]
    fn read_only_database_is_permanent() {
        let (_dir, path) = file_db();
        let db = Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let error = db.execute("INSERT INTO t (v) VALUES ('x')", []).unwrap_err();
        assert_eq!(error.sqlite_error_code(), Some(ErrorCode::ReadOnly));
        assert!(!error.is_transient());
    }

    #[test]
    fn rusqlite_own_errors_are_permanent() {
        let db = Connection::open_in_memory().unwrap();
        let error = db.query_row("SELECT 1 WHERE 0", [], |row| row.get::<_, i64>(0)).unwrap_err();
        assert!(matches!(error, rusqlite::Error::QueryReturnedNoRows));
        assert!(!error.is_transient());
        let error = db.query_row("SELECT 'text'", [], |row| row.get::<_, i64>(0)).unwrap_err();
        assert!(matches!(error, rusqlite::Error::InvalidColumnType(..)));
        assert!(!error.is_transient());
    }
}
