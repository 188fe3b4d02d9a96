//! `#[retry(on = …)]` with the classifiers of `retry_runtime::classify`:
//! each expression here is what a user writes in the attribute.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::io::{self, ErrorKind};
use std::time::Duration;

use retry_runtime::classify::message::{by_message, message_contains};
use retry_runtime::classify::{ClassifierExt, Transient, is_transient};
use retry_runtime::testing::SleepRecorder;
use retry_runtime::{Verdict, retry};

/// Fails with the errors in `errors`, last first, then succeeds; counts calls.
struct Script<E> {
    errors: Vec<E>,
    calls: Cell<u32>,
}

impl<E> Script<E> {
    fn new(mut errors: Vec<E>) -> Self {
        errors.reverse();
        Script { errors, calls: Cell::new(0) }
    }

    fn next(&mut self) -> Result<u32, E> {
        self.calls.set(self.calls.get() + 1);
        match self.errors.pop() {
            Some(error) => Err(error),
            None => Ok(self.calls.get()),
        }
    }
}

fn io_script(kinds: &[ErrorKind]) -> Script<io::Error> {
    Script::new(kinds.iter().map(|&kind| io::Error::from(kind)).collect())
}

#[derive(Debug, PartialEq)]
enum DbError {
    Deadlock,
    Unique,
    Io(ErrorKind),
}

impl Transient for DbError {
    fn is_transient(&self) -> bool {
        match self {
            DbError::Io(kind) => kind.is_transient(),
            DbError::Deadlock | DbError::Unique => false,
        }
    }
}

fn is_deadlock(error: &DbError) -> bool {
    *error == DbError::Deadlock
}

fn is_unique_violation(error: &DbError) -> bool {
    *error == DbError::Unique
}

#[retry(max = 5, base = "1ms", on = is_transient)]
fn generic_fn_item_directly(script: &mut Script<io::Error>) -> io::Result<u32> {
    script.next()
}

#[test]
fn generic_is_transient_used_directly() {
    let _sleeps = SleepRecorder::install();
    let mut script = io_script(&[ErrorKind::ConnectionReset, ErrorKind::TimedOut]);
    assert_eq!(generic_fn_item_directly(&mut script).unwrap(), 3);

    let mut script = io_script(&[ErrorKind::NotFound]);
    assert_eq!(generic_fn_item_directly(&mut script).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(script.calls.get(), 1);
}

#[retry(max = 5, base = "1ms", on = is_transient.or(is_deadlock))]
fn transient_or_deadlock(script: &mut Script<DbError>) -> Result<u32, DbError> {
    script.next()
}

#[test]
fn or_adds_a_condition() {
    let _sleeps = SleepRecorder::install();
    let mut script = Script::new(vec![DbError::Deadlock, DbError::Io(ErrorKind::ConnectionReset)]);
    assert_eq!(transient_or_deadlock(&mut script), Ok(3));

    let mut script = Script::new(vec![DbError::Deadlock, DbError::Unique, DbError::Deadlock]);
    assert_eq!(transient_or_deadlock(&mut script), Err(DbError::Unique));
    assert_eq!(script.calls.get(), 2);
}

#[retry(max = 5, base = "1ms", on = is_deadlock.or(is_transient))]
fn generic_on_the_right(script: &mut Script<DbError>) -> Result<u32, DbError> {
    script.next()
}

#[test]
fn or_takes_the_generic_classifier_as_its_argument() {
    let _sleeps = SleepRecorder::install();
    let mut script = Script::new(vec![DbError::Io(ErrorKind::Interrupted), DbError::Deadlock]);
    assert_eq!(generic_on_the_right(&mut script), Ok(3));
}

#[retry(max = 5, base = "1ms", on = is_transient.or(is_deadlock).or(is_unique_violation))]
fn chained(script: &mut Script<DbError>) -> Result<u32, DbError> {
    script.next()
}

#[test]
fn combinators_chain() {
    let _sleeps = SleepRecorder::install();
    let mut script = Script::new(vec![DbError::Unique, DbError::Deadlock, DbError::Io(ErrorKind::BrokenPipe)]);
    assert_eq!(chained(&mut script), Ok(4));
    let mut script = Script::new(vec![DbError::Io(ErrorKind::InvalidInput)]);
    assert_eq!(chained(&mut script), Err(DbError::Io(ErrorKind::InvalidInput)));
}

fn is_timeout(error: &io::Error) -> bool {
    error.kind() == ErrorKind::TimedOut
}

#[retry(max = 5, base = "1ms", on = is_transient.and(is_timeout.not()))]
fn transient_but_not_timeout(script: &mut Script<io::Error>) -> io::Result<u32> {
    script.next()
}

#[test]
fn and_not_removes_a_condition() {
    let _sleeps = SleepRecorder::install();
    let mut script = io_script(&[ErrorKind::ConnectionRefused, ErrorKind::TimedOut, ErrorKind::ConnectionRefused]);
    assert_eq!(transient_but_not_timeout(&mut script).unwrap_err().kind(), ErrorKind::TimedOut);
    assert_eq!(script.calls.get(), 2);
}

#[retry(max = 4, base = "1ms", on = (|error: &io::Error| error.kind() == ErrorKind::Other).or(is_transient))]
fn closure_combined(script: &mut Script<io::Error>) -> io::Result<u32> {
    script.next()
}

#[test]
fn closures_combine_too() {
    let _sleeps = SleepRecorder::install();
    let mut script = io_script(&[ErrorKind::Other, ErrorKind::WouldBlock]);
    assert_eq!(closure_combined(&mut script).unwrap(), 3);
}

#[retry(max = 3, base = "1ms", on = by_message)]
fn text_errors(script: &mut Script<String>) -> Result<u32, String> {
    script.next()
}

#[retry(max = 3, base = "1ms", on = message_contains(&["database is busy"]))]
fn text_errors_custom(script: &mut Script<String>) -> Result<u32, String> {
    script.next()
}

#[test]
fn message_classifiers_in_the_attribute() {
    let _sleeps = SleepRecorder::install();
    let mut script = Script::new(vec!["Connection refused (os error 111)".to_owned()]);
    assert_eq!(text_errors(&mut script), Ok(2));
    let mut script = Script::new(vec!["column \"x\" does not exist".to_owned()]);
    assert!(text_errors(&mut script).is_err());
    assert_eq!(script.calls.get(), 1);

    let mut script = Script::new(vec!["Database Is Busy".to_owned()]);
    assert_eq!(text_errors_custom(&mut script), Ok(2));
}

struct Repo {
    classify_calls: Cell<u32>,
}

impl Repo {
    fn is_deadlock(&self, error: &DbError) -> bool {
        self.classify_calls.set(self.classify_calls.get() + 1);
        *error == DbError::Deadlock
    }

    // A combination using `self`: the expression is evaluated in the method.
    #[retry(max = 4, base = "1ms", on = is_transient.or(|error: &DbError| self.is_deadlock(error)))]
    fn save(&self, script: &mut Script<DbError>) -> Result<u32, DbError> {
        script.next()
    }
}

#[test]
fn a_combination_can_use_self() {
    let _sleeps = SleepRecorder::install();
    let repo = Repo { classify_calls: Cell::new(0) };
    let mut script = Script::new(vec![DbError::Deadlock, DbError::Io(ErrorKind::TimedOut), DbError::Deadlock]);
    assert_eq!(repo.save(&mut script), Ok(4));
    // `or` short-circuits: the timeout never reached the second classifier.
    assert_eq!(repo.classify_calls.get(), 2);
}

#[cfg(feature = "http")]
mod http_responses {
    use http::Response;
    use http::header::RETRY_AFTER;

    use super::*;

    fn reply(status: u16, retry_after: Option<&str>) -> Response<()> {
        let mut response = Response::builder().status(status);
        if let Some(value) = retry_after {
            response = response.header(RETRY_AFTER, value);
        }
        response.body(()).unwrap()
    }

    #[retry(max = 5, base = "100ms", cap = "10s", jitter = "none", on = is_transient)]
    fn get(script: &mut Script<Response<()>>) -> Result<u32, Response<()>> {
        script.next()
    }

    #[test]
    fn retry_after_replaces_the_delay_and_is_capped() {
        let sleeps = SleepRecorder::install();
        let past = "Sun, 06 Nov 1994 08:49:37 GMT";
        let mut script = Script::new(vec![
            reply(503, Some("3")),
            reply(429, Some("3600")),
            reply(502, None),
            reply(503, Some(past)),
        ]);
        assert_eq!(get(&mut script).unwrap(), 5);
        assert_eq!(
            sleeps.delays(),
            [
                Duration::from_secs(3),     // Retry-After: 3
                Duration::from_secs(10),    // Retry-After: 3600, capped by `cap`
                Duration::from_millis(400), // no hint: the policy's third delay
                Duration::ZERO,             // a date in the past: now
            ]
        );
    }

    #[test]
    fn a_client_error_is_not_retried() {
        let sleeps = SleepRecorder::install();
        let mut script = Script::new(vec![reply(404, Some("1"))]);
        assert_eq!(get(&mut script).unwrap_err().status(), 404);
        assert!(sleeps.delays().is_empty());
    }
}

#[cfg(feature = "tonic")]
mod grpc_statuses {
    use tonic::metadata::MetadataMap;
    use tonic::{Code, Status};

    use retry_runtime::classify::grpc::{PUSHBACK_TRAILER, RetryableCodes};

    use super::*;

    fn status(code: Code, pushback: Option<&str>) -> Status {
        let mut trailers = MetadataMap::new();
        if let Some(value) = pushback {
            trailers.insert(PUSHBACK_TRAILER, value.parse().unwrap());
        }
        Status::with_metadata(code, "test", trailers)
    }

    #[retry(max = 5, base = "100ms", jitter = "none", on = is_transient)]
    fn call(script: &mut Script<Status>) -> Result<u32, Status> {
        script.next()
    }

    #[retry(max = 5, base = "100ms", jitter = "none", on = RetryableCodes::DEFAULT.with(Code::Internal).classifier())]
    fn call_retrying_internal(script: &mut Script<Status>) -> Result<u32, Status> {
        script.next()
    }

    #[test]
    fn pushback_sets_the_delay() {
        let sleeps = SleepRecorder::install();
        let mut script = Script::new(vec![status(Code::Unavailable, Some("250")), status(Code::Aborted, None)]);
        assert_eq!(call(&mut script).unwrap(), 3);
        assert_eq!(sleeps.delays(), [Duration::from_millis(250), Duration::from_millis(200)]);
    }

    #[test]
    fn negative_pushback_stops() {
        let sleeps = SleepRecorder::install();
        let mut script = Script::new(vec![status(Code::Unavailable, Some("-1"))]);
        assert_eq!(call(&mut script).unwrap_err().code(), Code::Unavailable);
        assert!(sleeps.delays().is_empty());
    }

    #[test]
    fn internal_is_retried_only_when_configured() {
        let _sleeps = SleepRecorder::install();
        let mut script = Script::new(vec![status(Code::Internal, None)]);
        assert_eq!(call(&mut script).unwrap_err().code(), Code::Internal);
        let mut script = Script::new(vec![status(Code::Internal, None)]);
        assert_eq!(call_retrying_internal(&mut script).unwrap(), 2);
    }
}

#[test]
fn verdicts_of_the_combinators() {
    let hint = |_: &DbError| Verdict::RetryAfter(Duration::from_secs(1));
    let longer = |_: &DbError| Verdict::RetryAfter(Duration::from_secs(5));
    assert_eq!(hint.and(longer)(&DbError::Deadlock), Verdict::RetryAfter(Duration::from_secs(5)));
    assert_eq!(hint.and(is_deadlock)(&DbError::Unique), Verdict::Stop);
    assert_eq!(is_deadlock.or(hint)(&DbError::Unique), Verdict::RetryAfter(Duration::from_secs(1)));
    assert_eq!(is_deadlock.or(hint)(&DbError::Deadlock), Verdict::Retry);
    assert_eq!(hint.not()(&DbError::Deadlock), Verdict::Stop);
}
