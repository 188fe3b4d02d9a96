//! The retry budget: one token bucket shared by many calls, so that retries
//! add at most a fixed fraction to the load a dependency sees.
//!
//! # Budget, circuit breaker or deadline?
//!
//! They bound different things, and a service under stress wants all three.
//!
//! - A **deadline** bounds the *time* of one call: however many retries its
//!   policy allows, the caller gets an answer in time. It says nothing about
//!   the load: a thousand callers each retrying within their deadline still
//!   send several times the usual traffic to a dependency that is down.
//! - A **retry budget** bounds the *load multiplication* across all the calls
//!   that share it. Each call earns a fraction of a retry (`ratio`); each
//!   retry spends a whole one; when the earnings run out, failed calls fail at
//!   once instead of retrying. During an outage the traffic stays close to
//!   `1 + ratio` times the call rate (10 % more by default) instead of
//!   `max_attempts` times, while isolated failures of a healthy dependency are
//!   still retried, because successful calls keep the bucket full.
//! - A **circuit breaker** stops even the *first* attempts once a dependency
//!   looks down, and probes it until it recovers. A budget never stops first
//!   attempts: it only decides whether a failed one is worth repeating.
//!
//! Use a budget whenever many calls (many functions, threads or tasks) retry
//! against the same dependency: one `static` [`RetryBudget`] per downstream
//! service.
//!
//! # Modes
//!
//! One [`RetryBudget`] type, three ways of keeping the books, one file each:
//! `proportional.rs` (the default, [`RetryBudget::new`]), `grpc.rs` (gRPC
//! retry throttling exactly, [`RetryBudget::grpc`]) and `aws.rs` (the AWS
//! SDKs' standard retry quota, [`RetryBudget::aws_standard`]). The engine
//! tells every mode the same events (see "The engine's interface" below);
//! each mode decides what they cost.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::clock::Timeline;

mod aws;
mod grpc;
mod proportional;
#[cfg(feature = "serde")]
mod settings;

/// Thousandths of a token per token: the bucket is fixed point, like gRPC's
/// `tokenRatio`, which is specified to three decimal places.
const MILLI: u32 = 1000;

/// The largest capacity (and cost) whose thousandths fit the `u32` balance.
const MAX_CAPACITY: u32 = u32::MAX / MILLI;

/// The largest ratio accepted, in tokens per call.
const MAX_RATIO: f64 = 1000.0;

/// How a [`RetryBudget`] keeps its books: read back with
/// [`RetryBudget::mode`].
///
/// ```
/// use retry_runtime::{BudgetMode, RetryBudget};
///
/// assert_eq!(RetryBudget::new().mode(), BudgetMode::Proportional);
/// assert_eq!(RetryBudget::grpc(10, 0.1).mode(), BudgetMode::Grpc);
/// assert_eq!(RetryBudget::aws_standard().mode(), BudgetMode::AwsStandard);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BudgetMode {
    /// Every call earns `ratio`, every retry costs one token, retries while at
    /// least half the bucket is left after paying, plus a per-second floor
    /// ([`RetryBudget::new`]).
    Proportional,
    /// gRPC retry throttling (gRFC A6): every failed attempt costs one token,
    /// every success earns `token_ratio`, retries only while the tokens are
    /// strictly above half ([`RetryBudget::grpc`]).
    Grpc,
    /// The AWS SDKs' standard retry quota: a retry costs `retry_cost` (or
    /// `timeout_cost` after a timeout), a success after retries refunds the
    /// last one, a first-try success earns one ([`RetryBudget::aws_standard`]).
    AwsStandard,
}

/// A token bucket that decides whether a failed call may be retried, shared
/// by every call to one dependency.
///
/// Three modes ([`BudgetMode`]), chosen by the constructor; each starts full.
///
/// | | [`new`](RetryBudget::new) (proportional, the default) | [`grpc`](RetryBudget::grpc) | [`aws_standard`](RetryBudget::aws_standard) |
/// |---|---|---|---|
/// | size | `capacity` (100) | `max_tokens` | `capacity` (500) |
/// | earns | `ratio` (0.1) per call, at its first attempt's end | `token_ratio` per successful call (three decimals, truncated) | 1 per first-try success; a success after retries refunds its last retry's cost |
/// | costs | 1 per retry granted | 1 per failed attempt the classifier calls transient, retried or not | `retry_cost` (5) per retry, `timeout_cost` (10) when the failed attempt timed out |
/// | retries while | at least half the capacity is left after paying, or the per-second floor (10) has some left | the tokens, after the failure's cost, are strictly above `max_tokens / 2` | the quota covers the cost (it may drain to zero) |
/// | at most, N calls make | `N·(1 + ratio) + capacity/2 + floor·(⌈T⌉ + 1)` attempts | `N + S·token_ratio + max_tokens/2` attempts | `N + N₂ + (capacity + N₁) / min(retry_cost, timeout_cost)` attempts |
///
/// (`S`: the calls that succeeded; `N₁`, `N₂`: those that succeeded at the
/// first try and after retries; `T`: the seconds the calls span.)
///
/// # The proportional budget (the default)
///
/// Every call deposits [`ratio`](RetryBudget::ratio) tokens (up to
/// [`capacity`](RetryBudget::capacity)); every retry withdraws one token,
/// and is allowed only while the bucket still holds at least half its
/// capacity after paying. When the bucket refuses, a floor of
/// [`min_retries_per_second`](RetryBudget::min_retries_per_second) retries is
/// still granted each second, so that a quiet service, whose few calls earn
/// few tokens, can still retry.
///
/// | here | gRPC retry throttling ([gRFC A6]) | Finagle [`RetryBudget`][finagle] | AWS SDK [retry quota][aws] | Envoy [retry budget][envoy] |
/// |---|---|---|---|---|
/// | `capacity` (100) | `maxTokens` | the deposits of the last `ttl` (10 s) | the quota (500) | — |
/// | `ratio` (0.1) | `tokenRatio`, earned per *successful* call; example `0.1` | `percentCanRetry` (0.2), earned per call | 1 token per successful first attempt | `budget_percent` of active requests (20 %) |
/// | one token per retry | one token per *failed* attempt | one per retry | 5 per retry (10 after a timeout) | — |
/// | retries while ≥ half full after paying | while `token_count > maxTokens / 2` | while the balance allows | while the quota covers the cost | while retries < the budget |
/// | `min_retries_per_second` (10) | — | `minRetriesPerSec` (10) | — | `min_retry_concurrency` (3) |
///
/// Like Finagle's, this budget earns tokens on every call, not only on
/// successes, so its bound below does not depend on the failure rate. Like
/// gRPC, it keeps half the bucket in reserve: a burst of failures spends at
/// most `capacity / 2` tokens before the steady-state ratio takes over. It
/// is not gRPC's throttling (that is [`RetryBudget::grpc`]): gRPC charges the
/// failures, not the retries, and refuses at exactly half.
///
/// Calls that share a proportional budget make at most
///
/// ```text
/// N · (1 + ratio) + capacity / 2 + min_retries_per_second · (⌈T⌉ + 1)
/// ```
///
/// attempts in all, whatever their policies' `max_attempts` and whatever
/// the balance when they start, where `N` is the number of calls (each
/// deposits once), `ratio` and `capacity` are the effective values read back
/// by [`tokens_per_call`](RetryBudget::tokens_per_call) and
/// [`max_tokens`](RetryBudget::max_tokens),
/// and `T` is the time in seconds the calls span on the budget's clock. The
/// bucket pays for at most `capacity / 2 + N · ratio` retries (it starts at
/// most full and never pays below half), and the floor grants at most
/// `min_retries_per_second` in each of the at most `⌈T⌉ + 1` whole seconds
/// of the clock that the span touches. When the dependency is completely
/// down and the calls would retry more, the attempts come within one token
/// of the bucket's share of this bound.
///
/// The gRPC and AWS modes are documented, with their bounds, on their
/// constructors.
///
/// # Examples
///
/// One `static` per dependency, shared by every caller:
///
/// ```
/// use retry_runtime::RetryBudget;
///
/// static INVENTORY_BUDGET: RetryBudget = RetryBudget::new().capacity(20).ratio(0.1).min_retries_per_second(0);
///
/// fn fetch(dependency_up: bool) -> Result<u32, String> {
///     INVENTORY_BUDGET.record_call();
///     let mut attempts = 1;
///     while !dependency_up && attempts < 5 {
///         if !INVENTORY_BUDGET.try_retry() {
///             return Err(format!("gave up after {attempts} attempts: retry budget spent"));
///         }
///         attempts += 1;
///     }
///     if dependency_up { Ok(attempts) } else { Err(format!("failed after {attempts} attempts")) }
/// }
///
/// // The first failing calls retry freely, until half the bucket is spent...
/// assert_eq!(fetch(false), Err("failed after 5 attempts".into()));
/// for _ in 0..10 {
///     let _ = fetch(false);
/// }
/// // ...then failures are no longer multiplied.
/// assert!(fetch(false).unwrap_err().contains("budget spent"));
/// assert!(INVENTORY_BUDGET.refusals() > 0);
/// // Successful calls refill it.
/// assert_eq!(fetch(true), Ok(1));
/// ```
///
/// [gRFC A6]: https://github.com/grpc/proposal/blob/master/A6-client-retries.md#throttling-retry-attempts-and-hedged-rpcs
/// [finagle]: https://twitter.github.io/finagle/guide/Clients.html#retries
/// [aws]: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
/// [envoy]: https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/circuit_breaker.proto#config-cluster-v3-circuitbreakers-thresholds-retrybudget
pub struct RetryBudget {
    mode: BudgetMode,
    /// The tokens in the bucket, in thousandths. Every change is one atomic
    /// read-modify-write, so concurrent calls can neither overdraw it nor lose
    /// a deposit. Relaxed ordering suffices: the balance publishes no other
    /// data, and each update is atomic on its own.
    balance: AtomicU32,
    /// The capacity as given, for [`RetryBudget::validate`].
    requested_capacity: u32,
    /// The effective capacity, in thousandths (a multiple of 1000, so half of
    /// it is exact).
    capacity_milli: u32,
    /// The ratio as given, for [`RetryBudget::validate`].
    requested_ratio: f64,
    /// What a success earns, in thousandths of a token: per call
    /// (proportional), per successful call (gRPC) or per first-try success
    /// (AWS).
    ratio_milli: u32,
    /// Proportional mode only.
    min_retries_per_second: u32,
    /// The floor's state in one word, so that one compare-and-swap moves it:
    /// the clock's whole second in the high half, the retries granted in that
    /// second in the low half.
    floor: AtomicU64,
    /// AWS mode: what a retry costs, and one after a timeout, as given.
    retry_cost: u32,
    timeout_cost: u32,
    refusals: AtomicU64,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryBudget {
    /// A full proportional budget with the defaults: capacity 100 tokens,
    /// ratio 0.1 (gRPC's example `tokenRatio`), and 10 retries per second
    /// whatever the balance (Finagle's default `minRetriesPerSec`).
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// static BUDGET: RetryBudget = RetryBudget::new();
    /// assert_eq!((BUDGET.max_tokens(), BUDGET.tokens_per_call(), BUDGET.floor_per_second()), (100, 0.1, 10));
    /// assert_eq!(BUDGET.tokens(), 100.0);
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        RetryBudget {
            mode: BudgetMode::Proportional,
            balance: AtomicU32::new(100 * MILLI),
            requested_capacity: 100,
            capacity_milli: 100 * MILLI,
            requested_ratio: 0.1,
            ratio_milli: 100,
            min_retries_per_second: 10,
            floor: AtomicU64::new(0),
            retry_cost: 0,
            timeout_cost: 0,
            refusals: AtomicU64::new(0),
        }
    }

    /// Sets the size of the bucket, in tokens, and fills it: the proportional
    /// `capacity`, gRPC's `maxTokens`, the AWS quota.
    ///
    /// In the proportional mode, a burst of failures may spend half of it
    /// before the ratio takes over. Any value is accepted: 0 leaves only the
    /// per-second floor (and no retry in the other modes), and values above
    /// 4 294 967 (the largest whose thousandths fit in 32 bits) count as
    /// 4 294 967. [`validate`](RetryBudget::validate) rejects both.
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// let budget = RetryBudget::new().capacity(10);
    /// assert_eq!(budget.tokens(), 10.0);
    /// assert_eq!(RetryBudget::new().capacity(u32::MAX).max_tokens(), 4_294_967);
    /// ```
    #[must_use]
    pub const fn capacity(mut self, tokens: u32) -> Self {
        let effective = if tokens > MAX_CAPACITY { MAX_CAPACITY } else { tokens };
        self.requested_capacity = tokens;
        self.capacity_milli = effective * MILLI;
        self.balance = AtomicU32::new(effective * MILLI);
        self
    }

    /// Sets the tokens a call earns, to three decimal places: in the
    /// proportional mode, every call (0.1: one retry per ten calls in the
    /// long run), rounded to the nearest; in the gRPC mode, every successful
    /// call (`tokenRatio`), truncated as gRFC A6 specifies; in the AWS mode,
    /// every first-try success (1, the SDKs' `NoRetryIncrement`), truncated.
    ///
    /// Any value is accepted: NaN and negative ratios count as 0 (the bucket
    /// never refills), and ratios above 1000 count as 1000.
    /// [`validate`](RetryBudget::validate) rejects all of these, and 0 in
    /// the gRPC mode (A6 requires a ratio above zero).
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// assert_eq!(RetryBudget::new().ratio(0.2).tokens_per_call(), 0.2);
    /// assert_eq!(RetryBudget::new().ratio(0.12345).tokens_per_call(), 0.123);
    /// assert_eq!(RetryBudget::new().ratio(0.5466).tokens_per_call(), 0.547);
    /// assert_eq!(RetryBudget::grpc(10, 0.5466).tokens_per_call(), 0.546);
    /// assert_eq!(RetryBudget::new().ratio(f64::NAN).tokens_per_call(), 0.0);
    /// ```
    #[must_use]
    pub const fn ratio(mut self, tokens_per_call: f64) -> Self {
        self.requested_ratio = tokens_per_call;
        let truncate = !matches!(self.mode, BudgetMode::Proportional);
        self.ratio_milli = ratio_to_milli(tokens_per_call, truncate);
        self
    }

    /// Sets how many retries are granted each second of the clock even when
    /// the bucket refuses (0: none). Proportional mode only: the other modes
    /// have no floor, and [`validate`](RetryBudget::validate) rejects one.
    ///
    /// This keeps a quiet service retrying: ten calls a minute earn one token
    /// a minute at ratio 0.1, too few to retry a burst of errors.
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// assert_eq!(RetryBudget::new().min_retries_per_second(3).floor_per_second(), 3);
    /// ```
    #[must_use]
    pub const fn min_retries_per_second(mut self, retries: u32) -> Self {
        self.min_retries_per_second = retries;
        self
    }

    /// The mode this budget keeps its books in.
    ///
    /// ```
    /// use retry_runtime::{BudgetMode, RetryBudget};
    /// assert_eq!(RetryBudget::aws_standard().mode(), BudgetMode::AwsStandard);
    /// ```
    pub fn mode(&self) -> BudgetMode {
        self.mode
    }

    /// Says whether the configured values make sense.
    ///
    /// Use it on budgets built from configuration. An unvalidated budget
    /// still never panics (see each setter for how it treats nonsense).
    ///
    /// # Errors
    /// The first rule the budget breaks: a capacity of 0, a capacity above
    /// 4 294 967 tokens, a ratio that is not a finite number from 0 to 1000
    /// (at least 0.001 for gRPC), a floor outside the proportional mode, an AWS cost
    /// of 0 or above the capacity, or a cost outside the AWS mode.
    ///
    /// ```
    /// use retry_runtime::{BudgetError, RetryBudget};
    ///
    /// assert_eq!(RetryBudget::new().validate(), Ok(()));
    /// assert_eq!(RetryBudget::new().capacity(0).validate(), Err(BudgetError::ZeroCapacity));
    /// assert_eq!(RetryBudget::new().ratio(-0.5).validate(), Err(BudgetError::RatioOutOfRange(-0.5)));
    /// assert_eq!(RetryBudget::grpc(10, 0.0004).validate(), Err(BudgetError::TokenRatioTooSmall(0.0004)));
    /// assert_eq!(RetryBudget::aws_standard().retry_cost(0).validate(), Err(BudgetError::CostOutOfRange("retry_cost", 0)));
    /// ```
    pub fn validate(&self) -> Result<(), BudgetError> {
        if self.requested_capacity == 0 {
            return Err(BudgetError::ZeroCapacity);
        }
        if self.requested_capacity > MAX_CAPACITY {
            return Err(BudgetError::CapacityTooLarge(self.requested_capacity));
        }
        // Written so that NaN fails too.
        if !(self.requested_ratio >= 0.0 && self.requested_ratio <= MAX_RATIO) {
            return Err(BudgetError::RatioOutOfRange(self.requested_ratio));
        }
        match self.mode {
            BudgetMode::Proportional => self.has_no_costs()?,
            BudgetMode::Grpc => {
                // A6: "must be greater than zero. Up to 3 decimal places".
                if self.ratio_milli == 0 {
                    return Err(BudgetError::TokenRatioTooSmall(self.requested_ratio));
                }
                if self.min_retries_per_second != 0 {
                    return Err(BudgetError::NotInMode("min_retries_per_second", self.mode));
                }
                self.has_no_costs()?;
            }
            BudgetMode::AwsStandard => {
                if self.min_retries_per_second != 0 {
                    return Err(BudgetError::NotInMode("min_retries_per_second", self.mode));
                }
                for (key, cost) in [("retry_cost", self.retry_cost), ("timeout_cost", self.timeout_cost)] {
                    if cost == 0 || cost > self.requested_capacity {
                        return Err(BudgetError::CostOutOfRange(key, cost));
                    }
                }
            }
        }
        Ok(())
    }

    /// Refuses the AWS mode's costs on a budget of another mode.
    fn has_no_costs(&self) -> Result<(), BudgetError> {
        for (key, cost) in [("retry_cost", self.retry_cost), ("timeout_cost", self.timeout_cost)] {
            if cost != 0 {
                return Err(BudgetError::NotInMode(key, self.mode));
            }
        }
        Ok(())
    }

    /// Records one call by hand (the `#[retry]` engine does this itself).
    ///
    /// What a call earns depends on the mode: in the proportional mode,
    /// call it once per call, whatever its outcome, and it deposits
    /// [`ratio`](RetryBudget::ratio) tokens; in the gRPC mode, call it for a
    /// successful call, and it earns `token_ratio` (grpc-java's
    /// `Throttle.onSuccess`); in the AWS mode, call it for a first-try
    /// success, and it earns the `NoRetryIncrement` (1). Always up to the
    /// capacity. When the bucket is full (a healthy dependency), this is one
    /// atomic load and writes nothing.
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// let budget = RetryBudget::new().capacity(4).ratio(0.5).min_retries_per_second(0);
    /// assert!(budget.try_retry()); // 4 → 3 tokens
    /// budget.record_call();
    /// assert_eq!(budget.tokens(), 3.5);
    /// ```
    pub fn record_call(&self) {
        self.earn(self.ratio_milli);
    }

    /// Asks for one retry by hand: `true` if it is allowed (and paid for).
    ///
    /// In the proportional mode: allowed if the bucket still holds at least
    /// half its capacity after paying one token, or else if the floor of this
    /// second has retries left (reading the clock only then). In the gRPC
    /// mode, this records a failed attempt and asks for its retry: one token
    /// is charged whatever the answer, and the retry is allowed only if the
    /// tokens left are strictly above half (grpc-java's
    /// `onQualifiedFailureThenCheckIsAboveThreshold`). In the AWS mode it
    /// acquires `retry_cost` if the quota has that much. A refusal is
    /// counted by [`refusals`](RetryBudget::refusals).
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// let budget = RetryBudget::new().capacity(4).ratio(0.0).min_retries_per_second(0);
    /// assert!(budget.try_retry()); // 4 → 3
    /// assert!(budget.try_retry()); // 3 → 2: half the capacity is kept
    /// assert!(!budget.try_retry());
    /// assert_eq!(budget.refusals(), 1);
    ///
    /// let grpc = RetryBudget::grpc(4, 0.8);
    /// assert!(grpc.try_retry()); // 4 → 3 > 2
    /// assert!(!grpc.try_retry()); // 3 → 2, not above half
    /// ```
    pub fn try_retry(&self) -> bool {
        self.try_retry_with(|| Timeline::Thread.now())
    }

    /// [`try_retry`](RetryBudget::try_retry) at `now` on a clock of the
    /// caller's, for simulations and tests in virtual time: `now` dates the
    /// request for the per-second floor (only its whole seconds count, and
    /// only when the bucket refuses). Use one clock for every call of a
    /// budget.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::RetryBudget;
    ///
    /// let budget = RetryBudget::new().capacity(2).ratio(0.0).min_retries_per_second(1);
    /// assert!(budget.try_retry_at(Duration::from_secs(10))); // the bucket pays: 2 → 1
    /// assert!(budget.try_retry_at(Duration::from_secs(10))); // the floor of second 10
    /// assert!(!budget.try_retry_at(Duration::from_millis(10_500)));
    /// assert!(budget.try_retry_at(Duration::from_secs(11))); // second 11's floor
    /// ```
    pub fn try_retry_at(&self, now: Duration) -> bool {
        self.try_retry_with(|| now)
    }

    fn try_retry_with(&self, now: impl FnOnce() -> Duration) -> bool {
        if self.mode == BudgetMode::Grpc {
            self.attempt_failed(1, true);
        }
        self.retry_allowed(false, now).is_some()
    }

    /// The tokens in the bucket now.
    ///
    /// ```
    /// assert_eq!(retry_runtime::RetryBudget::new().capacity(7).tokens(), 7.0);
    /// assert_eq!(retry_runtime::RetryBudget::aws_standard().tokens(), 500.0);
    /// ```
    pub fn tokens(&self) -> f64 {
        f64::from(self.balance.load(Relaxed)) / f64::from(MILLI)
    }

    /// How many retries this budget has refused (the floor's grants are not
    /// refusals).
    ///
    /// ```
    /// let budget = retry_runtime::RetryBudget::new().capacity(0).min_retries_per_second(0);
    /// assert!(!budget.try_retry());
    /// assert_eq!(budget.refusals(), 1);
    /// ```
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Relaxed)
    }

    /// The size of the bucket in tokens, as set by
    /// [`capacity`](RetryBudget::capacity) and clamped there.
    ///
    /// ```
    /// assert_eq!(retry_runtime::RetryBudget::new().max_tokens(), 100);
    /// assert_eq!(retry_runtime::RetryBudget::aws_standard().max_tokens(), 500);
    /// ```
    pub fn max_tokens(&self) -> u32 {
        self.capacity_milli / MILLI
    }

    /// The tokens a call earns, as set by [`ratio`](RetryBudget::ratio):
    /// kept to a thousandth, NaN and negatives as 0.
    ///
    /// ```
    /// assert_eq!(retry_runtime::RetryBudget::new().tokens_per_call(), 0.1);
    /// ```
    pub fn tokens_per_call(&self) -> f64 {
        f64::from(self.ratio_milli) / f64::from(MILLI)
    }

    /// The retries granted each second even when the bucket refuses, as set
    /// by [`min_retries_per_second`](RetryBudget::min_retries_per_second).
    ///
    /// ```
    /// assert_eq!(retry_runtime::RetryBudget::new().floor_per_second(), 10);
    /// ```
    pub fn floor_per_second(&self) -> u32 {
        self.min_retries_per_second
    }

    /// Adds `amount` thousandths, up to the capacity.
    #[inline]
    fn earn(&self, amount: u32) {
        let full = self.capacity_milli;
        // The happy path: a healthy dependency keeps the bucket full, and a
        // load that writes nothing leaves the cache line shared between cores.
        if amount == 0 || self.balance.load(Relaxed) >= full {
            return;
        }
        self.earn_slowly(amount, full);
    }

    #[inline(never)]
    fn earn_slowly(&self, amount: u32, full: u32) {
        // `Err` only means another call filled the bucket meanwhile.
        let _ = self.balance.fetch_update(Relaxed, Relaxed, |balance| {
            (balance < full).then(|| balance.saturating_add(amount).min(full))
        });
    }

    /// Counts a refusal, and says none was granted.
    #[cold]
    #[inline(never)]
    fn refused(&self) -> Option<Paid> {
        self.refusals.fetch_add(1, Relaxed);
        None
    }
}

/// # The engine's interface
///
/// The events of a call that every mode hears, in the order the engine
/// tells them. The engine calls nothing else.
impl RetryBudget {
    /// The call's first attempt succeeded. With a full bucket (a healthy
    /// dependency) this is one atomic load, in every mode.
    #[inline]
    pub(crate) fn first_try_succeeded(&self) {
        self.earn(self.ratio_milli);
    }

    /// A hedged call begins (its extra copies then pay as retries do): the
    /// proportional bucket's one deposit per call. The gRPC and AWS modes
    /// hear nothing more of a hedged call than what its copies pay.
    #[inline]
    pub(crate) fn hedged_call_started(&self) {
        if self.mode == BudgetMode::Proportional {
            self.earn(self.ratio_milli);
        }
    }

    /// The call succeeded after retries; `last` is what its last retry paid.
    #[inline]
    pub(crate) fn succeeded_after_retries(&self, last: Paid) {
        match self.mode {
            // Deposited at the first failure already.
            BudgetMode::Proportional => {}
            BudgetMode::Grpc => self.earn(self.ratio_milli),
            BudgetMode::AwsStandard => self.earn(last.0),
        }
    }

    /// An attempt failed: the `failures`-th of the call. `transient` is
    /// whether the classifier would retry it (`Retry` or `RetryAfter`), said
    /// before anything (attempts, deadline, breaker, this budget) decides
    /// whether it is retried.
    #[inline]
    pub(crate) fn attempt_failed(&self, failures: u32, transient: bool) {
        match self.mode {
            // One deposit per call: the first failure is where a failing
            // call's first attempt ends.
            BudgetMode::Proportional if failures == 1 => self.earn(self.ratio_milli),
            BudgetMode::Grpc if transient => grpc::charge_failure(self),
            _ => {}
        }
    }

    /// A retry is asked for after a failed attempt (`after_timeout`: it
    /// timed out); `now` reads the clock, only if the proportional bucket
    /// refuses. `Some` (with what it paid) if it is allowed; a refusal is
    /// counted.
    #[inline]
    pub(crate) fn retry_allowed(&self, after_timeout: bool, now: impl FnOnce() -> Duration) -> Option<Paid> {
        match self.mode {
            BudgetMode::Proportional => proportional::withdraw(self, now),
            BudgetMode::Grpc => grpc::allows_retry(self),
            BudgetMode::AwsStandard => aws::acquire(self, after_timeout),
        }
    }

    /// A retry that was paid for is not made (its call was dropped between
    /// the payment and the sleep): what it paid goes back, up to the capacity.
    pub(crate) fn refund(&self, paid: Paid) {
        self.earn(paid.0);
    }

    /// Whether a server's pushback (`Verdict::RetryAfter`) restarts the
    /// backoff curve at `base` for the retries after it, as gRFC A6
    /// specifies: the gRPC mode only.
    #[inline]
    pub(crate) fn restarts_backoff_after_pushback(&self) -> bool {
        self.mode == BudgetMode::Grpc
    }
}

/// What a budget took for one retry, in thousandths of a token: given back
/// by [`RetryBudget::refund`], or by a success in the AWS mode. Zero when
/// nothing was taken (the floor, the gRPC mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Paid(u32);

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            BudgetMode::Proportional => f
                .debug_struct("RetryBudget")
                .field("tokens", &self.tokens())
                .field("capacity", &self.max_tokens())
                .field("ratio", &self.tokens_per_call())
                .field("min_retries_per_second", &self.min_retries_per_second)
                .field("refusals", &self.refusals())
                .finish_non_exhaustive(),
            BudgetMode::Grpc => f
                .debug_struct("RetryBudget")
                .field("mode", &self.mode)
                .field("tokens", &self.tokens())
                .field("max_tokens", &self.max_tokens())
                .field("token_ratio", &self.tokens_per_call())
                .field("refusals", &self.refusals())
                .finish_non_exhaustive(),
            BudgetMode::AwsStandard => f
                .debug_struct("RetryBudget")
                .field("mode", &self.mode)
                .field("tokens", &self.tokens())
                .field("capacity", &self.max_tokens())
                .field("retry_cost", &self.retry_cost)
                .field("timeout_cost", &self.timeout_cost)
                .field("refusals", &self.refusals())
                .finish_non_exhaustive(),
        }
    }
}

/// Thousandths of a token per call: rounded to the nearest, or truncated
/// (gRPC's `tokenRatio`); NaN and negatives as 0, and at most [`MAX_RATIO`].
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "the value is in [0, 1_000_000.5) here")]
const fn ratio_to_milli(ratio: f64, truncate: bool) -> u32 {
    if ratio.is_nan() || ratio <= 0.0 {
        0
    } else if ratio >= MAX_RATIO {
        (MAX_RATIO as u32) * MILLI
    } else if truncate {
        // Scaled as grpc-java does (`(int) (tokenRatio * 1000)`), so that the
        // same literal gives the same ratio: 0.5466 → 0.546.
        (ratio * 1000.0) as u32
    } else {
        (ratio * 1000.0 + 0.5) as u32
    }
}

/// Tokens to thousandths, clamped to what the balance holds.
const fn tokens_to_milli(tokens: u32) -> u32 {
    (if tokens > MAX_CAPACITY { MAX_CAPACITY } else { tokens }) * MILLI
}

/// Why a [`RetryBudget`] was rejected by [`RetryBudget::validate`].
///
/// ```
/// use retry_runtime::{BudgetError, RetryBudget};
///
/// let error = RetryBudget::new().ratio(f64::INFINITY).validate().unwrap_err();
/// assert_eq!(error, BudgetError::RatioOutOfRange(f64::INFINITY));
/// assert_eq!(error.to_string(), "ratio must be a finite number of tokens per call from 0.0 to 1000.0, got inf");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// The capacity was 0: only the per-second floor would ever retry.
    #[error("capacity must be at least 1 token, got 0")]
    ZeroCapacity,
    /// The capacity does not fit the fixed-point balance.
    #[error("capacity must be at most 4294967 tokens (the balance is kept in thousandths in 32 bits), got {0}")]
    CapacityTooLarge(u32),
    /// The ratio was negative, above 1000, infinite or NaN.
    #[error("ratio must be a finite number of tokens per call from 0.0 to 1000.0, got {0}")]
    RatioOutOfRange(f64),
    /// A gRPC `token_ratio` that truncates to 0 at three decimals: gRFC A6
    /// requires one above zero.
    #[error("token_ratio must be at least 0.001 (gRFC A6: above zero, three decimal places), got {0}")]
    TokenRatioTooSmall(f64),
    /// An AWS cost (named) was 0 or above the capacity.
    #[error("{0} must be from 1 token to the capacity, got {1}")]
    CostOutOfRange(&'static str, u32),
    /// A setting (named) that the budget's mode does not use.
    #[error("{0} does not apply to a {1:?} budget")]
    NotInMode(&'static str, BudgetMode),
}
