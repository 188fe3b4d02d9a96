//! `#[retry]` on async functions, in tokio's paused (virtual) time.

use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use retry_runtime::{Verdict, retry};
use tokio::time::Instant;

#[derive(Debug, PartialEq, Eq)]
enum ApiError {
    Unavailable(u32),
    TooManyRequests { retry_after: Duration },
    NotFound,
}

fn classify(error: &ApiError) -> Verdict {
    match error {
        ApiError::Unavailable(_) => Verdict::Retry,
        ApiError::TooManyRequests { retry_after } => Verdict::RetryAfter(*retry_after),
        ApiError::NotFound => Verdict::Stop,
    }
}

struct Client {
    calls: AtomicU32,
    script: std::sync::Mutex<Vec<ApiError>>,
}

impl Client {
    fn new(mut script: Vec<ApiError>) -> Self {
        script.reverse();
        Client { calls: AtomicU32::new(0), script: std::sync::Mutex::new(script) }
    }

    fn next_reply(&self) -> Result<u32, ApiError> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        match self.script.lock().map(|mut script| script.pop()) {
            Ok(Some(error)) => Err(error),
            _ => Ok(call),
        }
    }

    #[retry(max = 5, base = "100ms", jitter = "none", on = classify)]
    async fn get(&self) -> Result<u32, ApiError> {
        tokio::task::yield_now().await;
        self.next_reply()
    }
}

#[tokio::test(start_paused = true)]
async fn shared_self_method_sleeps_the_exponential_schedule_in_virtual_time() {
    let client = Client::new(vec![ApiError::Unavailable(1), ApiError::Unavailable(2)]);
    let started = Instant::now();
    assert_eq!(client.get().await, Ok(3));
    assert_eq!(started.elapsed(), Duration::from_millis(100 + 200));
}

#[tokio::test(start_paused = true)]
async fn retry_after_replaces_the_computed_delay() {
    let client = Client::new(vec![ApiError::TooManyRequests { retry_after: Duration::from_secs(7) }]);
    let started = Instant::now();
    assert_eq!(client.get().await, Ok(2));
    assert_eq!(started.elapsed(), Duration::from_secs(7));
}

#[tokio::test(start_paused = true)]
async fn a_stop_verdict_returns_the_error_without_sleeping() {
    let client = Client::new(vec![ApiError::Unavailable(1), ApiError::NotFound]);
    let started = Instant::now();
    assert_eq!(client.get().await, Err(ApiError::NotFound));
    assert_eq!(client.calls.load(Ordering::Relaxed), 2);
    assert_eq!(started.elapsed(), Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn last_error_is_returned_when_attempts_run_out() {
    let client = Client::new((1..=9).map(ApiError::Unavailable).collect());
    let started = Instant::now();
    assert_eq!(client.get().await, Err(ApiError::Unavailable(5)));
    assert_eq!(started.elapsed(), Duration::from_millis(100 + 200 + 400 + 800));
}

struct Counter {
    value: u32,
    failures_left: u32,
}

impl Counter {
    #[retry(max = 3, base = "10ms", cap = "1s")]
    async fn increment(&mut self, by: &u32) -> Result<u32, String> {
        self.value += by;
        if self.failures_left > 0 {
            self.failures_left -= 1;
            return Err(format!("failed at {}", self.value));
        }
        Ok(self.value)
    }
}

#[tokio::test(start_paused = true)]
async fn mutable_self_method_with_a_reference_argument() {
    let mut counter = Counter { value: 0, failures_left: 2 };
    assert_eq!(counter.increment(&5).await, Ok(15));
    let mut counter = Counter { value: 0, failures_left: 3 };
    assert_eq!(counter.increment(&1).await, Err("failed at 3".to_owned()));
}

trait Repository {
    async fn load(&self, id: u64) -> Result<String, ApiError>;
}

struct Remote {
    client: Client,
}

impl Repository for Remote {
    #[retry(max = 3, base = "1s", jitter = "none", on = classify)]
    async fn load(&self, id: u64) -> Result<String, ApiError> {
        let call = self.client.next_reply()?;
        Ok(format!("row {id} on call {call}"))
    }
}

#[tokio::test(start_paused = true)]
async fn native_async_fn_in_trait_impl() {
    let remote = Remote { client: Client::new(vec![ApiError::Unavailable(1)]) };
    let started = Instant::now();
    assert_eq!(remote.load(9).await, Ok("row 9 on call 2".to_owned()));
    assert_eq!(started.elapsed(), Duration::from_secs(1));
}

#[retry(max = 4, base = "1ms", jitter = "decorrelated")]
async fn generic_async<T: Clone + Send, F>(value: &T, mut fail: F) -> Result<T, u32>
where
    F: FnMut() -> Option<u32> + Send,
{
    match fail() {
        Some(code) => Err(code),
        None => Ok(value.clone()),
    }
}

#[tokio::test(start_paused = true)]
async fn generic_async_function() {
    let mut failures = vec![2, 1];
    assert_eq!(generic_async(&"v", || failures.pop()).await, Ok("v"));
    let mut failures = vec![4, 3, 2, 1];
    assert_eq!(generic_async(&"v", || failures.pop()).await, Err(4));
}

#[retry(max = 20, base = "1s", backoff = "fixed", jitter = "none", deadline = "3500ms")]
async fn always_down(calls: &AtomicU32) -> Result<(), &'static str> {
    calls.fetch_add(1, Ordering::Relaxed);
    Err("down")
}

#[tokio::test(start_paused = true)]
async fn deadline_uses_tokio_time() {
    let calls = AtomicU32::new(0);
    let started = Instant::now();
    assert_eq!(always_down(&calls).await, Err("down"));
    // Attempts at 0, 1, 2, 3 s; a fifth at 4 s would end past 3.5 s.
    assert_eq!(calls.load(Ordering::Relaxed), 4);
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

/// An error that is not `Send`: it must not make the future non-`Send`,
/// because nothing of a failed attempt is held across the sleep.
#[derive(Debug)]
struct LocalError(#[allow(dead_code)] Rc<str>);

#[retry(max = 3, base = "1ms")]
async fn non_send_error(calls: &AtomicU32) -> Result<u32, LocalError> {
    let n = calls.fetch_add(1, Ordering::Relaxed);
    if n < 2 { Err(LocalError(Rc::from("busy"))) } else { Ok(n) }
}

/// The same with nothing recorded: the first attempt takes another path.
#[retry(max = 3, base = "1ms", stats = false)]
async fn non_send_error_unrecorded(calls: &AtomicU32) -> Result<u32, LocalError> {
    let n = calls.fetch_add(1, Ordering::Relaxed);
    if n < 2 { Err(LocalError(Rc::from("busy"))) } else { Ok(n) }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(start_paused = true)]
async fn a_non_send_error_type_keeps_the_future_send() {
    let calls = AtomicU32::new(0);
    let result = assert_send(non_send_error(&calls)).await;
    assert_eq!(result.ok(), Some(2));
    let calls = AtomicU32::new(0);
    let result = assert_send(non_send_error_unrecorded(&calls)).await;
    assert_eq!(result.ok(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_can_be_spawned_on_a_multi_threaded_runtime() {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let handle = tokio::spawn(async { non_send_error(&CALLS).await.ok() });
    assert_eq!(handle.await.ok().flatten(), Some(2));
}

#[derive(Clone, Debug, PartialEq)]
struct Payload(Vec<u8>);

async fn upload(payload: Payload, calls: &AtomicU32) -> Result<usize, String> {
    tokio::task::yield_now().await;
    if calls.fetch_add(1, Ordering::Relaxed) == 0 { Err("reset".into()) } else { Ok(payload.0.len()) }
}

#[retry(max = 2, base = "1ms", clone(payload))]
async fn send(payload: Payload, calls: &AtomicU32) -> Result<usize, String> {
    upload(payload, calls).await
}

#[tokio::test(start_paused = true)]
async fn clone_list_in_async_functions() {
    let calls = AtomicU32::new(0);
    assert_eq!(send(Payload(vec![0; 4]), &calls).await, Ok(4));
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn sleep_recorder_works_under_tokio_test() {
    let sleeps = retry_runtime::testing::SleepRecorder::install();
    let client = Client::new(vec![ApiError::Unavailable(1), ApiError::Unavailable(2)]);
    let started = std::time::Instant::now();
    assert_eq!(client.get().await, Ok(3));
    assert_eq!(sleeps.delays(), [100, 200].map(Duration::from_millis));
    assert!(started.elapsed() < Duration::from_millis(250), "the sleeps were skipped");
}

#[tokio::test(start_paused = true)]
async fn closure_api_async() {
    let calls = AtomicU32::new(0);
    let policy = retry_runtime::RetryPolicy::new()
        .max_attempts(3)
        .base(Duration::from_millis(50))
        .jitter(retry_runtime::Jitter::None);
    let started = Instant::now();
    let result = policy
        .retry_async(|| async {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            if n < 2 { Err(ApiError::Unavailable(n)) } else { Ok(n) }
        })
        .when(|e| matches!(e, ApiError::Unavailable(_)))
        .call()
        .await;
    assert_eq!(result, Ok(2));
    assert_eq!(started.elapsed(), Duration::from_millis(150));
}

#[tokio::test(start_paused = true)]
async fn closure_api_futures_are_send_with_a_non_send_error_and_a_non_sync_classifier() {
    let calls = AtomicU32::new(0);
    // `Cell` is `Send` but not `Sync`: a classifier lent across a sleep would make the future non-`Send`.
    let classified = std::cell::Cell::new(0);
    let policy = retry_runtime::RetryPolicy::new().max_attempts(3).base(Duration::from_millis(1));
    let retried = policy
        .retry_async(|| async {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            if n < 2 { Err(LocalError(Rc::from("busy"))) } else { Ok(n) }
        })
        .when(move |_: &LocalError| {
            classified.set(classified.get() + 1);
            true
        })
        .call();
    assert_eq!(assert_send(retried).await.ok(), Some(2));
}
