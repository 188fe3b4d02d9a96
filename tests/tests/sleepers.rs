//! Async functions on timers other than tokio's: async-io's (smol's), and
//! any function a user names with `sleep = …`.

use std::cell::RefCell;
use std::future::{Ready, ready};
use std::time::{Duration, Instant};

use retry_runtime::sleep::AsyncIo;
use retry_runtime::{RetryPolicy, TimedOut, retry};

thread_local! {
    static SLEPT: RefCell<Vec<Duration>> = const { RefCell::new(Vec::new()) };
}

/// A sleeper of a user's own: records each delay, and sleeps none.
fn record(delay: Duration) -> Ready<()> {
    SLEPT.with(|slept| slept.borrow_mut().push(delay));
    ready(())
}

fn slept() -> Vec<Duration> {
    SLEPT.with(RefCell::take)
}

#[retry(max = 4, base = "100ms", jitter = "none", sleep = record)]
async fn always_busy(attempts: &mut u32) -> Result<(), &'static str> {
    *attempts += 1;
    Err("busy")
}

#[test]
fn a_named_sleeper_is_given_every_delay() {
    let mut attempts = 0;
    assert_eq!(futures_lite::future::block_on(always_busy(&mut attempts)), Err("busy"));
    assert_eq!(attempts, 4);
    assert_eq!(slept(), [100, 200, 400].map(Duration::from_millis));
}

#[retry(max = 3, base = "20ms", jitter = "none", sleep = AsyncIo)]
async fn busy_twice(attempts: &mut u32) -> Result<u32, &'static str> {
    *attempts += 1;
    if *attempts < 3 { Err("busy") } else { Ok(*attempts) }
}

#[test]
fn async_io_sleeps_between_attempts() {
    let mut attempts = 0;
    let started = Instant::now();
    assert_eq!(async_io::block_on(busy_twice(&mut attempts)), Ok(3));
    // 20 ms, then 40 ms, on async-io's timer in real time.
    assert!(started.elapsed() >= Duration::from_millis(60), "{:?}", started.elapsed());
}

#[retry(max = 3, base = "1ms", timeout = "30ms", sleep = AsyncIo)]
async fn hangs(attempts: &mut u32) -> Result<(), std::io::Error> {
    *attempts += 1;
    std::future::pending::<()>().await;
    Ok(())
}

#[test]
fn a_timeout_is_timed_on_the_named_sleeper() {
    let mut attempts = 0;
    let started = Instant::now();
    let error = async_io::block_on(hangs(&mut attempts)).err();
    assert_eq!(error.map(|e| e.kind()), Some(std::io::ErrorKind::TimedOut));
    assert_eq!(attempts, 3);
    assert!(started.elapsed() >= Duration::from_millis(90), "{:?}", started.elapsed());
}

#[retry(max = 10, base = "40ms", jitter = "none", deadline = "100ms", sleep = AsyncIo)]
async fn down(attempts: &mut u32) -> Result<(), &'static str> {
    *attempts += 1;
    Err("down")
}

#[test]
fn the_deadline_of_a_call_on_another_timer_is_measured_on_the_system_clock() {
    let mut attempts = 0;
    let started = Instant::now();
    assert_eq!(async_io::block_on(down(&mut attempts)), Err("down"));
    // Sleeps of 40 and 80 ms: the second would end past 100 ms, so it is not made.
    assert_eq!(attempts, 2);
    assert!(started.elapsed() < Duration::from_millis(100), "{:?}", started.elapsed());
}

#[test]
fn the_closure_api_sleeps_on_the_sleeper_it_is_given() {
    let result = async_io::block_on(
        RetryPolicy::new()
            .max_attempts(3)
            .base(Duration::from_millis(5))
            .jitter(retry_runtime::Jitter::None)
            .retry_async(|| async { Err::<(), _>(TimedOut::after(Duration::ZERO)) })
            .sleep(record)
            .call(),
    );
    assert!(result.is_err());
    assert_eq!(slept(), [5, 10].map(Duration::from_millis));
}

#[tokio::test(start_paused = true)]
async fn tokio_stays_the_default_timer_with_paused_time() {
    #[retry(max = 3, base = "1h", cap = "4h", jitter = "none", deadline = "2h")]
    async fn slow() -> Result<(), &'static str> {
        Err("down")
    }
    let started = tokio::time::Instant::now();
    assert_eq!(slow().await, Err("down"));
    // One hour slept in paused time; the second sleep (2 h) would pass the deadline.
    assert_eq!(started.elapsed(), Duration::from_secs(3600));
}
