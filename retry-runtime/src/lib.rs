//! Retry with backoff and jitter for ordinary Rust functions.
//!
//! Put `#[retry]` on a function that returns `Result`, and each call runs the
//! body again when it fails, sleeping a growing, randomised delay between
//! attempts, until it succeeds, the error is permanent, or the attempts or
//! the time budget run out. The function keeps its signature; the caller gets
//! the value, or the last error unchanged.
//!
//! ```
//! use retry_runtime::retry;
//!
//! #[derive(Debug)]
//! enum DbError { Busy, Constraint }
//!
//! fn is_transient(error: &DbError) -> bool {
//!     matches!(error, DbError::Busy)
//! }
//!
//! struct Repo { busy_for: u32 }
//!
//! impl Repo {
//!     // A `&mut self` method: the body runs once per attempt.
//!     #[retry(max = 5, base = "1ms", jitter = "equal", on = is_transient)]
//!     fn save(&mut self, id: u64) -> Result<u64, DbError> {
//!         if self.busy_for > 0 {
//!             self.busy_for -= 1;
//!             return Err(DbError::Busy); // ends this attempt, not the call
//!         }
//!         Ok(id)
//!     }
//! }
//!
//! // An async free function: sleeps on tokio's timer.
//! #[retry(max = 3, base = "10ms", cap = "1s")]
//! async fn fetch(flaky: &std::sync::atomic::AtomicU32) -> Result<&'static str, std::io::Error> {
//!     if flaky.fetch_sub(1, std::sync::atomic::Ordering::Relaxed) > 0 {
//!         Err(std::io::ErrorKind::ConnectionReset.into())
//!     } else {
//!         Ok("fetched")
//!     }
//! }
//!
//! let mut repo = Repo { busy_for: 2 };
//! assert_eq!(repo.save(7).unwrap(), 7);
//! assert!(!is_transient(&DbError::Constraint)); // would be returned at once
//!
//! # let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
//! let flaky = std::sync::atomic::AtomicU32::new(1);
//! assert_eq!(runtime.block_on(fetch(&flaky)).unwrap(), "fetched");
//! ```
//!
//! # The attribute
//!
//! Every argument is optional, and each may be given once: [`retry`] lists
//! them all, with their values and defaults. Durations are written like
//! `"250ms"`, `"2s"`, `"1m30s"`, `"500us"`, `"1h"`. Values are checked at
//! compile time: `max = 0`, `multiplier = 0.5`, `base = "100xs"`, `cap` below
//! `base`, an unknown key or a repeated one are compile errors pointing at
//! the argument. An example of each key follows.
//!
//! ## `max`, `base`, `cap`, `multiplier`, `backoff`, `jitter`: the delays
//!
//! `max` counts every attempt, the first included. The delay before retry
//! *n* follows the [`Backoff`] curve from `base`, is capped at `cap`,
//! randomised by the [`Jitter`] strategy, and capped again.
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::{retry, testing::SleepRecorder};
//!
//! #[retry(max = 5, base = "10ms", cap = "50ms", multiplier = 3.0, backoff = "exponential", jitter = "none")]
//! fn down() -> Result<(), ()> { Err(()) }
//!
//! let sleeps = SleepRecorder::install();
//! assert!(down().is_err());
//! assert_eq!(sleeps.delays(), [10, 30, 50, 50].map(Duration::from_millis));
//! ```
//!
//! ## `on`: which errors are worth retrying
//!
//! Without `on`, every `Err` is retried. With it, the classifier sees each
//! error and answers `true`/`false`, or a [`Verdict`]; `Verdict::RetryAfter`
//! replaces the computed delay with the server's hint (still capped by `cap`).
//! The expression is evaluated after each failed attempt, the last one
//! included (so a permanent error there counts as `non_retryable` in the
//! [`stats`] and metrics), and may be a path, a closure, or a field of
//! `self`.
//!
//! ## `deadline`: a total time budget
//!
//! Measured from the start of the first attempt (on tokio's clock in async
//! functions). No attempt starts once the deadline has passed: a retry whose
//! sleep would end at or past it is not made, a zero delay included, and the
//! last error is returned at once. A `RetryAfter` hint that would end past
//! it likewise stops the call rather than retrying early.
//!
//! ```
//! use retry_runtime::{retry, testing::SleepRecorder};
//!
//! #[retry(max = 10, base = "1s", jitter = "none", deadline = "5s")]
//! fn down() -> Result<(), ()> { Err(()) }
//!
//! // Skipped sleeps still count against the deadline, as if they had been slept.
//! let sleeps = SleepRecorder::install();
//! assert!(down().is_err());
//! // 1 + 2 fit in 5 s; 1 + 2 + 4 would not.
//! assert_eq!(sleeps.delays().len(), 2);
//! ```
//!
//! ## `policy`: configuration at run time
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::{retry, RetryPolicy};
//!
//! struct Client { policy: RetryPolicy, failures_left: u32 }
//!
//! impl Client {
//!     #[retry(policy = &self.policy)]
//!     fn get(&mut self) -> Result<u32, String> {
//!         if self.failures_left > 0 {
//!             self.failures_left -= 1;
//!             return Err("unavailable".into());
//!         }
//!         Ok(200)
//!     }
//! }
//!
//! let policy = RetryPolicy::new().max_attempts(5).base(Duration::from_millis(1)).validate()?;
//! let mut client = Client { policy, failures_left: 3 };
//! assert_eq!(client.get(), Ok(200));
//! # Ok::<(), retry_runtime::PolicyError>(())
//! ```
//!
//! ## `config`: policies from a file, per operation
//!
//! With feature `config`, a file gives a default policy and per-operation
//! overrides (and timeouts, and named breakers' settings); `install()` makes
//! it the process's, replaceable at any time, and `config = "name"` takes the
//! operation's policy once per call. Each key comes from the operation's
//! entry, else the file's `default`, else the attribute's literal keys, else
//! the library's defaults. See [`config`] for the format and the rules.
//!
//! ```
//! # #[cfg(feature = "config")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use retry_runtime::{config::Policies, retry};
//!
//! #[retry(config = "get_product", max = 2, base = "1ms")]
//! fn get_product(failures_left: &mut u32) -> Result<u32, String> {
//!     if *failures_left > 0 {
//!         *failures_left -= 1;
//!         return Err("unavailable".into());
//!     }
//!     Ok(42)
//! }
//!
//! let policies: Policies = toml::from_str("[operations.get_product]\nmax_attempts = 5")?;
//! policies.install();
//! assert_eq!(get_product(&mut 3), Ok(42), "five attempts from the file, not the attribute's two");
//! retry_runtime::config::uninstall();
//! assert!(get_product(&mut 3).is_err());
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "config"))]
//! # fn main() {}
//! ```
//!
//! ## `clone`: arguments the body consumes
//!
//! The body runs once per attempt, so a by-value argument it moves would be
//! gone by the second attempt (`use of moved value`). List such arguments in
//! `clone(…)`: each attempt then gets its own clone, and the caller's value is
//! only borrowed.
//!
//! ```
//! use retry_runtime::retry;
//!
//! fn send(request: Vec<u8>) -> Result<usize, Vec<u8>> {
//!     if request.is_empty() { Err(request) } else { Ok(request.len()) }
//! }
//!
//! #[retry(max = 2, base = "1ms", clone(request))]
//! fn post(request: Vec<u8>) -> Result<usize, Vec<u8>> {
//!     send(request) // moves this attempt's clone
//! }
//!
//! assert_eq!(post(vec![1, 2, 3]), Ok(3));
//! ```
//!
//! ## `stats`: where calls are counted
//!
//! By default each function counts into its own [`Stats`], listed by
//! [`stats::snapshot`] under its name: its path, with the `Self` type of a
//! method (see [how functions are named](stats#how-functions-are-named)).
//! `stats = false`
//! counts nothing; `stats = PATH` counts into a `static` [`Stats`], listed
//! under the `static`'s name (see [Statistics, logs and
//! metrics](#statistics-logs-and-metrics)).
//!
//! ```
//! use retry_runtime::{retry, Stats};
//!
//! static INVENTORY: Stats = Stats::new();
//!
//! #[retry(max = 2, base = "1ms", stats = INVENTORY)]
//! fn reserve(sku: u32) -> Result<u32, String> { Ok(sku) }
//!
//! reserve(17)?;
//! assert!(INVENTORY.name().ends_with("::INVENTORY"));
//! assert_eq!(INVENTORY.snapshot().calls, 1);
//! # Ok::<(), String>(())
//! ```
//!
//! ## `budget`, `breaker`, `timeout`: storm protection
//!
//! A [`RetryBudget`] bounds the retries of many calls together (with the
//! dependency down, N calls make at most about N·(1 + ratio) attempts), and
//! can keep gRPC's retry throttling ([`RetryBudget::grpc`]) or the AWS SDKs'
//! retry quota ([`RetryBudget::aws_standard`]) exactly; a
//! [`CircuitBreaker`] stops calling a dependency that keeps failing; `timeout`
//! bounds each attempt of an `async fn` and composes with `deadline` (the
//! last attempt is cut short so the call ends by its deadline).
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::{retry, CircuitBreaker, CircuitOpen, CircuitState, RetryBudget};
//!
//! static BUDGET: RetryBudget = RetryBudget::new().capacity(10).ratio(0.1);
//! static BREAKER: CircuitBreaker = CircuitBreaker::new().failure_threshold(3).cool_down(Duration::from_secs(30));
//!
//! #[derive(Debug, PartialEq)]
//! enum Error { Down, Open }
//!
//! impl From<CircuitOpen> for Error {
//!     fn from(_: CircuitOpen) -> Self { Error::Open }
//! }
//!
//! #[retry(max = 2, base = "1ms", budget = BUDGET, breaker = BREAKER)]
//! fn call_down_service() -> Result<(), Error> { Err(Error::Down) }
//!
//! assert_eq!(call_down_service(), Err(Error::Down)); // 2 failures
//! assert_eq!(call_down_service(), Err(Error::Down)); // the 3rd opens the breaker
//! assert_eq!(BREAKER.state(), CircuitState::Open);
//! assert_eq!(call_down_service(), Err(Error::Open)); // fails fast: the body is not run
//! ```
//!
//! ## `sleep`: async runtimes other than tokio
//!
//! An async fn sleeps on tokio's timer (feature `tokio`, a default), or on
//! async-io's with the `async-io` feature ([`sleep::AsyncIo`], smol's
//! timer). Any other runtime's sleep function works too: `sleep = path`
//! takes any `Fn(Duration) -> impl Future`, and the `deadline` is then
//! measured on [`std::time::Instant`]. See [`sleep`].
//!
//! ```
//! use retry_runtime::retry;
//!
//! #[retry(max = 3, base = "5ms", sleep = async_io::Timer::after)]
//! async fn busy() -> Result<(), &'static str> {
//!     Err("busy")
//! }
//!
//! assert_eq!(async_io::block_on(busy()), Err("busy"));
//! ```
//!
//! ## `attempt`: the body knows its attempt
//!
//! `attempt = name` binds an [`Attempt`] in the body: its number, the
//! maximum, whether it is the last, the time since the first, and a
//! [`CallId`] drawn once per call: the same idempotency key on every attempt
//! of a retried POST.
//!
//! ```
//! use retry_runtime::retry;
//!
//! #[retry(max = 3, base = "1ms", attempt = attempt)]
//! fn post(keys: &mut Vec<String>) -> Result<u32, &'static str> {
//!     keys.push(attempt.call_id().to_string()); // an `Idempotency-Key` header
//!     if attempt.is_last() { Ok(attempt.number()) } else { Err("503") }
//! }
//!
//! let mut keys = Vec::new();
//! assert_eq!(post(&mut keys), Ok(3));
//! assert!(keys.iter().all(|key| *key == keys[0]));
//! ```
//!
//! ## `hedge`: slow attempts
//!
//! `hedge = "50ms"` (async fns): if an attempt has not answered after the
//! delay, a copy starts while it keeps running, up to `max` attempts
//! started; the first success wins and the others are dropped. A permanent
//! error ends the call at once, a transient one starts the next copy at
//! once. Each copy costs a `budget` token and is asked of the `deadline`
//! and the `breaker`. The attempts run in the caller's task (nothing is
//! spawned), so the body must be runnable several times at once: `&self`,
//! and arguments that are references, `Copy` or in `clone(…)`.
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::retry;
//!
//! struct Replica { latency: [u64; 2], started: std::sync::atomic::AtomicUsize }
//!
//! impl Replica {
//!     #[retry(max = 2, hedge = "50ms")]
//!     async fn get(&self, key: &str) -> Result<String, std::io::Error> {
//!         let attempt = self.started.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
//!         tokio::time::sleep(Duration::from_millis(self.latency[attempt])).await;
//!         Ok(format!("{key} from attempt {}", attempt + 1))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let replica = Replica { latency: [1000, 10], started: Default::default() };
//! assert_eq!(replica.get("user:1").await.unwrap(), "user:1 from attempt 2");
//! # }
//! ```
//!
//! ## `fallback`: the last answer
//!
//! `fallback = expr` is called with the error the call would otherwise
//! return, however it ended (attempts exhausted, a permanent error, the
//! deadline, a budget refusal, an open breaker, a timed-out last attempt),
//! and its result is returned instead: `FnOnce(E) -> Result<T, E>`, or for
//! an async fn `FnOnce(E) -> impl Future<Output = Result<T, E>>`. The
//! statistics count it in [`stats::FunctionStats::fallbacks`].
//!
//! ```
//! use retry_runtime::retry;
//!
//! #[retry(max = 3, base = "1ms", fallback = |_error| Ok(String::from("cached")))]
//! fn price(_sku: &str) -> Result<String, &'static str> {
//!     Err("503")
//! }
//!
//! assert_eq!(price("sku-1").as_deref(), Ok("cached"));
//! ```
//!
//! ## `#[async_trait]` methods
//!
//! `#[retry]` on a method of an `#[async_trait]` impl (or a default method
//! of such a trait) retries the async block `#[async_trait]` boxes, so trait
//! objects (`Arc<dyn Repo>`) work; `&mut self` and `?Send` too.
//!
//! ```
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use async_trait::async_trait;
//! use retry_runtime::retry;
//!
//! #[async_trait]
//! trait Repo: Send + Sync {
//!     async fn load(&self, id: u64) -> Result<u64, String>;
//! }
//!
//! struct Flaky(AtomicU32);
//!
//! #[async_trait]
//! impl Repo for Flaky {
//!     #[retry(max = 3, base = "1ms")]
//!     async fn load(&self, id: u64) -> Result<u64, String> {
//!         if self.0.fetch_add(1, Ordering::Relaxed) < 2 { Err("locked".into()) } else { Ok(id) }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let repo: std::sync::Arc<dyn Repo> = std::sync::Arc::new(Flaky(AtomicU32::new(0)));
//! assert_eq!(repo.load(7).await, Ok(7));
//! # }
//! ```
//!
//! # What it expands to
//!
//! The body stays in the function, written once, inside a loop: `?` and
//! `return` end one attempt, and `&mut self` is reborrowed for each. Each
//! attempt's result goes to the runtime's engine, which says whether to
//! return it or to sleep and try again. Roughly:
//!
//! ```text
//! fn load(&self, id: u64) -> Result<Row, DbError> {
//!     fn __retry_function() -> &'static str { type_name_of_val(&__retry_function) } // names it
//!     static __RETRY_STATS: Stats = Stats::new();
//!     static __RETRY_SITE: CallSite = CallSite::inside(__retry_function, RetryPolicy::new().max_attempts(5))
//!         .with_stats(&__RETRY_STATS, None);              // everything constant, written once
//!     let mut call = Call::sync(&__RETRY_SITE, __RETRY_SITE.policy());
//!     loop {
//!         let result = call.attempt::<Result<Row, DbError>, _>(|| { /* body */ });
//!         let delay = match call.step(&__RETRY_SITE, __RETRY_SITE.policy(), result, is_transient, on_retry, describe) {
//!             Step::Return(result) => return result,
//!             Step::Sleep(delay) => delay,
//!         };
//!         call.sleep_blocking(delay);
//!     }
//! }
//! ```
//!
//! An `async fn` awaits `async { body }` instead and sleeps on its sleeper
//! (`Call::asynchronous(&__RETRY_SITE, policy, &sleeper)`, then
//! `call.sleep_on(&sleeper, delay).await`); the attempt's result is never held across that
//! sleep, so a non-`Send` error type does not make the future non-`Send`.
//! `Call::step` is the only code generic over the function's types, and it
//! is small: on a first-try success it tests the result and adds one to the
//! function's [`stats`] (no allocation, no random number, no lock, no clock
//! read unless a `deadline` is set); on a failure it asks the classifier,
//! and hands the decision (delays, random draws, clocks, budget, breaker,
//! statistics, logs and metrics) to code compiled once, in this crate. The
//! closure API ([`RetryPolicy::retry`]) drives the same engine.
//!
//! # Refused
//!
//! `const fn`, `extern` functions, functions without a body, non-`async`
//! functions returning `impl Future` (write an `async fn`), functions that
//! do not return `Result`, `timeout` or `sleep` on a sync function (a
//! running thread cannot be interrupted, and sleeps the thread), an async fn
//! with no timer (no `tokio` or `async-io` feature and no `sleep`), and an
//! `attempt` name that is already an argument are compile errors, each
//! pointing at what to change.
//!
//! # Without the macro
//!
//! [`RetryPolicy::retry`] and [`RetryPolicy::retry_async`] run a closure through
//! the same loop. With the `tower` feature, `tower::RetryLayer` retries every
//! call of a tower service (a tonic `Channel`, a hyper-util client) on the
//! same engine; with `reqwest-middleware`, `reqwest_middleware::RetryMiddleware`
//! does the same for a reqwest-middleware client.
//!
//! # Which errors to retry
//!
//! [`classify::is_transient`] knows the transient errors of `std::io` and, with
//! their features, of `http`, `reqwest`, `rusqlite`, `tokio-postgres` and
//! `tonic`; classifiers combine with [`ClassifierExt`]
//! (`on = is_transient.or(is_deadlock)`).
//!
//! # Statistics, logs and metrics
//!
//! Every `#[retry]` function counts its calls, attempts, retries, sleeps and
//! outcomes in lock-free counters, registered on first use under its name;
//! [`stats::snapshot`] reads them all and prints as a table. `stats = false`
//! turns counting off; `stats = PATH` counts into a `static` [`Stats`]
//! shared by several functions. A first-try success costs one relaxed atomic
//! add and reads no clock.
//!
//! ```
//! use retry_runtime::{retry, stats, Stats};
//!
//! static PAYMENTS: Stats = Stats::new();
//!
//! #[retry(max = 3, base = "1ms", stats = PAYMENTS)]
//! fn charge(cents: u64) -> Result<u64, String> { Ok(cents) }
//!
//! #[retry(max = 3, base = "1ms", stats = false)]
//! fn hot_path() -> Result<(), String> { Ok(()) }
//!
//! charge(250)?;
//! hot_path()?;
//! assert_eq!(PAYMENTS.snapshot().first_try_successes, 1);
//! print!("{}", stats::snapshot());
//! # Ok::<(), String>(())
//! ```
//!
//! With the `tracing` feature, each retry is a `WARN` event
//! (`retrying load after attempt 1 failed: connection refused; next in 100ms
//! (attempt 1/5)`, with fields `retry.function`, `retry.attempt`,
//! `retry.max_attempts`, `retry.delay_ms`, `error`), a failure after retries
//! an `ERROR`, and a success after retries an `INFO`; a first-try success, or
//! an error returned by the first attempt, logs nothing. Errors are printed
//! with `Display`, or `Debug` when the type has no `Display`, or else by their
//! type's name: an error type needs neither to be retried. With the
//! `opentelemetry` feature, the `metrics` module's instruments
//! `retry.attempts`, `retry.successes`, `retry.failures` and
//! `retry.backoff_duration` are recorded on the global meter provider, or on
//! the meter given to `metrics::use_meter`.
//!
//! # Testing retried code
//!
//! [`testing::SleepRecorder`] skips and records the sleeps on the current
//! thread; `#[tokio::test(start_paused = true)]` makes async sleeps instant.
//!
//! # Feature flags
//!
//! - `tokio` (default): async functions sleep on tokio's timer and measure
//!   `deadline` on tokio's clock.
//! - `async-io`: [`sleep::AsyncIo`], smol's timer; the default sleeper when
//!   `tokio` is off. With neither, an async fn names its own (`sleep = path`).
//! - `http`: [`classify`] knows `http::StatusCode` and `http::Response`
//!   (`Retry-After` in both forms).
//! - `reqwest` (implies `http`): `reqwest::Error` and transient `reqwest::Response`s.
//! - `rusqlite`: `rusqlite::Error` (busy and locked databases).
//! - `tokio-postgres`: `tokio_postgres::Error` by SQLSTATE.
//! - `tonic`: `tonic::Status` and `tonic::Code`, with gRPC server pushback.
//! - `tracing`: `tracing` events for retries, failures after retries and
//!   successes after retries.
//! - `opentelemetry`: the `metrics` module: OpenTelemetry counters and a
//!   backoff histogram per function.
//! - `serde`: `Serialize` and `Deserialize` for the [`stats`] snapshots;
//!   `Deserialize` for [`RetryPolicy`], [`Backoff`], [`Jitter`], [`RetryBudget`] (durations as
//!   `"100ms"` or whole milliseconds, jitter by name or factor, validated).
//! - `config` (implies `serde`): the `config` module: named policies from a
//!   file, installed process-wide and reloadable, for `#[retry(config = "…")]`;
//!   named breakers take the file's settings.
//! - `tower`: `tower::RetryLayer`, the same policy as a tower layer (tonic
//!   channels, hyper-util clients, any `tower::Service`).
//! - `reqwest-middleware`: `reqwest_middleware::RetryMiddleware`, the same
//!   policy as a reqwest-middleware `Middleware`.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod attempt;
mod backoff;
pub mod breaker;
mod budget;
pub mod classify;
mod clock;
mod closure;
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub mod config;
mod describe;
#[cfg(feature = "serde")]
mod deserialize;
mod duration;
#[cfg(feature = "serde")]
mod duration_text;
mod engine;
mod event;
mod fallback;
mod hedge;
mod jitter;
#[cfg(feature = "opentelemetry")]
#[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
pub mod metrics;
#[cfg(any(feature = "tower", feature = "reqwest-middleware"))]
mod middleware;
mod name;
mod observe;
mod outcome;
mod policy;
mod policy_source;
mod random;
#[cfg(feature = "reqwest-middleware")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest-middleware")))]
pub mod reqwest_middleware;
mod schedule;
pub mod sleep;
mod span;
pub mod stats;
pub mod testing;
mod timeout;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
mod verdict;

/// What the code generated by `#[retry]` names. Not a stable API: nothing
/// here follows semantic versioning, and only the macro should use it.
#[doc(hidden)]
pub mod __private {
    pub use crate::ToPolicy;
    pub use crate::attempt::Attempt;
    pub use crate::backoff::Backoff;
    #[cfg(feature = "config")]
    pub use crate::config::resolve as resolve_config;
    pub use crate::describe::{Describe, DescribeAny, DescribeDebug, DescribeDisplay};
    pub use crate::engine::{Call, CallSite, RetryOutcome, Step, attempt_async};
    pub use crate::fallback::{fallback, fallback_async};
    pub use crate::hedge::{hedged, hedged_argument, within as hedged_within};
    pub use crate::jitter::Jitter;
    pub use crate::policy::RetryPolicy;
    pub use crate::sleep::{DefaultSleeper, checked as sleeper, default_sleeper};
    pub use crate::stats::Stats;
    pub use crate::verdict::{IntoVerdict, Verdict};
}

pub use attempt::{Attempt, CallId};
pub use backoff::Backoff;
pub use breaker::{BreakerError, BreakerPermit, CircuitBreaker, CircuitOpen, CircuitState};
pub use budget::{BudgetError, BudgetMode, RetryBudget};
pub use classify::{ClassifierExt, Transient, is_transient};
pub use closure::{Classify, Notify, Retry, RetryAll, RetryAsync, Silent};
#[doc(hidden)]
pub use closure::{Hedge, HedgeOption, NoHedge, Operation, Plain, WithAttempt};
pub use event::RetryEvent;
#[doc(hidden)]
pub use fallback::FallBackTo;
pub use fallback::{Fallback, FallbackAsync, NoFallback};
pub use jitter::Jitter;
pub use policy::{PolicyError, RetryPolicy};
pub use policy_source::ToPolicy;
pub use stats::Stats;
pub use timeout::TimedOut;
pub use verdict::{IntoVerdict, Verdict};

#[doc(inline)]
pub use retry_macros::retry;
