//! PostgreSQL: SQLSTATE codes, and `tokio_postgres::Error` (feature
//! `tokio-postgres`; the sync `postgres` crate's `Error` is the same type).
//!
//! | SQLSTATE | condition | transient? |
//! |---|---|---|
//! | `40001` | `serialization_failure` | yes |
//! | `40P01` | `deadlock_detected` | yes |
//! | `08xxx` | connection exceptions (`08000`, `08003`, `08006`, `08001`, `08004`, …) | yes |
//! | `53300` | `too_many_connections` | yes |
//! | `57P01`, `57P02`, `57P03` | `admin_shutdown`, `crash_shutdown`, `cannot_connect_now` | yes |
//! | `55P03` | `lock_not_available` (`NOWAIT`, `lock_timeout`) | yes |
//! | `23xxx` | integrity constraint violations (`23505` unique, `23503` foreign key, …) | no |
//! | `42xxx` | syntax errors and access rule violations (`42601`, `42P01`, `42501`, …) | no |
//! | anything else (`22xxx` data exceptions, `28xxx` authentication, `57014` `query_canceled`, `53100` `disk_full`, …) | | no |
//!
//! A `tokio_postgres::Error` with no SQLSTATE is transient when the
//! connection closed, when connecting or talking to the server failed with a
//! transient I/O error (see [`io`](super::io)), or when a timeout
//! expired; configuration, authentication, conversion and row-count errors
//! are not.
//!
//! Serialization failures and deadlocks abort the whole transaction: put
//! `#[retry]` on the method that runs the transaction from `BEGIN` to
//! `COMMIT`, so each attempt starts it anew.
//!
//! # sqlx
//!
//! This crate does not depend on `sqlx`; classify its errors with
//! [`is_transient_sqlstate`]:
//!
//! ```text
//! fn is_transient(error: &sqlx::Error) -> bool {
//!     match error {
//!         sqlx::Error::Database(db) => db.code().is_some_and(|code| is_transient_sqlstate(&code)),
//!         sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
//!         _ => false,
//!     }
//! }
//! ```

#![allow(clippy::doc_markdown, reason = "product names such as PostgreSQL and SQLite are not code")]

/// Whether a PostgreSQL SQLSTATE code names a transient condition: see the
/// [module docs](self) for the table.
///
/// Works with any driver that exposes the code as text (`sqlx`'s
/// `DatabaseError::code`, `tokio_postgres::error::SqlState::code`).
///
/// ```
/// use retry_runtime::classify::postgres::is_transient_sqlstate;
///
/// assert!(is_transient_sqlstate("40P01")); // `deadlock_detected`
/// assert!(is_transient_sqlstate("08006")); // connection_failure
/// assert!(!is_transient_sqlstate("23505")); // unique_violation
/// ```
pub fn is_transient_sqlstate(code: &str) -> bool {
    matches!(code, "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03" | "55P03")
        || (code.len() == 5 && code.starts_with("08"))
}

#[cfg(feature = "tokio-postgres")]
mod driver {
    use tokio_postgres::error::{DbError, SqlState};

    use super::is_transient_sqlstate;
    use crate::classify::{Transient, find_source};

    #[cfg_attr(docsrs, doc(cfg(feature = "tokio-postgres")))]
    impl Transient for SqlState {
        fn is_transient(&self) -> bool {
            is_transient_sqlstate(self.code())
        }
    }

    #[cfg_attr(docsrs, doc(cfg(feature = "tokio-postgres")))]
    impl Transient for DbError {
        fn is_transient(&self) -> bool {
            self.code().is_transient()
        }
    }

    #[cfg_attr(docsrs, doc(cfg(feature = "tokio-postgres")))]
    impl Transient for tokio_postgres::Error {
        fn is_transient(&self) -> bool {
            if let Some(db) = self.as_db_error() {
                return db.is_transient();
            }
            if self.is_closed() {
                return true;
            }
            if let Some(io) = find_source::<std::io::Error>(self) {
                return io.is_transient();
            }
            // A timeout of the sync `postgres` client is an error of its own
            // kind with no cause, which tokio-postgres exposes only through
            // its message. (`connect_timeout` gives an I/O `TimedOut`.)
            std::error::Error::source(self).is_none() && self.to_string() == "timeout waiting for server"
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn transient_sqlstates() {
        for code in ["40001", "40P01", "08000", "08003", "08006", "08001", "08004", "08P01", "53300", "57P01", "57P02"]
        {
            assert!(is_transient_sqlstate(code), "{code}");
        }
        assert!(is_transient_sqlstate("57P03"));
        assert!(is_transient_sqlstate("55P03"));
    }

    #[test]
    fn permanent_sqlstates() {
        for code in [
            "23505", "23503", "23502", "23514", "23P01", "42601", "42P01", "42703", "42501", "22012", "28P01", "57014",
            "53100", "53200", "40002", "55000", "XX000", "", "08", "0800", "080000",
        ] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[cfg(feature = "tokio-postgres")]
    mod driver {
        use tokio_postgres::error::SqlState;
        use tokio_postgres::{Config, NoTls};

        use crate::Verdict;
        use crate::classify::{Transient, is_transient};

        fn runtime() -> tokio::runtime::Runtime {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
        }

        #[test]
        fn sql_state_constants() {
            assert!(SqlState::T_R_SERIALIZATION_FAILURE.is_transient());
            assert!(SqlState::T_R_DEADLOCK_DETECTED.is_transient());
            assert!(SqlState::CONNECTION_FAILURE.is_transient());
            assert!(SqlState::TOO_MANY_CONNECTIONS.is_transient());
            assert!(SqlState::ADMIN_SHUTDOWN.is_transient());
            assert!(SqlState::CANNOT_CONNECT_NOW.is_transient());
            assert!(SqlState::LOCK_NOT_AVAILABLE.is_transient());
            assert!(!SqlState::UNIQUE_VIOLATION.is_transient());
            assert!(!SqlState::SYNTAX_ERROR.is_transient());
            assert!(!SqlState::UNDEFINED_TABLE.is_transient());
        }

        #[test]
        fn connection_refused_is_transient() {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let config = format!("host=127.0.0.1 port={port} user=nobody connect_timeout=5");
            let error = runtime().block_on(tokio_postgres::connect(&config, NoTls)).err().unwrap();
            assert!(error.as_db_error().is_none());
            assert!(error.is_transient(), "{error:?}");
            assert_eq!(is_transient(&error), Verdict::Retry);
        }

        #[test]
        fn a_server_that_hangs_up_is_transient() {
            // A listener that accepts and closes at once, before the startup reply.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = std::thread::spawn(move || drop(listener.accept().unwrap()));
            let config = format!("host=127.0.0.1 port={port} user=nobody");
            let error = runtime().block_on(tokio_postgres::connect(&config, NoTls)).err().unwrap();
            server.join().unwrap();
            assert!(error.is_transient(), "{error:?}");
        }

        #[test]
        fn timeout_waiting_for_the_server_is_transient() {
            // What the sync `postgres` crate returns when its timeouts expire.
            let error = tokio_postgres::Error::__private_api_timeout();
            assert!(error.is_transient(), "{error:?}");
        }

        #[test]
        fn invalid_configuration_is_permanent() {
            let error = "host=127.0.0.1 port=not-a-number".parse::<Config>().unwrap_err();
            assert!(!error.is_transient(), "{error:?}");
            assert_eq!(is_transient(&error), Verdict::Stop);
        }
    }
}
