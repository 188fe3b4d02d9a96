//! The budget modes through `#[retry(budget = …)]`: the peers' own scenarios,
//! end to end through the engine.
#![allow(clippy::float_cmp, reason = "balances are whole thousandths of a token, exact in f64")]

use std::time::Duration;

use retry_runtime::testing::SleepRecorder;
use retry_runtime::{BudgetMode, RetryBudget, Stats, TimedOut, Verdict, retry};

// ---------------------------------------------------------------- gRPC

/// A status code, as far as these tests need one.
#[derive(Debug, PartialEq, Eq)]
enum Code {
    Ok,
    Unavailable,
}

/// `RetryableStatusCodes: ["UNAVAILABLE"]`.
fn unavailable(code: &Code) -> bool {
    *code == Code::Unavailable
}

/// The stub server of grpc-go's `TestRetryThrottling`: request `i` (from 0)
/// succeeds when it is one of these.
struct StubServer {
    next_request: u32,
}

impl StubServer {
    fn empty_call(&mut self) -> Result<(), Code> {
        let i = self.next_request;
        self.next_request += 1;
        match i {
            0 | 3 | 6 | 10 | 11 | 12 | 13 | 14 | 16 | 18 => Ok(()),
            _ => Err(Code::Unavailable),
        }
    }
}

/// `"retryThrottling": { "maxTokens": 10, "tokenRatio": 0.5 }`.
static GO_THROTTLE: RetryBudget = RetryBudget::grpc(10, 0.5);
static GO_STATS: Stats = Stats::new();

/// `"MaxAttempts": 4, "InitialBackoff": ".01s", "MaxBackoff": ".01s", "BackoffMultiplier": 1.0`.
#[retry(max = 4, base = "10ms", cap = "10ms", multiplier = 1.0, jitter = "none", on = unavailable,
        budget = GO_THROTTLE, stats = GO_STATS)]
fn empty_call(server: &mut StubServer) -> Result<(), Code> {
    server.empty_call()
}

/// Ported from grpc-go `test/retry_test.go`, `TestRetryThrottling`: each
/// call's status and the number of the last request the server saw. (The
/// Go table's comments say 6, 5.5 and 4.5 tokens after the third, eleventh
/// and last calls; its assertions, and the arithmetic, give 7, 6 and 5.)
#[test]
fn grpc_mode_passes_grpc_go_retry_throttling() {
    let _sleeps = SleepRecorder::install();
    let mut server = StubServer { next_request: 0 };
    let expected = [
        (Code::Ok, 0),           // tokens = 10
        (Code::Ok, 3),           // tokens = 8.5 (10 - 2 failures + 0.5 success)
        (Code::Ok, 6),           // tokens = 7
        (Code::Unavailable, 8),  // tokens = 5 -- first attempt is retried; second aborted.
        (Code::Unavailable, 9),  // tokens = 4
        (Code::Ok, 10),          // tokens = 4.5
        (Code::Ok, 11),          // tokens = 5
        (Code::Ok, 12),          // tokens = 5.5
        (Code::Ok, 13),          // tokens = 6
        (Code::Ok, 14),          // tokens = 6.5
        (Code::Ok, 16),          // tokens = 6
        (Code::Unavailable, 17), // tokens = 5
    ];
    for (call, (code, last_request)) in expected.into_iter().enumerate() {
        let status = empty_call(&mut server).err().unwrap_or(Code::Ok);
        assert_eq!((status, server.next_request - 1), (code, last_request), "call {call}: {GO_THROTTLE:?}");
    }
    assert_eq!(server.next_request, 18, "18 requests reach the server");
    assert_eq!(GO_THROTTLE.tokens(), 5.0);
    let stats = GO_STATS.snapshot();
    assert_eq!((stats.attempts, stats.budget_refusals), (18, 3));
}

/// The replies of grpc-java's pushback test, last first: two pushbacks,
/// three plain retryable failures, a last pushback, and never a success.
#[derive(Debug)]
enum Reply {
    Pushback(Duration),
    Unavailable,
}

fn pushback_aware(reply: &Reply) -> Verdict {
    match reply {
        Reply::Pushback(delay) => Verdict::RetryAfter(*delay),
        Reply::Unavailable => Verdict::Retry,
    }
}

static JAVA_THROTTLE: RetryBudget = RetryBudget::grpc(100, 0.1);
static PROPORTIONAL: RetryBudget = RetryBudget::new();

fn java_replies() -> Vec<Reply> {
    let mut replies = vec![
        Reply::Pushback(Duration::from_millis(123)),
        Reply::Pushback(Duration::from_secs(4567)),
        Reply::Unavailable,
        Reply::Unavailable,
        Reply::Unavailable,
        Reply::Pushback(Duration::from_secs(4567)),
    ];
    replies.reverse();
    replies
}

// grpc-java's RETRY_POLICY: MAX_ATTEMPTS 6, INITIAL_BACKOFF 100 s, multiplier
// 2 (its MAX_BACKOFF of 700 s does not apply to a pushback there; here `cap`
// caps a pushback too, so it is set above 4567 s).
#[retry(max = 6, base = "100s", cap = "2h", multiplier = 2.0, jitter = "none", on = pushback_aware, budget = JAVA_THROTTLE)]
fn grpc_stream(replies: &mut Vec<Reply>) -> Result<(), Reply> {
    Err(replies.pop().unwrap_or(Reply::Unavailable))
}

#[retry(max = 6, base = "100s", cap = "2h", multiplier = 2.0, jitter = "none", on = pushback_aware, budget = PROPORTIONAL)]
fn proportional_stream(replies: &mut Vec<Reply>) -> Result<(), Reply> {
    Err(replies.pop().unwrap_or(Reply::Unavailable))
}

/// Ported from grpc-java `core/src/test/java/io/grpc/internal/RetriableStreamTest.java`,
/// `pushback()`: after two pushbacks (123 ms, 4567 s) the backoff starts
/// again at its initial 100 s, and the sixth attempt's pushback is not
/// followed (no attempts left).
#[test]
fn grpc_mode_restarts_the_backoff_after_a_pushback() {
    let sleeps = SleepRecorder::install();
    let mut replies = java_replies();
    assert!(matches!(grpc_stream(&mut replies), Err(Reply::Pushback(_))));
    let seconds = Duration::from_secs;
    assert_eq!(sleeps.delays(), [Duration::from_millis(123), seconds(4567), seconds(100), seconds(200), seconds(400)]);
    // Six failed attempts, each transient: six tokens.
    assert_eq!(JAVA_THROTTLE.tokens(), 94.0);

    // The other budgets keep the curve going from the attempt number.
    let sleeps = SleepRecorder::install();
    let mut replies = java_replies();
    assert!(proportional_stream(&mut replies).is_err());
    assert_eq!(sleeps.delays(), [Duration::from_millis(123), seconds(4567), seconds(400), seconds(800), seconds(1600)]);
}

// ---------------------------------------------------------------- AWS

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum S3Error {
    #[error("503 slow down")]
    SlowDown,
    #[error(transparent)]
    TimedOut(#[from] TimedOut),
}

static QUOTA: RetryBudget = RetryBudget::aws_standard();

/// An attempt that sleeps `hang` (longer than the timeout: it times out),
/// then answers the next of `replies` (last first; success when none left).
#[retry(max = 3, base = "1ms", jitter = "none", timeout = "1s", budget = QUOTA)]
async fn put_object(hang: bool, replies: &mut Vec<S3Error>) -> Result<(), S3Error> {
    if hang {
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    replies.pop().map_or(Ok(()), Err)
}

/// botocore's `RetryQuotaChecker` semantics through the engine: a retry
/// costs 5, 10 after a timeout; a success after retries refunds the last
/// retry's cost; a first-try success earns 1; a failed call refunds nothing.
#[tokio::test(start_paused = true)]
async fn aws_mode_charges_timeouts_more_and_refunds_on_success() {
    assert_eq!(QUOTA.mode(), BudgetMode::AwsStandard);
    // Three timeouts: two retries after a timeout (10 each), then the last
    // attempt fails; nothing comes back.
    assert!(matches!(put_object(true, &mut Vec::new()).await, Err(S3Error::TimedOut(_))));
    assert_eq!(QUOTA.tokens(), 480.0);

    // Two 503s, then a success: two retries of 5, the last one refunded.
    assert_eq!(put_object(false, &mut vec![S3Error::SlowDown, S3Error::SlowDown]).await, Ok(()));
    assert_eq!(QUOTA.tokens(), 475.0);

    // A first-try success earns 1.
    assert_eq!(put_object(false, &mut Vec::new()).await, Ok(()));
    assert_eq!(QUOTA.tokens(), 476.0);
}

static SMALL_QUOTA: RetryBudget = RetryBudget::aws_standard().capacity(12).retry_cost(5).timeout_cost(10);
static SMALL_STATS: Stats = Stats::new();

#[retry(max = 5, base = "0ms", budget = SMALL_QUOTA, stats = SMALL_STATS)]
fn always_slow_down() -> Result<(), S3Error> {
    Err(S3Error::SlowDown)
}

#[test]
fn aws_mode_drains_to_what_no_retry_can_pay_and_counts_refusals() {
    for _ in 0..3 {
        assert_eq!(always_slow_down(), Err(S3Error::SlowDown));
    }
    // 12 tokens pay for two retries of 5; the 2 left pay for none.
    let stats = SMALL_STATS.snapshot();
    assert_eq!((stats.attempts, stats.retries, stats.budget_refusals), (5, 2, 3));
    assert_eq!((SMALL_QUOTA.tokens(), SMALL_QUOTA.refusals()), (2.0, 3));
}

// ---------------------------------------------------------------- proportional

static DEFAULT_BUDGET: RetryBudget = RetryBudget::new().capacity(4).ratio(0.0).min_retries_per_second(0);

#[retry(max = 5, base = "0ms", budget = DEFAULT_BUDGET)]
fn proportional_outage() -> Result<(), S3Error> {
    Err(S3Error::SlowDown)
}

/// The default mode's reserve: a retry is paid while at least half the
/// bucket is left after paying (4 → 3 → 2), unlike gRPC's strictly above.
#[test]
fn proportional_mode_keeps_exactly_half_in_reserve() {
    let _sleeps = SleepRecorder::install();
    let _ = proportional_outage();
    assert_eq!((DEFAULT_BUDGET.tokens(), DEFAULT_BUDGET.refusals()), (2.0, 1));
    let _ = proportional_outage();
    assert_eq!((DEFAULT_BUDGET.tokens(), DEFAULT_BUDGET.refusals()), (2.0, 2));
}
