//! Feature `tracing`: what a real `tracing-subscriber` prints for each retry,
//! a success after retries, and a final failure.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use retry_runtime::retry;
use tracing_subscriber::fmt::MakeWriter;

/// Everything the subscriber writes, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Runs `f` with a subscriber on this thread; returns what it printed.
fn logs_of(f: impl FnOnce()) -> String {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(tracing::Level::TRACE)
        .without_time()
        .with_target(false)
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    captured.text()
}

fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused")
}

#[retry(max = 5, base = "100ms", jitter = "none")]
fn load(failures: &mut u32) -> Result<u32, io::Error> {
    if *failures > 0 {
        *failures -= 1;
        return Err(refused());
    }
    Ok(42)
}

#[test]
fn each_retry_is_a_warning_and_a_success_after_retries_is_info() {
    let _sleeps = retry_runtime::testing::SleepRecorder::install();
    let logs = logs_of(|| assert_eq!(load(&mut 2).ok(), Some(42)));
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), 3, "{logs}");
    assert!(lines[0].starts_with(" WARN"), "{logs}");
    assert!(
        lines[0].contains("retrying load after attempt 1 failed: connection refused; next in 100ms (attempt 1/5)"),
        "{logs}"
    );
    for field in [
        "retry.function=\"tracing_events::load\"",
        "retry.attempt=1",
        "retry.max_attempts=5",
        "retry.delay_ms=100",
        "error=connection refused",
    ] {
        assert!(lines[0].contains(field), "missing {field} in {}", lines[0]);
    }
    assert!(lines[1].contains("after attempt 2 failed") && lines[1].contains("next in 200ms (attempt 2/5)"), "{logs}");
    assert!(lines[2].starts_with(" INFO") && lines[2].contains("load succeeded after 3 attempts"), "{logs}");
    assert!(lines[2].contains("retry.attempts=3"), "{logs}");
}

#[test]
fn a_first_try_success_logs_nothing() {
    assert_eq!(logs_of(|| assert!(load(&mut 0).is_ok())), "");
}

#[test]
fn a_final_failure_after_retries_is_an_error() {
    let _sleeps = retry_runtime::testing::SleepRecorder::install();
    let logs = logs_of(|| assert!(load(&mut 10).is_err()));
    let last = logs.lines().last().unwrap_or_default();
    assert_eq!(logs.lines().filter(|l| l.starts_with(" WARN")).count(), 4, "{logs}");
    assert!(last.starts_with("ERROR"), "{logs}");
    assert!(last.contains("giving up on load after 5 attempts: connection refused"), "{logs}");
    assert!(last.contains("retry.outcome=\"exhausted\""), "{logs}");
}

/// An error with `Debug` but no `Display`.
#[derive(Debug)]
struct Opaque {
    #[expect(dead_code, reason = "only printed through `Debug`")]
    code: u16,
}

#[retry(max = 2, base = "1ms")]
fn debug_only() -> Result<(), Opaque> {
    Err(Opaque { code: 503 })
}

/// An error with neither `Display` nor `Debug`: still retried and logged.
struct Bare;

#[retry(max = 2, base = "1ms")]
fn bare() -> Result<(), Bare> {
    Err(Bare)
}

#[test]
fn errors_without_display_are_logged_with_debug_or_their_type_name() {
    let _sleeps = retry_runtime::testing::SleepRecorder::install();
    let logs = logs_of(|| assert!(debug_only().is_err()));
    assert!(logs.contains("attempt 1 failed: Opaque { code: 503 }"), "{logs}");
    let logs = logs_of(|| assert!(bare().is_err()));
    assert!(logs.contains("attempt 1 failed: tracing_events::Bare"), "{logs}");
}

#[retry(max = 3, base = "10ms", jitter = "none")]
async fn fetch(failures: &std::cell::Cell<u32>) -> Result<(), String> {
    let left = failures.get();
    if left > 0 {
        failures.set(left - 1);
        return Err(format!("503 from upstream ({left} left)"));
    }
    Ok(())
}

#[test]
fn async_functions_log_the_same_way() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build();
    let Ok(runtime) = runtime else { panic!("no runtime") };
    let failures = std::cell::Cell::new(1);
    let logs = logs_of(|| assert!(runtime.block_on(fetch(&failures)).is_ok()));
    assert!(
        logs.contains("retrying fetch after attempt 1 failed: 503 from upstream (1 left); next in 10ms (attempt 1/3)"),
        "{logs}"
    );
    assert!(logs.contains("fetch succeeded after 2 attempts"), "{logs}");
}

/// Generic in its error: the describer cannot see a `Display` bound, so it
/// falls back to the type's name, and the function still compiles.
#[retry(max = 2, base = "1ms", clone(error))]
fn generic<E: Clone>(error: E) -> Result<(), E> {
    Err(error)
}

#[test]
fn a_generic_error_type_compiles_and_is_logged_by_its_type_name() {
    let _sleeps = retry_runtime::testing::SleepRecorder::install();
    let logs = logs_of(|| assert_eq!(generic("boom"), Err("boom")));
    assert!(logs.contains("retrying generic after attempt 1 failed: &str;"), "{logs}");
}
