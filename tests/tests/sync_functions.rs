//! `#[retry]` on sync functions of every shape, with real (small) sleeps.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use retry_runtime::testing::SleepRecorder;
use retry_runtime::{RetryEvent, RetryPolicy, Verdict, retry};

#[derive(Debug, PartialEq, Eq)]
enum DbError {
    Busy(u32),
    Constraint,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Busy(attempt) => write!(f, "database is busy (attempt {attempt})"),
            DbError::Constraint => f.write_str("constraint violated"),
        }
    }
}

fn is_busy(error: &DbError) -> bool {
    matches!(error, DbError::Busy(_))
}

thread_local! {
    static CALLS: Cell<u32> = const { Cell::new(0) };
}

/// Fails with `Busy(attempt)` until the `succeed_on`-th call of this thread.
fn flaky(succeed_on: u32) -> Result<u32, DbError> {
    let attempt = CALLS.get() + 1;
    CALLS.set(attempt);
    if attempt >= succeed_on { Ok(attempt) } else { Err(DbError::Busy(attempt)) }
}

fn reset_calls() {
    CALLS.set(0);
}

#[retry(max = 4, base = "5ms", jitter = "none")]
fn free_function(succeed_on: u32) -> Result<u32, DbError> {
    flaky(succeed_on)
}

#[test]
fn free_function_retries_with_real_exponential_delays() {
    reset_calls();
    let started = Instant::now();
    assert_eq!(free_function(3), Ok(3));
    let elapsed = started.elapsed();
    assert_eq!(CALLS.get(), 3);
    // 5 ms then 10 ms: the thread really slept at least that long.
    assert!(elapsed >= Duration::from_millis(15), "slept only {elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "slept {elapsed:?}");
}

#[test]
fn last_error_is_returned_unchanged_when_attempts_run_out() {
    reset_calls();
    let sleeps = SleepRecorder::install();
    assert_eq!(free_function(100), Err(DbError::Busy(4)));
    assert_eq!(CALLS.get(), 4);
    assert_eq!(sleeps.delays(), [5, 10, 20].map(Duration::from_millis));
}

#[test]
fn success_on_the_first_attempt_returns_at_once() {
    reset_calls();
    let sleeps = SleepRecorder::install();
    assert_eq!(free_function(1), Ok(1));
    assert_eq!(CALLS.get(), 1);
    assert!(sleeps.delays().is_empty());
}

#[retry(max = 5, base = "1ms", on = is_busy)]
fn classified(errors: &mut Vec<DbError>) -> Result<(), DbError> {
    CALLS.set(CALLS.get() + 1);
    match errors.pop() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

#[test]
fn a_classifier_returning_false_stops_at_once() {
    reset_calls();
    let _sleeps = SleepRecorder::install();
    let mut errors = vec![DbError::Constraint, DbError::Busy(1)];
    assert_eq!(classified(&mut errors), Err(DbError::Constraint));
    assert_eq!(CALLS.get(), 2, "one busy retry, then the constraint error is final");
}

fn honour_hint(error: &DbError) -> Verdict {
    match error {
        DbError::Busy(seconds) => Verdict::RetryAfter(Duration::from_secs(u64::from(*seconds))),
        DbError::Constraint => Verdict::Stop,
    }
}

#[retry(max = 4, base = "1ms", cap = "10s", on = honour_hint)]
fn with_hints(errors: &mut Vec<DbError>) -> Result<(), DbError> {
    errors.pop().map_or(Ok(()), Err)
}

#[test]
fn retry_after_replaces_the_delay_and_is_capped() {
    let sleeps = SleepRecorder::install();
    let mut errors = vec![DbError::Busy(60), DbError::Busy(3)];
    assert_eq!(with_hints(&mut errors), Ok(()));
    assert_eq!(sleeps.delays(), [Duration::from_secs(3), Duration::from_secs(10)]);
}

struct Repo {
    name: String,
    busy_for: u32,
    writes: u32,
}

impl Repo {
    #[retry(max = 3, base = "1ms")]
    fn name(&self) -> Result<&str, DbError> {
        // Relies on the declared return type: `&String` coerces to `&str`.
        Ok(&self.name)
    }

    #[retry(max = 5, base = "1ms", on = is_busy)]
    fn save(&mut self, value: u32) -> Result<u32, DbError> {
        self.writes += 1;
        if self.busy_for > 0 {
            self.busy_for -= 1;
            return Err(DbError::Busy(self.writes)); // ends this attempt only
        }
        Ok(value * 10)
    }

    #[retry(max = 3, base = "1ms")]
    fn parse_and_store(&mut self, text: &str) -> Result<u32, ParseOrDb> {
        self.writes += 1;
        // `?` converts through `From` into the declared error type.
        let value: u32 = text.parse()?;
        Ok(value)
    }
}

#[derive(Debug, PartialEq)]
enum ParseOrDb {
    Parse(std::num::IntErrorKind),
}

impl From<std::num::ParseIntError> for ParseOrDb {
    fn from(error: std::num::ParseIntError) -> Self {
        ParseOrDb::Parse(*error.kind())
    }
}

#[test]
fn methods_on_shared_and_mutable_self() {
    let _sleeps = SleepRecorder::install();
    let mut repo = Repo { name: "users".into(), busy_for: 2, writes: 0 };
    assert_eq!(repo.name(), Ok("users"));
    assert_eq!(repo.save(4), Ok(40));
    assert_eq!(repo.writes, 3, "the body ran once per attempt, reborrowing &mut self each time");
}

#[test]
fn question_mark_ends_one_attempt_not_the_call() {
    let _sleeps = SleepRecorder::install();
    let mut repo = Repo { name: String::new(), busy_for: 0, writes: 0 };
    assert_eq!(repo.parse_and_store("x"), Err(ParseOrDb::Parse(std::num::IntErrorKind::InvalidDigit)));
    assert_eq!(repo.writes, 3, "each `?` failure was retried");
    assert_eq!(repo.parse_and_store("7").ok(), Some(7));
}

trait Store {
    fn get(&self, key: &str) -> Result<String, DbError>;
}

struct FlakyStore {
    failures_left: Cell<u32>,
}

impl Store for FlakyStore {
    #[retry(max = 3, base = "1ms", jitter = "equal")]
    fn get(&self, key: &str) -> Result<String, DbError> {
        let left = self.failures_left.get();
        if left > 0 {
            self.failures_left.set(left - 1);
            return Err(DbError::Busy(left));
        }
        Ok(key.to_uppercase())
    }
}

#[test]
fn trait_impl_method() {
    let _sleeps = SleepRecorder::install();
    let store = FlakyStore { failures_left: Cell::new(2) };
    assert_eq!(store.get("k"), Ok("K".to_owned()));
    let store = FlakyStore { failures_left: Cell::new(3) };
    assert_eq!(store.get("k"), Err(DbError::Busy(1)));
}

#[retry(max = 3, base = "1ms")]
fn generic<T, E>(mut attempts: impl FnMut() -> Result<T, E>) -> Result<T, E>
where
    E: fmt::Debug,
{
    attempts()
}

#[test]
fn generic_function() {
    let _sleeps = SleepRecorder::install();
    let mut n = 0;
    let result = generic(|| {
        n += 1;
        if n < 3 { Err(format!("try {n}")) } else { Ok(n) }
    });
    assert_eq!(result, Ok(3));
}

#[retry(max = 10, base = "1s", jitter = "none", deadline = "10s")]
fn always_busy() -> Result<(), DbError> {
    Err(DbError::Busy(0))
}

#[test]
fn deadline_cuts_retries_short() {
    let sleeps = SleepRecorder::install();
    assert!(always_busy().is_err());
    // 1 + 2 + 4 = 7 s fit in 10 s; another 8 s would end past it.
    assert_eq!(sleeps.delays(), [1, 2, 4].map(Duration::from_secs));
}

#[retry(max = 50, base = "20ms", backoff = "fixed", jitter = "none", deadline = "70ms")]
fn busy_for_real() -> Result<(), DbError> {
    Err(DbError::Busy(0))
}

#[test]
fn deadline_is_measured_on_the_real_clock() {
    let started = Instant::now();
    assert!(busy_for_real().is_err());
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(70) + Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(40), "{elapsed:?}");
}

thread_local! {
    static EVENTS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn record(event: &RetryEvent<'_, DbError>) {
    let line = format!(
        "{} attempt {}/{} failed: {}; next in {:?}",
        event.function().rsplit("::").next().unwrap_or_default(),
        event.attempt(),
        event.max_attempts(),
        event.error(),
        event.delay()
    );
    EVENTS.with_borrow_mut(|events| events.push(line));
}

#[retry(max = 3, base = "2ms", jitter = "none", on_retry = record)]
fn observed(succeed_on: u32) -> Result<u32, DbError> {
    flaky(succeed_on)
}

#[test]
fn on_retry_sees_each_failure_that_is_retried() {
    reset_calls();
    EVENTS.with_borrow_mut(Vec::clear);
    assert_eq!(observed(10), Err(DbError::Busy(3)));
    let events = EVENTS.with_borrow(Clone::clone);
    assert_eq!(
        events,
        [
            "observed attempt 1/3 failed: database is busy (attempt 1); next in 2ms",
            "observed attempt 2/3 failed: database is busy (attempt 2); next in 4ms",
        ]
    );
}

#[test]
fn on_retry_function_name_includes_the_module_path() {
    reset_calls();
    let seen = std::cell::RefCell::new(String::new());
    let policy = RetryPolicy::new().max_attempts(2).base(Duration::ZERO);
    let _ = policy
        .retry(|| flaky(5))
        .named(concat!(module_path!(), "::closure"))
        .on_retry(|event| {
            seen.replace(event.function().to_owned());
        })
        .call();
    assert_eq!(seen.into_inner(), "sync_functions::closure");
}

struct Client {
    policy: RetryPolicy,
    failures_left: u32,
    calls: u32,
}

impl Client {
    #[retry(policy = &self.policy, on = is_busy)]
    fn call(&mut self) -> Result<u32, DbError> {
        self.calls += 1;
        if self.failures_left > 0 {
            self.failures_left -= 1;
            return Err(DbError::Busy(self.calls));
        }
        Ok(self.calls)
    }
}

#[test]
fn policy_from_a_field_of_self() {
    let sleeps = SleepRecorder::install();
    let policy = RetryPolicy::new().max_attempts(6).base(Duration::from_millis(3)).jitter(retry_runtime::Jitter::None);
    let mut client = Client { policy, failures_left: 4, calls: 0 };
    assert_eq!(client.call(), Ok(5));
    assert_eq!(sleeps.delays(), [3, 6, 12, 24].map(Duration::from_millis));

    client.policy = client.policy.max_attempts(2);
    client.failures_left = 5;
    assert_eq!(client.call(), Err(DbError::Busy(7)));
}

#[derive(Clone, Debug, PartialEq)]
struct Request {
    body: Vec<u8>,
}

// Taking ownership is what this test is about.
#[allow(clippy::needless_pass_by_value)]
fn consume(request: Request) -> Result<usize, DbError> {
    let attempt = CALLS.get() + 1;
    CALLS.set(attempt);
    if attempt < 3 { Err(DbError::Busy(attempt)) } else { Ok(request.body.len()) }
}

#[retry(max = 3, base = "1ms", clone(request))]
fn send(request: Request) -> Result<usize, DbError> {
    consume(request)
}

#[test]
fn clone_gives_each_attempt_its_own_copy_of_a_consumed_argument() {
    reset_calls();
    let _sleeps = SleepRecorder::install();
    assert_eq!(send(Request { body: vec![1, 2, 3] }), Ok(3));
    assert_eq!(CALLS.get(), 3);
}

#[retry(max = 1)]
fn no_retry() -> Result<(), DbError> {
    CALLS.set(CALLS.get() + 1);
    Err(DbError::Busy(1))
}

#[test]
fn max_one_means_a_single_attempt() {
    reset_calls();
    let sleeps = SleepRecorder::install();
    assert_eq!(no_retry(), Err(DbError::Busy(1)));
    assert_eq!(CALLS.get(), 1);
    assert!(sleeps.delays().is_empty());
}

#[retry(max = 3, base = "1ms")]
fn io_alias(fail: &Cell<bool>) -> std::io::Result<u8> {
    if fail.replace(false) { Err(std::io::ErrorKind::ConnectionReset.into()) } else { Ok(1) }
}

#[test]
fn result_aliases_work() {
    let _sleeps = SleepRecorder::install();
    assert_eq!(io_alias(&Cell::new(true)).ok(), Some(1));
}

#[test]
fn seeded_recorder_makes_jittered_delays_reproducible() {
    let run = || {
        reset_calls();
        let sleeps = SleepRecorder::install_seeded(99);
        let _ = classified(&mut vec![DbError::Busy(3), DbError::Busy(2), DbError::Busy(1)]);
        sleeps.delays()
    };
    let first = run();
    assert_eq!(first.len(), 3);
    assert_eq!(first, run());
}

#[retry(max = 2, base = "30s", jitter = "none")]
fn base_at_the_default_cap() -> Result<(), ()> {
    Err(())
}

#[retry(max = 2, cap = "100ms", jitter = "none")]
fn cap_at_the_default_base() -> Result<(), ()> {
    Err(())
}

/// The macro's compile-time `cap`-below-`base` check uses the runtime's
/// defaults: these two compile (the trybuild cases `base-just-above-default-cap`
/// and `cap-just-below-default-base` do not), and sleep exactly those defaults.
#[test]
fn the_macros_default_base_and_cap_are_the_runtimes() {
    let defaults = RetryPolicy::new();
    let sleeps = SleepRecorder::install();
    assert!(base_at_the_default_cap().is_err());
    assert!(cap_at_the_default_base().is_err());
    assert_eq!(sleeps.delays(), [Duration::from_secs(30), Duration::from_millis(100)]);
    assert_eq!(sleeps.delays(), [defaults.cap, defaults.base]);
}
