//! The proportional budget's retries ([`RetryBudget::new`]): one token per
//! retry, half the bucket kept in reserve, and a per-second floor.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use super::{MILLI, Paid, RetryBudget};

/// Asks for one retry, reading the time with `now` only if the bucket
/// refuses.
#[inline]
pub(super) fn withdraw(budget: &RetryBudget, now: impl FnOnce() -> Duration) -> Option<Paid> {
    // After paying one token, at least half the capacity must be left.
    // One compare-and-swap loop decides and pays: checking first and
    // paying after would let two calls both see the last token.
    let reserve = budget.capacity_milli / 2;
    let paid = budget
        .balance
        .fetch_update(Relaxed, Relaxed, |balance| balance.checked_sub(MILLI).filter(|after| *after >= reserve));
    if paid.is_ok() {
        return Some(Paid(MILLI));
    }
    if floor_grants(budget, now) {
        return Some(Paid(0));
    }
    budget.refused()
}

/// Grants one retry from this second's floor, if any is left.
#[inline(never)]
fn floor_grants(budget: &RetryBudget, now: impl FnOnce() -> Duration) -> bool {
    let per_second = budget.min_retries_per_second;
    if per_second == 0 {
        return false;
    }
    let second = u32::try_from(now().as_secs()).unwrap_or(u32::MAX);
    budget
        .floor
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

fn pack_floor(second: u32, granted: u32) -> u64 {
    (u64::from(second) << 32) | u64::from(granted)
}

#[allow(clippy::cast_possible_truncation, reason = "splitting a word in halves")]
fn unpack_floor(packed: u64) -> (u32, u32) {
    ((packed >> 32) as u32, packed as u32)
}

#[cfg(test)]
#[allow(clippy::float_cmp, reason = "balances and ratios are whole thousandths, exact in f64 after the one division")]
mod tests {
    use super::*;
    use crate::budget::BudgetError;
    use crate::budget::MAX_CAPACITY;

    const MAX_ATTEMPTS: u32 = 5;

    /// `calls` calls to a dependency that always fails, each retrying while
    /// the budget allows, up to `MAX_ATTEMPTS` attempts; call `i` asks at
    /// `now_of_call(i)`. Returns the attempts made.
    fn outage(budget: &RetryBudget, calls: u64, now_of_call: impl Fn(u64) -> Duration) -> u64 {
        let mut attempts = 0;
        for call in 0..calls {
            attempts += 1;
            budget.record_call();
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
            budget.record_call();
        }
        assert_eq!((budget.refusals(), budget.tokens()), (0, 100.0));

        // Failures rarer than the ratio are always retried, whatever the floor:
        // one call in eleven fails once, and ten calls earn one token.
        let budget = RetryBudget::new().ratio(0.1).min_retries_per_second(0);
        for call in 0..100_000 {
            budget.record_call();
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
        assert!(withdraw(&budget, clock).is_some());
        assert!(withdraw(&budget, clock).is_some());
        assert_eq!(reads.get(), 0);
        assert!(withdraw(&budget, clock).is_some(), "the floor");
        assert!(withdraw(&budget, clock).is_none());
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
                                budget.record_call();
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
        huge.record_call();
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
