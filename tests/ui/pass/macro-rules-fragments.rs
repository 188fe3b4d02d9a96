//! Every key given through `macro_rules!` fragments: `$x:path`, `$x:expr` and
//! `$x:literal` reach the attribute wrapped in invisible groups, `$x:ident`
//! bare. Each function is then called, to show the values were understood.
//! (`$param` names the argument in the signature and `$arg` in `clone(…)`:
//! both come from the call site, so hygiene lets them meet.)
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::time::Duration;

use retry_runtime::{CircuitBreaker, CircuitOpen, RetryBudget, RetryEvent, RetryPolicy, Stats, TimedOut, retry};

static BUDGET: RetryBudget = RetryBudget::new();
static BREAKER: CircuitBreaker = CircuitBreaker::new();
// `by_expr` fails five times in a row: on `BREAKER` that would open it.
static EXPR_BREAKER: CircuitBreaker = CircuitBreaker::new().failure_threshold(100);
static PATH_STATS: Stats = Stats::new();
static EXPR_STATS: Stats = Stats::new();
static IDENT_STATS: Stats = Stats::new();
static POLICY: RetryPolicy = RetryPolicy::new().max_attempts(4).base(Duration::from_millis(1));
static RETRIES_SEEN: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, PartialEq)]
enum Error {
    Down,
    Fatal,
    Open,
    TimedOut,
}

impl From<CircuitOpen> for Error {
    fn from(_: CircuitOpen) -> Self {
        Error::Open
    }
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::TimedOut
    }
}

fn is_down(error: &Error) -> bool {
    *error == Error::Down
}

fn count_retry(_: &RetryEvent<'_, Error>) {
    RETRIES_SEEN.fetch_add(1, Relaxed);
}

/// `Err(Down)` until the `succeed_on`-th call, then `Ok` with the call number;
/// `Err(Fatal)` from call 100 on.
fn attempt(calls: &AtomicU32, succeed_on: u32) -> Result<u32, Error> {
    let call = calls.fetch_add(1, Relaxed) + 1;
    match call {
        100.. => Err(Error::Fatal),
        _ if call < succeed_on => Err(Error::Down),
        _ => Ok(call),
    }
}

macro_rules! paths {
    ($budget:path, $breaker:path, $stats:path, $krate:path, $on:path, $on_retry:path, $param:ident, $arg:path, $policy:path) => {
        #[retry(max = 3, base = "1ms", budget = $budget, breaker = $breaker, stats = $stats, crate = $krate, on = $on, on_retry = $on_retry, clone($arg))]
        fn by_path(calls: &AtomicU32, $param: String) -> Result<u32, Error> {
            drop($param);
            attempt(calls, 2)
        }

        #[retry(policy = $policy, stats = $stats)]
        fn policy_by_path(calls: &AtomicU32) -> Result<u32, Error> {
            attempt(calls, 10)
        }
    };
}

macro_rules! exprs {
    (
        $max:expr, $base:expr, $cap:expr, $multiplier:expr, $backoff:expr, $jitter:expr, $deadline:expr,
        $on:expr, $on_retry:expr, $stats:expr, $stats_off:expr, $budget:expr, $breaker:expr, $krate:expr,
        $param:ident, $arg:expr, $policy:expr, $timeout:expr
    ) => {
        #[retry(max = $max, base = $base, cap = $cap, multiplier = $multiplier, backoff = $backoff, jitter = $jitter, deadline = $deadline, on = $on, on_retry = $on_retry, stats = $stats, budget = $budget, breaker = $breaker, crate = $krate, clone($arg))]
        fn by_expr(calls: &AtomicU32, $param: String) -> Result<u32, Error> {
            drop($param);
            attempt(calls, 10)
        }

        #[retry(policy = $policy, stats = $stats_off)]
        fn policy_by_expr(calls: &AtomicU32) -> Result<u32, Error> {
            attempt(calls, 10)
        }

        #[retry(max = $max, base = $base, timeout = $timeout)]
        async fn timeout_by_expr(calls: &AtomicU32) -> Result<u32, Error> {
            attempt(calls, 2)
        }
    };
}

macro_rules! idents {
    ($budget:ident, $breaker:ident, $stats:ident, $krate:ident, $on:ident, $on_retry:ident, $param:ident, $arg:ident, $policy:ident) => {
        #[retry(max = 3, base = "1ms", budget = $budget, breaker = $breaker, stats = $stats, crate = $krate, on = $on, on_retry = $on_retry, clone($arg))]
        fn by_ident(calls: &AtomicU32, $param: String) -> Result<u32, Error> {
            drop($param);
            attempt(calls, 2)
        }

        #[retry(policy = $policy)]
        fn policy_by_ident(calls: &AtomicU32) -> Result<u32, Error> {
            attempt(calls, 10)
        }
    };
}

macro_rules! literals {
    (
        $max:literal, $base:literal, $cap:literal, $multiplier:literal, $backoff:literal, $jitter:literal,
        $deadline:literal, $stats:literal, $krate:literal, $timeout:literal
    ) => {
        #[retry(max = $max, base = $base, cap = $cap, multiplier = $multiplier, backoff = $backoff, jitter = $jitter, deadline = $deadline, stats = $stats, crate = $krate)]
        fn by_literal(calls: &AtomicU32) -> Result<u32, Error> {
            attempt(calls, 10)
        }

        #[retry(max = $max, base = $base, timeout = $timeout)]
        async fn timeout_by_literal(calls: &AtomicU32) -> Result<u32, Error> {
            attempt(calls, 2)
        }
    };
}

paths!(BUDGET, crate::BREAKER, self::PATH_STATS, ::retry_runtime, is_down, count_retry, label, label, crate::POLICY);
exprs!(
    5, "1ms", "2ms", 1.5, "linear", 0.5, "10s", is_down, count_retry, EXPR_STATS, false, BUDGET, EXPR_BREAKER,
    ::retry_runtime, label, label, &POLICY, "1s"
);
idents!(BUDGET, BREAKER, IDENT_STATS, retry_runtime, is_down, count_retry, label, label, POLICY);
literals!(5, "1ms", "2ms", 1.5, "fixed", "none", "10s", false, "::retry_runtime", "1s");

fn main() {
    let calls = AtomicU32::new(0);
    assert_eq!(by_path(&calls, String::from("a")), Ok(2));
    assert_eq!(PATH_STATS.snapshot().retries, 1);
    assert_eq!(RETRIES_SEEN.load(Relaxed), 1);

    // `on = is_down`: a fatal error is returned at once.
    let calls = AtomicU32::new(99);
    assert_eq!(by_path(&calls, String::from("b")), Err(Error::Fatal));
    assert_eq!(calls.load(Relaxed), 100);

    // `max = 5` from an `expr` fragment.
    let calls = AtomicU32::new(0);
    assert_eq!(by_expr(&calls, String::from("c")), Err(Error::Down));
    assert_eq!(calls.load(Relaxed), 5);
    assert_eq!(EXPR_STATS.snapshot().retries, 4);

    let calls = AtomicU32::new(0);
    assert_eq!(by_ident(&calls, String::from("d")), Ok(2));
    assert_eq!(IDENT_STATS.snapshot().retries, 1);

    // `max = 5` from a `literal` fragment.
    let calls = AtomicU32::new(0);
    assert_eq!(by_literal(&calls), Err(Error::Down));
    assert_eq!(calls.load(Relaxed), 5);

    // The policy's 4 attempts, whichever fragment named it.
    for policy_fn in [policy_by_path, policy_by_expr, policy_by_ident] {
        let calls = AtomicU32::new(0);
        assert_eq!(policy_fn(&calls), Err(Error::Down));
        assert_eq!(calls.load(Relaxed), 4);
    }

    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let calls = AtomicU32::new(0);
    assert_eq!(runtime.block_on(timeout_by_expr(&calls)), Ok(2));
    let calls = AtomicU32::new(0);
    assert_eq!(runtime.block_on(timeout_by_literal(&calls)), Ok(2));
}
