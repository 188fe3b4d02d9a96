//! Per-function retry statistics: how often each function retries, how long
//! it waits, and how many calls still fail.
//!
//! Every `#[retry]` function records into its own [`Stats`], registered on
//! its first call under its name. Read them all with [`snapshot`], or one
//! with [`Stats::snapshot`]; both print as a table.
//!
//! # How functions are named
//!
//! A function's name is its path as [`std::any::type_name`] writes it: the
//! module path and the function (`app::repo::load`), with the `Self` type of
//! a method (`app::repo::Repo::load`), the trait of a trait impl's method
//! (`<app::repo::Pg as app::repo::Store>::load`, with `_` for generic
//! parameters), and the enclosing function of a function declared inside
//! another (`app::main::load`). So two methods called `load` of two types in
//! one module are two entries. Logs (`retry.function`), metrics and
//! [`crate::RetryEvent::function`] use the same name. A shared `static`
//! ([`Stats`] named with `stats = PATH`) is listed under the `static`'s path.
//!
//! ```
//! use retry_runtime::{retry, stats};
//!
//! #[retry(max = 3, base = "1ms")]
//! fn load(fail_first: &std::cell::Cell<bool>) -> Result<u32, String> {
//!     if fail_first.replace(false) { Err("connection refused".into()) } else { Ok(7) }
//! }
//!
//! load(&std::cell::Cell::new(true)).unwrap();
//! let all = stats::snapshot();
//! // Declared inside this example's `main`: `…::main::load`.
//! let load = all.functions.iter().find(|f| f.name.ends_with("::main::load")).unwrap();
//! assert_eq!((load.calls, load.attempts, load.retried_successes), (1, 2, 1));
//! println!("{all}");
//! ```
//!
//! # Cost
//!
//! Recording is lock-free: relaxed atomic adds on the function's own
//! counters, no mutex, no allocation (the first call takes a lock once, to
//! register). A first-try success is one atomic add, on a counter striped by
//! thread so that threads calling one function do not fight over a cache
//! line, and reads no clock; everything else is recorded on the retry path,
//! which already sleeps.
//!
//! # When times are taken
//!
//! Recording reads no clock, on any path: a call's end is dated by the next
//! [`snapshot`] (or [`Stats::snapshot`]) that sees it.
//! [`FunctionStats::last_success`] and [`FunctionStats::last_failure`] are
//! then never earlier than the real time, and late by at most the time since
//! the previous snapshot, which a periodic scrape bounds. (Reading the wall
//! clock at each end cost more than the rest of a retried call's bookkeeping.)

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::outcome::Outcome;

/// The counters of one function, or of several sharing a `static`.
///
/// Declare one to share it between functions (one per downstream service,
/// say), and name it with `#[retry(stats = PATH)]`:
///
/// ```
/// use retry_runtime::{retry, Stats};
///
/// static BILLING: Stats = Stats::new();
///
/// #[retry(max = 2, base = "1ms", stats = BILLING)]
/// fn charge() -> Result<(), String> { Ok(()) }
///
/// #[retry(max = 2, base = "1ms", stats = BILLING)]
/// fn refund() -> Result<(), String> { Err("declined".into()) }
///
/// charge().unwrap();
/// refund().unwrap_err();
/// let billing = BILLING.snapshot();
/// assert_eq!((billing.calls, billing.first_try_successes, billing.failures), (2, 1, 1));
/// ```
#[derive(Debug)]
pub struct Stats {
    name: OnceLock<&'static str>,
    registered: AtomicBool,
    /// First-try successes, striped by thread: threads hammering one
    /// function each add to their own cache line (summed by snapshots).
    first_try_successes: [Striped; STRIPES],
    /// Successes, and failed calls, already dated by a snapshot.
    successes_dated: AtomicU64,
    failures_dated: AtomicU64,
    retried_successes: AtomicU64,
    failures: AtomicU64,
    non_retryable_failures: AtomicU64,
    /// Attempts other than first-try successes and retried ones (those are
    /// counted apart): the last attempt of a call that did not succeed first.
    other_attempts: AtomicU64,
    retries: AtomicU64,
    slept_nanos: AtomicU64,
    budget_refusals: AtomicU64,
    circuit_rejections: AtomicU64,
    circuits_opened: AtomicU64,
    timeouts: AtomicU64,
    fallbacks: AtomicU64,
    hedged_attempts: AtomicU64,
    /// Hedged calls won by attempt 1, 2, 3, 4, 5+.
    hedge_wins: [AtomicU64; 5],
    cancelled: AtomicU64,
    /// Calls that were not a first-try success, by attempts made: 1, 2, 3, 4, 5+.
    other_histogram: [AtomicU64; 5],
    /// Milliseconds since the Unix epoch, 0 for never.
    last_success_ms: AtomicU64,
    last_failure_ms: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Empty counters, for a `static`. Registered (and so listed by
    /// [`snapshot`]) on first use, under the name of the `static` as written
    /// in `stats = …`, or the name given with [`Stats::named`].
    ///
    /// ```
    /// static DOWNSTREAM: retry_runtime::Stats = retry_runtime::Stats::new();
    /// assert_eq!(DOWNSTREAM.snapshot().calls, 0);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Stats {
            name: OnceLock::new(),
            registered: AtomicBool::new(false),
            first_try_successes: [const { Striped(AtomicU64::new(0)) }; STRIPES],
            successes_dated: AtomicU64::new(0),
            failures_dated: AtomicU64::new(0),
            retried_successes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            non_retryable_failures: AtomicU64::new(0),
            other_attempts: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            slept_nanos: AtomicU64::new(0),
            budget_refusals: AtomicU64::new(0),
            circuit_rejections: AtomicU64::new(0),
            circuits_opened: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            hedged_attempts: AtomicU64::new(0),
            hedge_wins: [const { AtomicU64::new(0) }; 5],
            cancelled: AtomicU64::new(0),
            other_histogram: [const { AtomicU64::new(0) }; 5],
            last_success_ms: AtomicU64::new(0),
            last_failure_ms: AtomicU64::new(0),
        }
    }

    /// Sets the name [`snapshot`] lists these counters under; the first name
    /// set wins. Returns `self` for chaining in a `LazyLock` or at start-up.
    ///
    /// ```
    /// static PAYMENTS: retry_runtime::Stats = retry_runtime::Stats::new();
    /// PAYMENTS.named("payments");
    /// assert_eq!(PAYMENTS.snapshot().name, "payments");
    /// ```
    pub fn named(&self, name: &'static str) -> &Self {
        let _ = self.name.set(name);
        self
    }

    /// The name these counters are listed under (empty until named or used).
    ///
    /// ```
    /// assert_eq!(retry_runtime::Stats::new().name(), "");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name.get().copied().unwrap_or("")
    }

    /// Lists these counters in [`snapshot`] under `name` (unless already
    /// named). Cold: called once per `static`.
    #[cold]
    #[inline(never)]
    pub(crate) fn register(&'static self, name: &'static str) {
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        if !self.registered.swap(true, Relaxed) {
            let _ = self.name.set(name);
            registry.push(self);
        }
    }

    /// Registers these counters on their first use, under the name `name`
    /// gives (asked only then): one relaxed load afterwards.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn ensure_registered_with(&'static self, name: impl FnOnce() -> &'static str) {
        if !self.registered.load(Relaxed) {
            self.register(name());
        }
    }

    /// A first-try success: one relaxed add, no clock.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn record_first_try_success(&self) {
        // The mask (a no-op: stripes are handed out modulo `STRIPES`) spares a bounds check.
        self.first_try_successes[this_threads_stripe() & (STRIPES - 1)].0.fetch_add(1, Relaxed);
    }

    /// A failed attempt that will be retried after `delay`: one relaxed add
    /// (and a saturating update of the time slept with a non-zero delay).
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn record_retry(&self, delay: Duration) {
        self.retries.fetch_add(1, Relaxed);
        if !delay.is_zero() {
            self.record_sleep(delay);
        }
    }

    /// Out of line: a sleep follows, and every retried function would
    /// otherwise compile its own copy.
    #[inline(never)]
    fn record_sleep(&self, delay: Duration) {
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        // Saturating, not `fetch_add`: a sum that wrapped would report
        // almost nothing slept. The loop costs only calls about to sleep.
        let _ = self.slept_nanos.fetch_update(Relaxed, Relaxed, |slept| Some(slept.saturating_add(nanos)));
    }

    /// The end of a call that was not a first-try success, after `attempts`
    /// attempts, of which `unrecorded` were not yet counted by
    /// [`Stats::record_retry`] (the last one, usually; none when the breaker
    /// refused an attempt or the call was dropped while sleeping).
    #[inline]
    pub(crate) fn record_end(&self, outcome: Outcome, attempts: u32, unrecorded: u32) {
        self.other_attempts.fetch_add(u64::from(unrecorded), Relaxed);
        if attempts > 0 {
            let bucket = usize::try_from(attempts.min(5) - 1).unwrap_or(4);
            self.other_histogram[bucket].fetch_add(1, Relaxed);
        }
        let ended = match outcome {
            Outcome::Success => &self.retried_successes,
            Outcome::Exhausted => &self.failures,
            Outcome::NonRetryable => &self.non_retryable_failures,
            Outcome::BudgetRefused => {
                self.budget_refusals.fetch_add(1, Relaxed);
                &self.failures
            }
            Outcome::CircuitOpen => {
                self.circuit_rejections.fetch_add(1, Relaxed);
                &self.failures
            }
            Outcome::Cancelled => &self.cancelled,
        };
        ended.fetch_add(1, Relaxed);
    }

    /// An attempt ran past its `timeout`.
    #[cold]
    pub(crate) fn record_timeout(&self) {
        self.timeouts.fetch_add(1, Relaxed);
    }

    /// A failed call returned its `fallback`'s result.
    #[cold]
    pub(crate) fn record_fallback(&self) {
        self.fallbacks.fetch_add(1, Relaxed);
    }

    /// A hedged call started another copy of its attempt.
    pub(crate) fn record_hedged(&self) {
        self.hedged_attempts.fetch_add(1, Relaxed);
    }

    /// A hedged call succeeded with its attempt number `winner`.
    pub(crate) fn record_hedge_win(&self, winner: u32) {
        let bucket = usize::try_from(winner.clamp(1, 5) - 1).unwrap_or(4);
        self.hedge_wins[bucket].fetch_add(1, Relaxed);
    }

    /// A call of this function moved its circuit breaker to open.
    #[cold]
    pub(crate) fn record_circuit_opened(&self) {
        self.circuits_opened.fetch_add(1, Relaxed);
    }

    /// These counters as plain data.
    ///
    /// Each counter is read atomically, but not all at once: while calls are
    /// running, the numbers may be a few calls apart.
    ///
    /// ```
    /// use retry_runtime::{retry, Stats};
    ///
    /// static DB: Stats = Stats::new();
    ///
    /// #[retry(max = 3, base = "1ms", stats = DB)]
    /// fn always_down() -> Result<(), &'static str> { Err("down") }
    ///
    /// always_down().unwrap_err();
    /// let db = DB.snapshot();
    /// assert_eq!((db.calls, db.attempts, db.retries, db.failures), (1, 3, 2, 1));
    /// assert_eq!(db.attempts_histogram, [0, 0, 1, 0, 0]);
    /// assert!(db.last_failure.is_some());
    /// ```
    pub fn snapshot(&self) -> FunctionStats {
        let first_try: u64 = self.first_try_successes.iter().map(|stripe| stripe.0.load(Relaxed)).sum();
        let retried = self.retried_successes.load(Relaxed);
        let failures = self.failures.load(Relaxed);
        let non_retryable = self.non_retryable_failures.load(Relaxed);
        let retries_made = self.retries.load(Relaxed);
        // Date the ends recorded since the last snapshot: they read no
        // clock, so "now" is the earliest time known to follow them.
        let now = std::cell::OnceCell::new();
        let now = || *now.get_or_init(|| unix_ms(SystemTime::now()));
        if self.successes_dated.fetch_max(first_try + retried, Relaxed) < first_try + retried {
            self.last_success_ms.fetch_max(now(), Relaxed);
        }
        if self.failures_dated.fetch_max(failures + non_retryable, Relaxed) < failures + non_retryable {
            self.last_failure_ms.fetch_max(now(), Relaxed);
        }
        let cancelled = self.cancelled.load(Relaxed);
        let mut histogram = self.other_histogram.each_ref().map(|bucket| bucket.load(Relaxed));
        histogram[0] += first_try;
        FunctionStats {
            name: self.name().to_owned(),
            calls: first_try + retried + failures + non_retryable + cancelled,
            attempts: first_try + self.other_attempts.load(Relaxed) + retries_made,
            first_try_successes: first_try,
            retried_successes: retried,
            failures,
            non_retryable_failures: non_retryable,
            retries: retries_made,
            slept: Duration::from_nanos(self.slept_nanos.load(Relaxed)),
            attempts_histogram: histogram,
            budget_refusals: self.budget_refusals.load(Relaxed),
            circuit_rejections: self.circuit_rejections.load(Relaxed),
            circuits_opened: self.circuits_opened.load(Relaxed),
            timeouts: self.timeouts.load(Relaxed),
            fallbacks: self.fallbacks.load(Relaxed),
            hedged_attempts: self.hedged_attempts.load(Relaxed),
            hedge_wins: self.hedge_wins.each_ref().map(|bucket| bucket.load(Relaxed)),
            cancelled,
            last_success: from_unix_ms(self.last_success_ms.load(Relaxed)),
            last_failure: from_unix_ms(self.last_failure_ms.load(Relaxed)),
        }
    }
}

static REGISTRY: Mutex<Vec<&'static Stats>> = Mutex::new(Vec::new());

/// Stripes of the first-try counter: enough for the cores that commonly
/// hammer one function at once, few enough to keep a `Stats` at 1 KiB.
const STRIPES: usize = 8;
const _: () = assert!(STRIPES.is_power_of_two(), "a stripe is picked by masking");

/// A counter alone on its cache line (128 bytes: adjacent-line prefetching
/// pairs 64-byte lines on x86).
#[derive(Debug)]
#[repr(align(128))]
struct Striped(AtomicU64);

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's stripe, handed out round-robin on its first success
    /// (`usize::MAX` until then). Const-initialised, so reading it is one
    /// load: a lazily initialised thread-local would put its initialisation
    /// check in every retried function.
    static STRIPE: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
}

#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
fn this_threads_stripe() -> usize {
    let stripe = STRIPE.get();
    if stripe == usize::MAX { assign_stripe() } else { stripe }
}

#[cold]
#[inline(never)]
fn assign_stripe() -> usize {
    let stripe = NEXT_STRIPE.fetch_add(1, Relaxed) % STRIPES;
    STRIPE.set(stripe);
    stripe
}

fn unix_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(1, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1))
}

fn from_unix_ms(ms: u64) -> Option<SystemTime> {
    (ms != 0).then(|| UNIX_EPOCH + Duration::from_millis(ms))
}

/// Every registered function's statistics, sorted by name.
///
/// ```
/// use retry_runtime::{retry, stats};
///
/// #[retry(max = 2, base = "1ms")]
/// fn ping() -> Result<(), ()> { Ok(()) }
///
/// ping().unwrap();
/// let all = stats::snapshot();
/// assert!(all.functions.iter().any(|f| f.name.ends_with("::ping") && f.calls == 1));
/// ```
pub fn snapshot() -> Snapshot {
    let registered: Vec<&'static Stats> = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut functions: Vec<FunctionStats> = registered.iter().map(|stats| stats.snapshot()).collect();
    functions.sort_by(|a, b| a.name.cmp(&b.name));
    Snapshot { functions }
}

/// The statistics of one function (or one shared [`Stats`]) at one moment,
/// as plain data.
///
/// The five outcomes are disjoint: `calls` = `first_try_successes` +
/// `retried_successes` + `failures` + `non_retryable_failures` + `cancelled`.
/// Calls still running are not counted yet, but their retries and sleeps
/// already are. `budget_refusals` and `circuit_rejections` say why some of
/// the `failures` stopped early.
///
/// ```
/// let empty = retry_runtime::Stats::new().snapshot();
/// assert_eq!((empty.calls, empty.success_rate()), (0, None));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct FunctionStats {
    /// The function's module path and name, or the shared `static`'s name.
    pub name: String,
    /// Calls that returned.
    pub calls: u64,
    /// Attempts made, first attempts included.
    pub attempts: u64,
    /// Calls whose first attempt succeeded.
    pub first_try_successes: u64,
    /// Calls that succeeded after at least one retry.
    pub retried_successes: u64,
    /// Calls that failed after running out of attempts or of time, or that a
    /// retry budget or an open circuit breaker stopped.
    pub failures: u64,
    /// Calls that failed with an error the classifier would not retry.
    pub non_retryable_failures: u64,
    /// Retries made (sleeps decided).
    pub retries: u64,
    /// Total time slept between attempts (as decided; a [`crate::testing::SleepRecorder`] skips it).
    pub slept: Duration,
    /// Calls by the number of attempts they made: 1, 2, 3, 4, 5 or more
    /// (calls an open breaker refused before any attempt are not in it).
    pub attempts_histogram: [u64; 5],
    /// Failed calls whose next retry the [`crate::RetryBudget`] refused.
    pub budget_refusals: u64,
    /// Failed calls stopped by an open [`crate::CircuitBreaker`]: refused
    /// before an attempt (the body was not called), or ended at once because
    /// their own failure opened it.
    pub circuit_rejections: u64,
    /// Times a failure of this function opened its circuit breaker.
    pub circuits_opened: u64,
    /// Attempts that ran past the `timeout` (and failed with
    /// [`crate::TimedOut`]).
    pub timeouts: u64,
    /// Failed calls (counted in `failures`, `non_retryable_failures`,
    /// `budget_refusals` or `circuit_rejections`) that returned their
    /// `fallback`'s result instead of their error.
    pub fallbacks: u64,
    /// Extra copies of an attempt that `hedge` started (also counted in
    /// `retries` and `attempts`).
    pub hedged_attempts: u64,
    /// Successful hedged calls by the attempt that won: 1 (the first), 2,
    /// 3, 4, 5 or later.
    pub hedge_wins: [u64; 5],
    /// Calls dropped before they returned: an async call's future cancelled
    /// (by `select!`, a timeout around it, a dropped task) or a body that
    /// panicked.
    pub cancelled: u64,
    /// When the last success happened (see the module docs for how exact it is).
    pub last_success: Option<SystemTime>,
    /// When the last failed call returned (as exact as `last_success`).
    pub last_failure: Option<SystemTime>,
}

impl FunctionStats {
    /// Successful calls, first try or after retries.
    ///
    /// ```
    /// assert_eq!(retry_runtime::Stats::new().snapshot().successes(), 0);
    /// ```
    pub fn successes(&self) -> u64 {
        self.first_try_successes + self.retried_successes
    }

    /// Successful calls per call, from 0.0 to 1.0; `None` before the first call.
    ///
    /// ```
    /// use retry_runtime::{retry, Stats};
    /// static S: Stats = Stats::new();
    /// #[retry(max = 1, stats = S)]
    /// fn half(ok: bool) -> Result<(), ()> { if ok { Ok(()) } else { Err(()) } }
    /// let _ = (half(true), half(false));
    /// assert_eq!(S.snapshot().success_rate(), Some(0.5));
    /// ```
    #[allow(clippy::cast_precision_loss)]
    pub fn success_rate(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.successes() as f64 / self.calls as f64)
    }

    /// Retries per call; `None` before the first call.
    ///
    /// ```
    /// assert_eq!(retry_runtime::Stats::new().snapshot().retries_per_call(), None);
    /// ```
    #[allow(clippy::cast_precision_loss)]
    pub fn retries_per_call(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.retries as f64 / self.calls as f64)
    }
}

/// Every registered function's statistics, from [`snapshot`]. Prints as a table.
///
/// ```
/// let all = retry_runtime::stats::snapshot();
/// assert!(all.to_string().starts_with("function"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Snapshot {
    /// One entry per registered function or shared [`Stats`], sorted by name.
    pub functions: Vec<FunctionStats>,
}

impl Snapshot {
    /// The entry named `name` (module path and function name).
    ///
    /// ```
    /// assert!(retry_runtime::stats::snapshot().get("no::such::function").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&FunctionStats> {
        self.functions.iter().find(|f| f.name == name)
    }
}

const HEADER: [&str; 16] = [
    "function",
    "calls",
    "attempts",
    "ok 1st",
    "ok retry",
    "failed",
    "permanent",
    "retries",
    "slept",
    "success",
    "attempts 1/2/3/4/5+",
    "budget",
    "breaker",
    "timeouts",
    "fallbacks",
    "cancelled",
];

fn row(stats: &FunctionStats) -> [String; 16] {
    let percent = |rate: Option<f64>| rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0));
    let h = stats.attempts_histogram;
    [
        stats.name.clone(),
        stats.calls.to_string(),
        stats.attempts.to_string(),
        stats.first_try_successes.to_string(),
        stats.retried_successes.to_string(),
        stats.failures.to_string(),
        stats.non_retryable_failures.to_string(),
        stats.retries.to_string(),
        crate::duration::Human(stats.slept).to_string(),
        percent(stats.success_rate()),
        format!("{}/{}/{}/{}/{}", h[0], h[1], h[2], h[3], h[4]),
        stats.budget_refusals.to_string(),
        stats.circuit_rejections.to_string(),
        stats.timeouts.to_string(),
        stats.fallbacks.to_string(),
        stats.cancelled.to_string(),
    ]
}

fn table(f: &mut fmt::Formatter<'_>, rows: &[[String; 16]]) -> fmt::Result {
    let mut widths = HEADER.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(rows) {
        for (column, (cell, width)) in row.iter().zip(widths).enumerate() {
            if column == 0 {
                write!(f, "{cell:<width$}")?;
            } else {
                write!(f, "  {cell:>width$}")?;
            }
        }
        writeln!(f)?;
    }
    Ok(())
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<_> = self.functions.iter().map(row).collect();
        table(f, &rows)
    }
}

impl fmt::Display for FunctionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        table(f, &[row(self)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `slept` wrapped around: retries after 2^63 ns and 2^64 ns added up to
    /// 2^63 − 1 ns instead of staying at the most it can count.
    #[test]
    fn slept_saturates_instead_of_wrapping() {
        let stats = Stats::new();
        stats.record_retry(Duration::from_nanos(1 << 63));
        stats.record_retry(Duration::new(18_446_744_073, 709_551_616)); // 2^64 ns
        assert_eq!(stats.snapshot().slept, Duration::from_nanos(u64::MAX));
        stats.record_retry(Duration::from_nanos(1));
        stats.record_retry(Duration::ZERO);
        let snapshot = stats.snapshot();
        assert_eq!((snapshot.slept, snapshot.retries), (Duration::from_nanos(u64::MAX), 4));
    }
}
