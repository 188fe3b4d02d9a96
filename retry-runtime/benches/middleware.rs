//! What the tower layer costs on a first-try success, next to a direct call
//! of the service and to `tower::retry` with the same policy.
//!
//! `cargo bench -p retry-runtime --features tower --bench middleware`
//! prints the allocations per call, then times every row with criterion.
//! `OVERHEAD_ROW=<row> OVERHEAD_ITERS=<n>` runs one row `n` times and exits,
//! for `BENCH=middleware scripts/callgrind.sh`, which counts instructions
//! per call.
//!
//! Every row readies the service (`ServiceExt::ready`) and calls it once,
//! polled with a no-op waker: the service answers at once, so no runtime is
//! timed. The policy is the default one on both sides: 3 attempts,
//! exponential backoff from 100 ms to 30 s, full jitter. `tower::retry` is
//! given a hand-written `Policy` (attempts left, its `ExponentialBackoff`,
//! `clone_request` cloning the request), as its users write one.
//! - `happy/tower/direct`: the service alone.
//! - `happy/tower/ours-layer`: `RetryLayer::new(RetryPolicy::new())`,
//!   statistics off (a layer records none until given a `Stats`).
//! - `happy/tower/ours-layer-stats`: the same, counting into a `Stats`.
//! - `happy/tower/tower-retry`: `tower::retry::RetryLayer` with that policy.

use std::cell::RefCell;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::Criterion;
use retry_runtime::tower::{RetryLayer, RetryService};
use retry_runtime::{RetryPolicy, Stats};
use tower::retry::backoff::{Backoff, ExponentialBackoff, ExponentialBackoffMaker, MakeBackoff};
use tower::util::rng::HasherRng;
use tower::{Layer, Service, ServiceExt};

/// The error the service could fail with.
#[derive(Debug)]
struct Transient;

impl std::fmt::Display for Transient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("transient")
    }
}

impl std::error::Error for Transient {}

/// The service: always ready, answers at once.
#[derive(Clone, Copy)]
struct Answer;

impl Service<u64> for Answer {
    type Response = u64;
    type Error = Transient;
    type Future = Ready<Result<u64, Transient>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Transient>> {
        Poll::Ready(Ok(()))
    }

    #[inline(never)]
    fn call(&mut self, input: u64) -> Self::Future {
        ready(Ok(black_box(input).wrapping_mul(3)))
    }
}

/// `tower::retry`'s side of the same policy: three attempts, exponential
/// backoff from 100 ms to 30 s with full jitter.
#[derive(Clone)]
struct TowerPolicy {
    retries_left: u32,
    backoff: ExponentialBackoff,
}

impl TowerPolicy {
    fn new() -> Self {
        let maker =
            ExponentialBackoffMaker::new(Duration::from_millis(100), Duration::from_secs(30), 1.0, HasherRng::new());
        match maker {
            Ok(mut maker) => TowerPolicy { retries_left: 2, backoff: maker.make_backoff() },
            Err(error) => panic!("invalid backoff: {error}"),
        }
    }
}

impl tower::retry::Policy<u64, u64, Transient> for TowerPolicy {
    type Future = tokio::time::Sleep;

    fn retry(&mut self, _: &mut u64, result: &mut Result<u64, Transient>) -> Option<Self::Future> {
        if result.is_ok() || self.retries_left == 0 {
            return None;
        }
        self.retries_left -= 1;
        Some(self.backoff.next_backoff())
    }

    fn clone_request(&mut self, request: &u64) -> Option<u64> {
        Some(*request)
    }
}

static STATS: Stats = Stats::new();

thread_local! {
    static OURS: RefCell<RetryService<Answer>> = RefCell::new(RetryLayer::new(RetryPolicy::new()).layer(Answer));
    static OURS_STATS: RefCell<RetryService<Answer>> =
        RefCell::new(RetryLayer::new(RetryPolicy::new()).named("answer").stats(&STATS).layer(Answer));
    static TOWER: RefCell<tower::retry::Retry<TowerPolicy, Answer>> =
        RefCell::new(tower::retry::RetryLayer::new(TowerPolicy::new()).layer(Answer));
}

/// Polls `future` to completion with a no-op waker; it must never wait.
fn poll_now<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// One call of `service`: ready, then call.
fn call_once<S>(service: &mut S) -> u64
where
    S: Service<u64, Response = u64>,
{
    poll_now(async {
        let service = service.ready().await.ok()?;
        service.call(black_box(7)).await.ok()
    })
    .unwrap_or(u64::MAX)
}

type Row = (&'static str, fn() -> u64);

fn rows() -> Vec<Row> {
    vec![
        ("happy/tower/direct", || call_once(&mut Answer)),
        ("happy/tower/ours-layer", || OURS.with_borrow_mut(call_once)),
        ("happy/tower/ours-layer-stats", || OURS_STATS.with_borrow_mut(call_once)),
        ("happy/tower/tower-retry", || TOWER.with_borrow_mut(call_once)),
    ]
}

/// Allocations made by one call of `row` (after a warm-up call).
fn allocations(row: fn() -> u64) -> u64 {
    black_box(row());
    allocation_counter::measure(|| {
        black_box(row());
    })
    .count_total
}

fn main() {
    let rows = rows();

    // One row, n times, nothing else: the unit `scripts/callgrind.sh` differences.
    if let (Ok(name), Ok(iterations)) = (std::env::var("OVERHEAD_ROW"), std::env::var("OVERHEAD_ITERS")) {
        let iterations: u64 = iterations.parse().unwrap_or(0);
        let Some(&(_, row)) = rows.iter().find(|(row, _)| *row == name) else {
            eprintln!("no row named {name}; rows: {}", rows.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(" "));
            std::process::exit(2);
        };
        let mut sum = 0u64;
        for _ in 0..iterations {
            sum = sum.wrapping_add(row());
        }
        black_box(sum);
        return;
    }

    println!("allocations per call:");
    for &(name, row) in &rows {
        println!("  {name:<30} {:>3}", allocations(row));
    }

    let mut criterion = Criterion::default().configure_from_args();
    for &(name, row) in &rows {
        criterion.bench_function(name, |bencher| bencher.iter(row));
    }
    criterion.final_summary();
}
