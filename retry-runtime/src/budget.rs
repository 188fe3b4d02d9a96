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

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::clock::Timeline;

/// Thousandths of a token per token: the bucket is fixed point, like gRPC's
/// `tokenRatio`, which is specified to three decimal places.
const MILLI: u32 = 1000;

/// The largest capacity whose thousandths fit the `u32` balance.
const MAX_CAPACITY: u32 = u32::MAX / MILLI;

/// The largest ratio accepted, in tokens per call.
const MAX_RATIO: f64 = 1000.0;

/// A token bucket that decides whether a failed call may be retried, shared
/// by every call to one dependency.
///
/// Every call deposits [`ratio`](RetryBudget::ratio) tokens (up to
/// [`capacity`](RetryBudget::capacity)); every retry withdraws one token,
/// and is allowed only while the bucket still holds at least half its
/// capacity after paying. When the bucket refuses, a floor of
/// [`min_retries_per_second`](RetryBudget::min_retries_per_second) retries is
/// still granted each second, so that a quiet service, whose few calls earn
/// few tokens, can still retry. The bucket starts full.
///
/// # Where the parameters come from
///
/// | here | gRPC retry throttling ([gRFC A6]) | Finagle [`RetryBudget`][finagle] | AWS SDK [retry quota][aws] | Envoy [retry budget][envoy] |
/// |---|---|---|---|---|
/// | `capacity` (100) | `maxTokens` | the deposits of the last `ttl` (10 s) | the quota (500) | — |
/// | `ratio` (0.1) | `tokenRatio`, earned per *successful* call; example `0.1` | `percentCanRetry` (0.2), earned per call | 1 token per successful first attempt | `budget_percent` of active requests (20 %) |
/// | one token per retry | one token per *failed* call | one per retry | 5 per retry (10 after a timeout) | — |
/// | retries while ≥ half full | while `token_count > maxTokens / 2` | while the balance allows | while the quota covers the cost | while retries < the budget |
/// | `min_retries_per_second` (10) | — | `minRetriesPerSec` (10) | — | `min_retry_concurrency` (3) |
///
/// Like Finagle's, this budget earns tokens on every call, not only on
/// successes, so its bound below does not depend on the failure rate. Like
/// gRPC, it keeps half the bucket in reserve: a burst of failures spends at
/// most `capacity / 2` tokens before the steady-state ratio takes over.
///
/// # The guarantee
///
/// Calls that share a budget make at most
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
    /// The effective ratio, in thousandths of a token per call.
    ratio_milli: u32,
    min_retries_per_second: u32,
    /// The floor's state in one word, so that one compare-and-swap moves it:
    /// the clock's whole second in the high half, the retries granted in that
    /// second in the low half.
    floor: AtomicU64,
    refusals: AtomicU64,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryBudget {
    /// A full budget with the defaults: capacity 100 tokens, ratio 0.1 (gRPC's
    /// example `tokenRatio`), and 10 retries per second whatever the balance
    /// (Finagle's default `minRetriesPerSec`).
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
            balance: AtomicU32::new(100 * MILLI),
            requested_capacity: 100,
            capacity_milli: 100 * MILLI,
            requested_ratio: 0.1,
            ratio_milli: 100,
            min_retries_per_second: 10,
            floor: AtomicU64::new(0),
            refusals: AtomicU64::new(0),
        }
    }

    /// Sets the size of the bucket, in tokens (retries), and fills it.
    ///
    /// A burst of failures may spend half of it before the ratio takes over.
    /// Any value is accepted: 0 leaves only the per-second floor, and values
    /// above 4 294 967 (the largest whose thousandths fit in 32 bits) count as
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

    /// Sets the tokens each call earns: the fraction of calls that may be
    /// retried in the long run (0.1: one retry per ten calls).
    ///
    /// Kept to three decimal places, rounded to the nearest, like gRPC's
    /// `tokenRatio`. Any value is accepted: NaN and negative ratios count as
    /// 0 (the bucket never refills, so only its first half and the floor are
    /// spent), and ratios above 1000 count as 1000.
    /// [`validate`](RetryBudget::validate) rejects all of these but 0.
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// assert_eq!(RetryBudget::new().ratio(0.2).tokens_per_call(), 0.2);
    /// assert_eq!(RetryBudget::new().ratio(0.12345).tokens_per_call(), 0.123);
    /// assert_eq!(RetryBudget::new().ratio(f64::NAN).tokens_per_call(), 0.0);
    /// ```
    #[must_use]
    pub const fn ratio(mut self, tokens_per_call: f64) -> Self {
        self.requested_ratio = tokens_per_call;
        self.ratio_milli = ratio_to_milli(tokens_per_call);
        self
    }

    /// Sets how many retries are granted each second of the clock even when
    /// the bucket refuses (0: none).
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

    /// Says whether the configured values make sense.
    ///
    /// Use it on budgets built from configuration. An unvalidated budget
    /// still never panics (see each setter for how it treats nonsense).
    ///
    /// # Errors
    /// The first rule the budget breaks: a capacity of 0, a capacity above
    /// 4 294 967 tokens, or a ratio that is not a finite number from 0 to 1000.
    ///
    /// ```
    /// use retry_runtime::{BudgetError, RetryBudget};
    ///
    /// assert_eq!(RetryBudget::new().validate(), Ok(()));
    /// assert_eq!(RetryBudget::new().capacity(0).validate(), Err(BudgetError::ZeroCapacity));
    /// assert_eq!(RetryBudget::new().ratio(-0.5).validate(), Err(BudgetError::RatioOutOfRange(-0.5)));
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
        Ok(())
    }

    /// Records one call: deposits [`ratio`](RetryBudget::ratio) tokens, up to
    /// the capacity.
    ///
    /// Call it once per call, whatever its outcome; the `#[retry]` loop does
    /// this itself. When the bucket is full (a healthy dependency), this is
    /// one atomic load and writes nothing.
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
        self.deposit();
    }

    /// Asks for one retry: `true` if it is allowed (and paid for).
    ///
    /// Allowed if the bucket still holds at least half its capacity after
    /// paying one token, or else if the floor of this second has retries left.
    /// A refusal is counted by [`refusals`](RetryBudget::refusals). Reads the
    /// clock only when the bucket refuses.
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// let budget = RetryBudget::new().capacity(4).ratio(0.0).min_retries_per_second(0);
    /// assert!(budget.try_retry()); // 4 → 3
    /// assert!(budget.try_retry()); // 3 → 2: half the capacity is kept
    /// assert!(!budget.try_retry());
    /// assert_eq!(budget.refusals(), 1);
    /// ```
    pub fn try_retry(&self) -> bool {
        self.try_withdraw_with(|| Timeline::Thread.now())
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
        self.try_withdraw_with(|| now)
    }

    /// The tokens in the bucket now.
    ///
    /// ```
    /// assert_eq!(retry_runtime::RetryBudget::new().capacity(7).tokens(), 7.0);
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
    /// ```
    pub fn max_tokens(&self) -> u32 {
        self.capacity_milli / MILLI
    }

    /// The tokens each call earns, as set by [`ratio`](RetryBudget::ratio):
    /// rounded to a thousandth, NaN and negatives as 0.
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

    /// Deposits one call's [`ratio`](RetryBudget::ratio) tokens, up to the
    /// capacity. Reads no clock.
    pub(crate) fn deposit(&self) {
        let full = self.capacity_milli;
        // The happy path: a healthy dependency keeps the bucket full, and a
        // load that writes nothing leaves the cache line shared between cores.
        if self.ratio_milli == 0 || self.balance.load(Relaxed) >= full {
            return;
        }
        // `Err` only means another call filled the bucket meanwhile.
        let _ = self.balance.fetch_update(Relaxed, Relaxed, |balance| {
            (balance < full).then(|| balance.saturating_add(self.ratio_milli).min(full))
        });
    }

    /// Gives back the token of a retry that was paid for but never made (its
    /// call was dropped between the payment and the sleep), up to the
    /// capacity. A retry the per-second floor granted paid no token; giving
    /// one back for it is harmless: the bucket only refills sooner.
    pub(crate) fn refund(&self) {
        let full = self.capacity_milli;
        let _ = self.balance.fetch_update(Relaxed, Relaxed, |balance| {
            (balance < full).then(|| balance.saturating_add(MILLI).min(full))
        });
    }

    /// Asks for one retry, reading the time with `now` only if the bucket
    /// refuses.
    pub(crate) fn try_withdraw_with(&self, now: impl FnOnce() -> Duration) -> bool {
        // After paying one token, at least half the capacity must be left.
        // One compare-and-swap loop decides and pays: checking first and
        // paying after would let two calls both see the last token.
        let reserve = self.capacity_milli / 2;
        let paid = self
            .balance
            .fetch_update(Relaxed, Relaxed, |balance| balance.checked_sub(MILLI).filter(|after| *after >= reserve));
        if paid.is_ok() || self.floor_grants(now) {
            return true;
        }
        self.refusals.fetch_add(1, Relaxed);
        false
    }

    /// Grants one retry from this second's floor, if any is left.
    fn floor_grants(&self, now: impl FnOnce() -> Duration) -> bool {
        let per_second = self.min_retries_per_second;
        if per_second == 0 {
            return false;
        }
        let second = u32::try_from(now().as_secs()).unwrap_or(u32::MAX);
        self.floor
            .fetch_update(Relaxed, Relaxed, |packed| {
                let (window, granted) = unpack_floor(packed);
                // A reading from an earlier second (another thread's clock ran
                // ahead) counts against the current one, so each second of the
                // clock grants at most `per_second`, whatever the interleaving.
                if second > window {
                    Some(pack_floor(second, 1))
                } else if granted < per_second {
                    Some(pack_floor(window, granted + 1))
                } else {
                    None
                }
            })
            .is_ok()
    }
}

impl fmt::Debug for RetryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryBudget")
            .field("tokens", &self.tokens())
            .field("capacity", &self.max_tokens())
            .field("ratio", &self.tokens_per_call())
            .field("min_retries_per_second", &self.min_retries_per_second)
            .field("refusals", &self.refusals())
            .finish_non_exhaustive()
    }
}

/// Thousandths of a token per call, rounded to the nearest; NaN and negatives
/// as 0, and at most [`MAX_RATIO`].
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "the value is in [0.5, 1_000_000.5) here")]
const fn ratio_to_milli(ratio: f64) -> u32 {
    if ratio.is_nan() || ratio <= 0.0 {
        0
    } else if ratio >= MAX_RATIO {
        (MAX_RATIO as u32) * MILLI
    } else {
        (ratio * 1000.0 + 0.5) as u32
    }
}

fn pack_floor(second: u32, granted: u32) -> u64 {
    (u64::from(second) << 32) | u64::from(granted)
}

#[allow(clippy::cast_possible_truncation, reason = "splitting a word in halves")]
fn unpack_floor(packed: u64) -> (u32, u32) {
    ((packed >> 32) as u32, packed as u32)
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
}

#[cfg(test)]
#[allow(clippy::float_cmp, reason = "balances and ratios are whole thousandths, exact in f64 after the one division")]
mod tests {
    use super::*;

    const MAX_ATTEMPTS: u32 = 5;

    /// `calls` calls to a dependency that always fails, each retrying while
    /// the budget allows, up to `MAX_ATTEMPTS` attempts; call `i` asks at
    /// `now_of_call(i)`. Returns the attempts made.
    fn outage(budget: &RetryBudget, calls: u64, now_of_call: impl Fn(u64) -> Duration) -> u64 {
        let mut attempts = 0;
        for call in 0..calls {
            attempts += 1;
            budget.deposit();
            for _ in 1..MAX_ATTEMPTS {
                if !budget.try_retry_at(now_of_call(call)) {
                    break;
                }
                attempts += 1;
            }
        }
        attempts
    }

    /// The documented bound, in thousandths of an attempt (exact):
    /// `N·(1 + ratio) + capacity/2 + floor·(⌈T⌉ + 1)`.
    fn bound_milli(budget: &RetryBudget, calls: u64, span: Duration) -> u64 {
        let whole_seconds = span.as_secs() + u64::from(span.subsec_nanos() > 0);
        calls * u64::from(MILLI + budget.ratio_milli)
            + u64::from(budget.capacity_milli / 2)
            + u64::from(budget.min_retries_per_second) * (whole_seconds + 1) * u64::from(MILLI)
    }

    #[test]
    fn an_outage_makes_at_most_the_documented_attempts_and_nearly_that_many() {
        // (calls, ratio, capacity, floor): each makes retrying cheaper than the 4 retries a call wants.
        let cases = [
            (10_000, 0.1, 100, 10),
            (10_000, 0.0, 100, 0),
            (5_000, 0.5, 10, 3),
            (20_000, 0.25, 1_000, 10),
            (3_000, 0.333, 7, 1),
            (1_000, 1.0, 50, 0),
        ];
        for (calls, ratio, capacity, floor) in cases {
            let budget = RetryBudget::new().capacity(capacity).ratio(ratio).min_retries_per_second(floor);
            let attempts = outage(&budget, calls, |_| Duration::from_millis(7_300));
            let bound = bound_milli(&budget, calls, Duration::ZERO);
            let case = format!("{calls} calls, ratio {ratio}, capacity {capacity}, floor {floor}: {attempts} attempts");
            assert!(attempts * 1000 <= bound, "{case} > bound {}", bound / 1000);
            // Short of the bound only by the first call's deposit (lost to a full
            // bucket) and the fraction of a token the last refusal left.
            assert!(attempts * 1000 + 2 * 1000 + u64::from(budget.ratio_milli) >= bound, "{case}: loose bound");
            assert!(attempts * 1000 * 10 >= bound * 9, "{case}");
        }
    }

    #[test]
    fn an_outage_spread_over_seconds_gets_the_floor_of_each_second() {
        let budget = RetryBudget::new().capacity(100).ratio(0.1).min_retries_per_second(10);
        // 10 000 calls, one per millisecond from 0.5 s: the span is 9.999 s,
        // which touches 11 whole seconds of the clock (0 to 10).
        let start = Duration::from_millis(500);
        let attempts = outage(&budget, 10_000, |call| start + Duration::from_millis(call));
        let bound = bound_milli(&budget, 10_000, Duration::from_millis(9_999));
        assert!(attempts * 1000 <= bound, "{attempts}");
        assert!(attempts * 1000 * 100 >= bound * 99, "{attempts} attempts, bound {bound}/1000");
        // A call stops at its first refusal, and nearly every call met one.
        assert!(budget.refusals() > 9_000, "{}", budget.refusals());
    }

    #[test]
    fn a_healthy_dependency_is_never_refused() {
        let budget = RetryBudget::new();
        for _ in 0..10_000 {
            budget.deposit();
        }
        assert_eq!((budget.refusals(), budget.tokens()), (0, 100.0));

        // Failures rarer than the ratio are always retried, whatever the floor:
        // one call in eleven fails once, and ten calls earn one token.
        let budget = RetryBudget::new().ratio(0.1).min_retries_per_second(0);
        for call in 0..100_000 {
            budget.deposit();
            if call % 11 == 0 {
                assert!(budget.try_retry_at(Duration::ZERO), "call {call}: {budget:?}");
            }
        }
        assert_eq!(budget.refusals(), 0);
        assert!(budget.tokens() >= 99.0, "{budget:?}");
    }

    #[test]
    fn the_floor_grants_its_retries_each_second_and_no_more() {
        let budget = RetryBudget::new().capacity(10).ratio(0.0).min_retries_per_second(3);
        let at = Duration::from_millis;
        // Half the bucket: 10 → 5 tokens.
        for _ in 0..5 {
            assert!(budget.try_retry_at(at(7_200)));
        }
        assert_eq!(budget.tokens(), 5.0);
        let granted = |now| (0..10).filter(|_| budget.try_retry_at(now)).count();
        assert_eq!(granted(at(7_200)), 3);
        assert_eq!(granted(at(7_999)), 0);
        assert_eq!(budget.refusals(), 17);
        assert_eq!(granted(at(8_000)), 3);
        // A late reading of an earlier second counts against the current one.
        assert_eq!(granted(at(7_500)), 0);
        assert_eq!(granted(at(9_100)), 3);
        assert_eq!(budget.tokens(), 5.0, "the floor never touches the bucket");

        let no_floor = RetryBudget::new().capacity(0).min_retries_per_second(0);
        assert!(!no_floor.try_retry_at(at(0)));
    }

    #[test]
    fn try_retry_reads_the_clock_only_when_the_bucket_refuses() {
        let budget = RetryBudget::new().capacity(4).ratio(0.0).min_retries_per_second(1);
        let reads = std::cell::Cell::new(0);
        let clock = || {
            reads.set(reads.get() + 1);
            Duration::ZERO
        };
        assert!(budget.try_withdraw_with(clock));
        assert!(budget.try_withdraw_with(clock));
        assert_eq!(reads.get(), 0);
        assert!(budget.try_withdraw_with(clock), "the floor");
        assert!(!budget.try_withdraw_with(clock));
        assert_eq!(reads.get(), 2);
    }

    #[test]
    fn concurrent_calls_neither_overdraw_nor_lose_tokens() {
        const THREADS: u64 = 8;
        const OPS: u64 = 10_000;
        // No floor, so every granted retry was paid for by the bucket.
        let budget = RetryBudget::new().capacity(100_000).ratio(0.5).min_retries_per_second(0);
        // Start exactly half full, so each withdrawal must be earned by a
        // deposit: 40 000 deposits earn 20 000 tokens, and the 40 000 retries
        // asked for can spend only those. The balance stays below 70 000, so
        // the capacity never clips a deposit.
        for _ in 0..50_000 {
            assert!(budget.try_retry_at(Duration::ZERO));
        }
        assert!(!budget.try_retry_at(Duration::ZERO));
        let half = f64::from(budget.capacity_milli / 2);
        let granted: u64 = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..THREADS)
                .map(|_| {
                    scope.spawn(|| {
                        let mut granted = 0;
                        for op in 0..OPS {
                            if op % 2 == 0 {
                                budget.deposit();
                            } else if budget.try_retry_at(Duration::ZERO) {
                                granted += 1;
                                let balance = f64::from(budget.balance.load(Relaxed));
                                assert!(balance >= half, "{balance} below half");
                            }
                        }
                        granted
                    })
                })
                .collect();
            workers.into_iter().map(|worker| worker.join().unwrap_or_default()).sum()
        });
        let deposits = THREADS * OPS / 2;
        let asked = THREADS * OPS / 2;
        let final_milli = u64::from(budget.balance.load(Relaxed));
        assert_eq!(final_milli, 50_000 * 1000 + deposits * 500 - granted * 1000, "granted {granted}");
        assert_eq!(budget.refusals(), 1 + asked - granted);
        // Both outcomes happened many times, so the check above is not vacuous.
        assert!(granted > 15_000 && asked - granted > 15_000, "granted {granted} of {asked}");
    }

    #[test]
    fn concurrent_refusals_share_one_floor() {
        let budget = RetryBudget::new().capacity(0).min_retries_per_second(25);
        let granted: usize = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| (0..1_000).filter(|_| budget.try_retry_at(Duration::from_secs(3))).count()))
                .collect();
            workers.into_iter().map(|worker| worker.join().unwrap_or_default()).sum()
        });
        assert_eq!(granted, 25);
        assert_eq!(budget.refusals(), 8_000 - 25);
    }

    #[test]
    fn nonsense_settings_never_panic_and_validate_names_them() {
        assert_eq!(RetryBudget::new().validate(), Ok(()));
        assert_eq!(RetryBudget::new().capacity(0).validate(), Err(BudgetError::ZeroCapacity));
        assert_eq!(RetryBudget::new().capacity(MAX_CAPACITY).validate(), Ok(()));
        assert_eq!(
            RetryBudget::new().capacity(MAX_CAPACITY + 1).validate(),
            Err(BudgetError::CapacityTooLarge(MAX_CAPACITY + 1))
        );
        for ratio in [-0.1, 1000.5, f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            assert!(
                matches!(RetryBudget::new().ratio(ratio).validate(), Err(BudgetError::RatioOutOfRange(_))),
                "{ratio}"
            );
        }
        assert_eq!(RetryBudget::new().ratio(0.0).validate(), Ok(()));
        assert_eq!(RetryBudget::new().ratio(1000.0).validate(), Ok(()));

        // Each nonsense value still gives a working budget.
        assert_eq!(RetryBudget::new().ratio(-3.0).tokens_per_call(), 0.0);
        assert_eq!(RetryBudget::new().ratio(f64::NAN).tokens_per_call(), 0.0);
        assert_eq!(RetryBudget::new().ratio(f64::INFINITY).tokens_per_call(), 1000.0);
        assert_eq!(RetryBudget::new().ratio(0.0004).tokens_per_call(), 0.0);
        assert_eq!(RetryBudget::new().ratio(0.0005).tokens_per_call(), 0.001);
        let huge = RetryBudget::new().capacity(u32::MAX).ratio(f64::MAX).min_retries_per_second(u32::MAX);
        assert_eq!(huge.max_tokens(), MAX_CAPACITY);
        assert!(huge.try_retry_at(Duration::from_secs(u64::MAX)));
        huge.deposit();
        assert_eq!(huge.tokens(), f64::from(MAX_CAPACITY));
        let floor_only = RetryBudget::new().capacity(0).min_retries_per_second(u32::MAX);
        assert!(floor_only.try_retry_at(Duration::MAX));
        assert!(floor_only.try_retry_at(Duration::MAX));
    }

    #[test]
    fn a_budget_is_a_static_and_shows_its_balance() {
        static SHARED: RetryBudget = RetryBudget::new().capacity(4).ratio(0.25).min_retries_per_second(0);
        assert!(SHARED.try_retry());
        SHARED.record_call();
        assert_eq!(
            format!("{SHARED:?}"),
            "RetryBudget { tokens: 3.25, capacity: 4, ratio: 0.25, min_retries_per_second: 0, refusals: 0, .. }"
        );
        assert_eq!(RetryBudget::default().tokens(), RetryBudget::new().tokens());
    }
}
