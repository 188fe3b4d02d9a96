//! The last resort: classify an error by the words of its message.
//!
//! For errors that carry nothing but text (a `String` from a subprocess, a
//! foreign driver's message), [`by_message`] retries when the message
//! contains, ignoring case, one of [`TRANSIENT_PATTERNS`]:
//!
//! | pattern | typical source |
//! |---|---|
//! | `connection refused`, `connection reset` | sockets, HTTP clients |
//! | `timeout` | any client |
//! | `temporary failure` | DNS (`Temporary failure in name resolution`), SMTP |
//! | `server is not ready` | services starting up |
//! | `deadlock detected` | PostgreSQL |
//! | `lock wait timeout` | MySQL (`Lock wait timeout exceeded`) |
//! | `too many connections` | PostgreSQL, MySQL |
//!
//! # Why a typed classifier is better
//!
//! Prefer [`is_transient`](super::is_transient) on the real error type
//! whenever there is one. Messages are written for people, not programs:
//!
//! - they change between versions and are translated (PostgreSQL's
//!   `lc_messages`), while `SQLSTATE 40P01` or `SQLITE_BUSY` never change;
//! - they match too much: "timeout" is in "invalid timeout value", a
//!   configuration error that no retry will fix, and a user's own text
//!   ("order #42: connection refused by customer") can contain any phrase;
//! - they match too little: "timed out", "ECONNRESET", "broken pipe" and
//!   "server closed the connection unexpectedly" all mean a transient failure
//!   and contain none of the phrases;
//! - they carry no data: an HTTP `Retry-After` or a gRPC pushback delay is
//!   only available from the typed error;
//! - `Display` often shows only the outermost error ("error sending
//!   request"), with the telling cause further down the `source()` chain.
//!
//! ```
//! use retry_runtime::classify::message::by_message;
//! use retry_runtime::retry;
//!
//! #[retry(max = 3, base = "1ms", on = by_message)]
//! fn run(outputs: &mut Vec<&'static str>) -> Result<(), String> {
//!     outputs.pop().map_or(Ok(()), |stderr| Err(stderr.to_owned()))
//! }
//!
//! assert!(run(&mut vec!["psql: FATAL: sorry, too many connections"]).is_ok());
//! assert!(run(&mut vec!["syntax error at or near \"SELEC\""]).is_err());
//! ```

#![allow(clippy::doc_markdown, reason = "product names such as PostgreSQL and SQLite are not code")]

use std::fmt::Display;

/// The phrases that mark a message as transient, in lower case.
///
/// ```
/// use retry_runtime::classify::message::TRANSIENT_PATTERNS;
/// assert!(TRANSIENT_PATTERNS.contains(&"deadlock detected"));
/// ```
pub const TRANSIENT_PATTERNS: &[&str] = &[
    "connection refused",
    "connection reset",
    "timeout",
    "temporary failure",
    "server is not ready",
    "deadlock detected",
    "lock wait timeout",
    "too many connections",
];

/// Whether `message` contains one of [`TRANSIENT_PATTERNS`], ignoring case.
///
/// ```
/// use retry_runtime::classify::message::is_transient_message;
///
/// assert!(is_transient_message("ERROR: Deadlock Detected"));
/// assert!(!is_transient_message("ERROR: duplicate key value violates unique constraint"));
/// ```
pub fn is_transient_message(message: &str) -> bool {
    contains_any(message, TRANSIENT_PATTERNS)
}

/// A classifier for any error that can be displayed: transient when its
/// message is ([`is_transient_message`]). Write `on = by_message`.
///
/// See the [module docs](self) for an example, and why a typed classifier
/// is better.
pub fn by_message<E: Display + ?Sized>(error: &E) -> bool {
    is_transient_message(&error.to_string())
}

/// A classifier that retries when an error's message contains one of
/// `patterns`, ignoring case: `on = message_contains(&["busy", "try again"])`.
///
/// ```
/// use retry_runtime::classify::message::message_contains;
///
/// let classify = message_contains(&["Try Again"]);
/// assert!(classify("EAGAIN: resource temporarily unavailable, try again later"));
/// assert!(!classify("invalid argument"));
/// ```
pub fn message_contains<'p, E: Display + ?Sized>(patterns: &'p [&'p str]) -> impl Fn(&E) -> bool + 'p {
    move |error: &E| contains_any(&error.to_string(), patterns)
}

fn contains_any(message: &str, patterns: &[&str]) -> bool {
    let message = message.to_lowercase();
    patterns.iter().any(|pattern| message.contains(&pattern.to_lowercase()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_matches_in_any_case() {
        for pattern in TRANSIENT_PATTERNS {
            assert!(is_transient_message(pattern), "{pattern}");
            assert!(is_transient_message(&pattern.to_uppercase()), "{pattern}");
            assert!(is_transient_message(&format!("error: {pattern} (code 7)")), "{pattern}");
        }
    }

    #[test]
    fn real_messages() {
        // The text real systems print for these conditions.
        for message in [
            "Connection refused (os error 111)",
            "Connection reset by peer (os error 104)",
            "failed to lookup address information: Temporary failure in name resolution",
            "ERROR:  deadlock detected",
            "Lock wait timeout exceeded; try restarting transaction",
            "FATAL:  sorry, too many connections for role \"app\"",
            "upstream request timeout",
        ] {
            assert!(is_transient_message(message), "{message}");
        }
    }

    #[test]
    fn permanent_messages() {
        for message in [
            "duplicate key value violates unique constraint \"users_pkey\"",
            "relation \"orders\" does not exist",
            "permission denied for table users",
            "No such file or directory (os error 2)",
            "",
        ] {
            assert!(!is_transient_message(message), "{message}");
        }
    }

    #[test]
    fn by_message_uses_display() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(by_message(&refused), "{refused}");
        assert!(!by_message(&std::io::Error::from(std::io::ErrorKind::NotFound)));
        assert!(by_message("Connection Reset"));
    }

    #[test]
    fn custom_patterns() {
        let classify = message_contains::<str>(&["BUSY"]);
        assert!(classify("database is busy"));
        assert!(!classify("database is locked"));
        assert!(!message_contains::<str>(&[])("anything"));
    }
}
