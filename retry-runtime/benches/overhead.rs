//! What retrying costs when nothing fails, and what the machinery costs when
//! it does, against a direct call and the peers (`backon`, `tokio-retry`,
//! `backoff`).
//!
//! `cargo bench -p retry-runtime --bench overhead` prints the allocations per
//! call and the size of each future, then times every row with criterion.
//! `OVERHEAD_ROW=<row> OVERHEAD_ITERS=<n>` runs one row `n` times and exits,
//! for `scripts/callgrind.sh`, which counts instructions per call.
//!
//! Rows (`ours-attr` is `#[retry]` as written, statistics on by default;
//! `ours-attr-stats-off` adds `stats = false`; `ours-attr-budget` adds a
//! shared `RetryBudget` with statistics off; the closure API records none):
//! - `happy/*/ours-attr-spans-off` (built with `--features tracing` only):
//!   `ours-attr-stats-off` with the call and attempt spans compiled in, under
//!   a global subscriber whose level filter (`WARN`) disables them: what the
//!   spans cost a program that does not want them. That build installs the
//!   subscriber for every row.
//! - `happy/sync/*`, `happy/async/*`: the operation succeeds at once. Async
//!   rows are polled to completion with a no-op waker, so no runtime is timed.
//! - `retry/sync/*`: the operation fails [`FAILURES`] times, then succeeds,
//!   under a zero-delay policy: the cost of the machinery without sleeping.
//! - `retry/async/*`: the same, polled with a no-op waker: ours skips a zero
//!   sleep, `backon` is given a sleeper that is ready at once. `tokio-retry`
//!   has no such hook and always sleeps on tokio's timer, so its row runs in
//!   `block_on` of a current-thread runtime and mostly measures the timer.
//!
//! `tokio-retry`'s `Retry::spawn` is measured through `Retry::start`, its
//! new name (`spawn` is a deprecated alias of it).

use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use criterion::Criterion;
use retry_runtime::{Jitter, RetryBudget, RetryPolicy, retry};

/// Failures before the success, on the retry path.
const FAILURES: u32 = 3;

/// The error every operation fails with.
#[derive(Debug)]
struct Transient;

thread_local! {
    /// Failures left before the operation succeeds.
    static LEFT: Cell<u32> = const { Cell::new(0) };
}

/// The operation: succeeds when no failure is left.
#[inline(never)]
fn operation(input: u64) -> Result<u64, Transient> {
    let left = LEFT.with(Cell::get);
    if left == 0 {
        Ok(black_box(input).wrapping_mul(3))
    } else {
        LEFT.with(|cell| cell.set(left - 1));
        Err(Transient)
    }
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

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| match tokio::runtime::Builder::new_current_thread().enable_time().build() {
        Ok(runtime) => runtime,
        Err(error) => panic!("cannot build a tokio runtime: {error}"),
    })
}

// ---- ours ----

/// The default attribute: 3 attempts, 100 ms base, full jitter, statistics on.
#[retry]
fn ours_attr(input: u64) -> Result<u64, Transient> {
    operation(input)
}

#[retry]
async fn ours_attr_async(input: u64) -> Result<u64, Transient> {
    operation(input)
}

/// The same with `stats = false`: nothing recorded.
#[retry(stats = false)]
fn ours_attr_off(input: u64) -> Result<u64, Transient> {
    operation(input)
}

#[retry(stats = false)]
async fn ours_attr_off_async(input: u64) -> Result<u64, Transient> {
    operation(input)
}

/// `ours_attr_off`, measured apart when the spans are compiled in (feature `tracing`).
#[cfg(feature = "tracing")]
#[retry(stats = false)]
fn ours_attr_spans_off(input: u64) -> Result<u64, Transient> {
    operation(input)
}

#[cfg(feature = "tracing")]
#[retry(stats = false)]
async fn ours_attr_spans_off_async(input: u64) -> Result<u64, Transient> {
    operation(input)
}

#[retry(max = 4, base = "0ms", jitter = "none", stats = false)]
fn ours_attr_zero_off(input: u64) -> Result<u64, Transient> {
    operation(input)
}

#[retry(max = 4, base = "0ms", jitter = "none", stats = false)]
async fn ours_attr_zero_off_async(input: u64) -> Result<u64, Transient> {
    operation(input)
}

#[retry(max = 4, base = "0ms", jitter = "none")]
fn ours_attr_zero(input: u64) -> Result<u64, Transient> {
    operation(input)
}

#[retry(max = 4, base = "0ms", jitter = "none")]
async fn ours_attr_zero_async(input: u64) -> Result<u64, Transient> {
    operation(input)
}

/// A budget that pays for every retry of the retry path (three per call),
/// so the rows measure what asking it costs, not what refusing saves.
static BUDGET: RetryBudget = RetryBudget::new().capacity(1_000).ratio(3.0).min_retries_per_second(0);

#[retry(budget = BUDGET, stats = false)]
fn ours_attr_budget(input: u64) -> Result<u64, Transient> {
    operation(input)
}

#[retry(max = 4, base = "0ms", jitter = "none", budget = BUDGET, stats = false)]
fn ours_attr_zero_budget(input: u64) -> Result<u64, Transient> {
    operation(input)
}

const POLICY: RetryPolicy = RetryPolicy::new();
const ZERO: RetryPolicy = RetryPolicy::new().max_attempts(FAILURES + 1).base(Duration::ZERO).jitter(Jitter::None);

// ---- the peers, the same operation and policy shape ----

fn backon_exponential() -> backon::ExponentialBuilder {
    backon::ExponentialBuilder::default()
}

fn backon_zero() -> backon::ConstantBuilder {
    backon::ConstantBuilder::new().with_delay(Duration::ZERO).with_max_times(FAILURES as usize)
}

fn tokio_retry_exponential() -> impl Iterator<Item = Duration> {
    tokio_retry::strategy::ExponentialBackoff::from_millis(100).map(tokio_retry::strategy::jitter).take(2)
}

fn tokio_retry_zero() -> impl Iterator<Item = Duration> {
    tokio_retry::strategy::FixedInterval::from_millis(0).take(FAILURES as usize)
}

fn backoff_map(result: Result<u64, Transient>) -> Result<u64, backoff::Error<Transient>> {
    result.map_err(backoff::Error::transient)
}

// ---- the rows: one call each ----

type Row = (&'static str, fn() -> u64);

fn ok(result: Result<u64, impl std::fmt::Debug>) -> u64 {
    result.unwrap_or(u64::MAX)
}

fn happy_rows() -> Vec<Row> {
    use backon::{BlockingRetryable, Retryable};
    #[allow(unused_mut, reason = "pushed to with feature `tracing`")]
    let mut rows: Vec<Row> = vec![
        ("happy/sync/direct", || ok(operation(black_box(7)))),
        ("happy/sync/ours-attr", || ok(ours_attr(black_box(7)))),
        ("happy/sync/ours-attr-stats-off", || ok(ours_attr_off(black_box(7)))),
        ("happy/sync/ours-attr-budget", || ok(ours_attr_budget(black_box(7)))),
        ("happy/sync/ours-closure", || ok(POLICY.retry(|| operation(black_box(7))).call())),
        ("happy/sync/backon-blocking", || ok((|| operation(black_box(7))).retry(backon_exponential()).call())),
        ("happy/sync/backoff", || {
            ok(backoff::retry(backoff::ExponentialBackoff::default(), || backoff_map(operation(black_box(7)))))
        }),
        ("happy/async/direct", || ok(poll_now(async { operation(black_box(7)) }))),
        ("happy/async/ours-attr", || ok(poll_now(ours_attr_async(black_box(7))))),
        ("happy/async/ours-attr-stats-off", || ok(poll_now(ours_attr_off_async(black_box(7))))),
        ("happy/async/ours-closure", || ok(poll_now(POLICY.retry_async(|| async { operation(black_box(7)) }).call()))),
        ("happy/async/backon", || ok(poll_now((|| async { operation(black_box(7)) }).retry(backon_exponential())))),
        ("happy/async/tokio-retry", || {
            ok(poll_now(tokio_retry::Retry::start(tokio_retry_exponential(), || async { operation(black_box(7)) })))
        }),
    ];
    #[cfg(feature = "tracing")]
    rows.extend([
        ("happy/sync/ours-attr-spans-off", (|| ok(ours_attr_spans_off(black_box(7)))) as fn() -> u64),
        ("happy/async/ours-attr-spans-off", || ok(poll_now(ours_attr_spans_off_async(black_box(7))))),
    ]);
    rows
}

/// A subscriber that wants only `WARN` and above: the call and attempt
/// spans (`INFO`) are disabled, as in a program that logs only warnings.
#[cfg(feature = "tracing")]
fn disable_spans() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let subscriber = tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::WARN);
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("a global subscriber was already set");
    }
}

fn retry_rows() -> Vec<Row> {
    use backon::{BlockingRetryable, Retryable};
    fn failing<T>(call: impl FnOnce() -> T) -> T {
        LEFT.with(|left| left.set(FAILURES));
        call()
    }
    vec![
        ("retry/sync/direct-loop", || {
            failing(|| {
                let mut attempt = 0;
                loop {
                    match operation(black_box(7)) {
                        Ok(value) => return value,
                        Err(_) if attempt < FAILURES => attempt += 1,
                        Err(_) => return u64::MAX,
                    }
                }
            })
        }),
        ("retry/sync/ours-attr", || failing(|| ok(ours_attr_zero(black_box(7))))),
        ("retry/sync/ours-attr-stats-off", || failing(|| ok(ours_attr_zero_off(black_box(7))))),
        ("retry/sync/ours-attr-budget", || failing(|| ok(ours_attr_zero_budget(black_box(7))))),
        ("retry/sync/ours-closure", || failing(|| ok(ZERO.retry(|| operation(black_box(7))).call()))),
        ("retry/sync/backon-blocking", || failing(|| ok((|| operation(black_box(7))).retry(backon_zero()).call()))),
        ("retry/sync/backoff", || {
            failing(|| ok(backoff::retry(backoff::backoff::Zero {}, || backoff_map(operation(black_box(7))))))
        }),
        ("retry/async/ours-attr", || failing(|| ok(poll_now(ours_attr_zero_async(black_box(7)))))),
        ("retry/async/ours-attr-stats-off", || failing(|| ok(poll_now(ours_attr_zero_off_async(black_box(7)))))),
        ("retry/async/ours-closure", || {
            failing(|| ok(poll_now(ZERO.retry_async(|| async { operation(black_box(7)) }).call())))
        }),
        ("retry/async/backon", || {
            failing(|| {
                let retried =
                    (|| async { operation(black_box(7)) }).retry(backon_zero()).sleep(|_| std::future::ready(()));
                ok(poll_now(retried))
            })
        }),
        ("retry/async/tokio-retry", || {
            failing(|| {
                ok(runtime()
                    .block_on(tokio_retry::Retry::start(tokio_retry_zero(), || async { operation(black_box(7)) })))
            })
        }),
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

fn report_sizes() {
    use backon::Retryable;
    println!("future sizes (bytes), happy path:");
    let sizes = [
        ("direct async block", size_of_val(&async { operation(7) })),
        ("ours-attr", size_of_val(&ours_attr_async(7))),
        ("ours-attr-stats-off", size_of_val(&ours_attr_off_async(7))),
        ("ours-closure", size_of_val(&POLICY.retry_async(|| async { operation(7) }).call())),
        ("backon", size_of_val(&(|| async { operation(7) }).retry(backon_exponential()))),
        ("tokio-retry", size_of_val(&tokio_retry::Retry::start(tokio_retry_exponential(), || async { operation(7) }))),
    ];
    for (name, size) in sizes {
        println!("  {name:<20} {size:>5}");
    }
}

/// Two threads calling one function at once: statistics on (its counters
/// shared by both threads) against off. Wall time, so only the ratio means
/// much on a shared machine.
fn report_contention() {
    const CALLS: u64 = 2_000_000; // per thread; the divisor below
    let per_call = |call: fn(u64) -> Result<u64, Transient>| {
        let started = std::time::Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(move || (0..CALLS).fold(0u64, |sum, i| sum.wrapping_add(ok(call(black_box(i))))));
            }
        });
        started.elapsed().as_secs_f64() * 1e9 / 2e6
    };
    let (on, off) = (per_call(ours_attr), per_call(ours_attr_off));
    println!("two threads on one function, ns per call (each thread): stats on {on:.2}, stats off {off:.2}");
}

fn main() {
    #[cfg(feature = "tracing")]
    disable_spans();
    let rows: Vec<Row> = happy_rows().into_iter().chain(retry_rows()).collect();

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
        println!("  {name:<28} {:>3}", allocations(row));
    }
    report_sizes();
    report_contention();

    let mut criterion = Criterion::default().configure_from_args();
    for &(name, row) in &rows {
        criterion.bench_function(name, |bencher| bencher.iter(row));
    }
    criterion.final_summary();
}
