//! The AWS SDKs' standard retry quota ([`RetryBudget::aws_standard`]).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use super::{BudgetMode, MILLI, Paid, RetryBudget, tokens_to_milli};

impl RetryBudget {
    /// The AWS SDKs' standard retry quota ([retry behavior][aws]): a
    /// capacity of 500, starting full.
    ///
    /// - A retry costs [`retry_cost`](RetryBudget::retry_cost) (5), or
    ///   [`timeout_cost`](RetryBudget::timeout_cost) (10) when the failed
    ///   attempt timed out (the `#[retry(timeout = …)]` of an async
    ///   function ran out); it is made only if the quota still holds the
    ///   cost, so the quota can drain to zero.
    /// - A call that succeeds after retries refunds its last retry's cost; a
    ///   call that succeeds at the first try earns one token (the SDKs'
    ///   `NoRetryIncrement`; set with [`ratio`](RetryBudget::ratio)); both up
    ///   to the capacity. A call that fails gives nothing back.
    ///
    /// These are botocore's `RetryQuotaChecker`, aws-sdk-go-v2's
    /// `retry.Standard` with its `ratelimit.TokenRateLimit`, and the Rust
    /// SDK's standard retry strategy; botocore's quota tests are ported as
    /// this module's tests.
    ///
    /// # The guarantee
    ///
    /// Calls that share it make at most
    /// `N + N₂ + (capacity + N₁ · earned) / min(retry_cost, timeout_cost)`
    /// attempts, where `N` is the number of calls, `N₁` those that succeeded
    /// at the first try (`earned`: what each earns, 1) and `N₂` those that
    /// succeeded after retries: every retry but the refunded last ones is
    /// paid for from the capacity or the first-try successes' earnings.
    /// During an outage, the retries of all the calls together are at most
    /// `capacity / retry_cost` (100 with the defaults).
    ///
    /// ```
    /// use retry_runtime::{retry, RetryBudget};
    ///
    /// static S3: RetryBudget = RetryBudget::aws_standard().capacity(20);
    ///
    /// #[retry(max = 3, base = "0ms", budget = S3)]
    /// fn put(attempts: &mut u32) -> Result<(), &'static str> {
    ///     *attempts += 1;
    ///     Err("503 SlowDown")
    /// }
    ///
    /// let mut attempts = 0;
    /// for _ in 0..5 {
    ///     let _ = put(&mut attempts);
    /// }
    /// // 20 tokens paid for 4 retries of 5: 5 first attempts, 4 retries.
    /// assert_eq!(attempts, 9);
    /// assert_eq!(S3.tokens(), 0.0);
    /// ```
    ///
    /// [aws]: https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
    #[must_use]
    pub const fn aws_standard() -> Self {
        RetryBudget {
            mode: BudgetMode::AwsStandard,
            balance: AtomicU32::new(500 * MILLI),
            requested_capacity: 500,
            capacity_milli: 500 * MILLI,
            requested_ratio: 1.0,
            ratio_milli: MILLI,
            min_retries_per_second: 0,
            floor: AtomicU64::new(0),
            retry_cost: 5,
            timeout_cost: 10,
            refusals: AtomicU64::new(0),
        }
    }

    /// Sets what a retry costs in the AWS mode (5 by default), in tokens.
    ///
    /// [`validate`](RetryBudget::validate) rejects 0, a cost above the
    /// capacity, and a cost on a budget of another mode.
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// let budget = RetryBudget::aws_standard().capacity(100).retry_cost(20);
    /// for _ in 0..5 {
    ///     assert!(budget.try_retry());
    /// }
    /// assert!(!budget.try_retry());
    /// ```
    #[must_use]
    pub const fn retry_cost(mut self, tokens: u32) -> Self {
        self.retry_cost = tokens;
        self
    }

    /// Sets what a retry after a timeout costs in the AWS mode (10 by
    /// default), in tokens.
    ///
    /// ```
    /// use retry_runtime::RetryBudget;
    ///
    /// let budget = RetryBudget::aws_standard().timeout_cost(25);
    /// assert_eq!(budget.validate(), Ok(()));
    /// assert!(format!("{budget:?}").contains("timeout_cost: 25"));
    /// ```
    #[must_use]
    pub const fn timeout_cost(mut self, tokens: u32) -> Self {
        self.timeout_cost = tokens;
        self
    }
}

/// Takes the retry's cost from the quota, if it holds that much.
#[inline]
pub(super) fn acquire(budget: &RetryBudget, after_timeout: bool) -> Option<Paid> {
    let cost = tokens_to_milli(if after_timeout { budget.timeout_cost } else { budget.retry_cost });
    if budget.balance.fetch_update(Relaxed, Relaxed, |balance| balance.checked_sub(cost)).is_ok() {
        return Some(Paid(cost));
    }
    budget.refused()
}

#[cfg(test)]
#[allow(clippy::float_cmp, reason = "balances are whole thousandths, exact in f64 after the one division")]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::budget::BudgetError;

    fn acquire_retry_quota(budget: &RetryBudget, is_timeout_error: bool) -> Option<Paid> {
        budget.retry_allowed(is_timeout_error, || Duration::ZERO)
    }

    /// Ported from botocore `tests/unit/retries/test_standard.py`,
    /// `TestRetryQuotaChecker` (a quota of 500; `retry_quota_capacity` in
    /// the request context is what we call the last retry's payment).
    #[test]
    fn botocore_retry_quota_checker() {
        // test_can_acquire_quota_non_timeout_error
        let quota = RetryBudget::aws_standard();
        assert_eq!(acquire_retry_quota(&quota, false), Some(Paid(5 * MILLI)));
        // test_can_acquire_quota_for_timeout_error
        let quota = RetryBudget::aws_standard();
        assert_eq!(acquire_retry_quota(&quota, true), Some(Paid(10 * MILLI)));

        // test_can_release_quota_based_on_context_value_on_success
        let quota = RetryBudget::aws_standard();
        let paid = acquire_retry_quota(&quota, false);
        assert_eq!(quota.tokens(), 495.0);
        quota.succeeded_after_retries(paid.unwrap_or_default());
        assert_eq!(quota.tokens(), 500.0);

        // test_dont_release_quota_if_all_retries_failed: the call's last
        // attempt failed, so nothing is released.
        let quota = RetryBudget::aws_standard();
        assert!(acquire_retry_quota(&quota, false).is_some());
        assert_eq!(quota.tokens(), 495.0);
        quota.attempt_failed(2, true);
        assert_eq!(quota.tokens(), 495.0);

        // test_can_release_default_quota_if_not_in_context: a success with no
        // retries releases only 1 unit.
        let quota = RetryBudget::aws_standard();
        assert!(acquire_retry_quota(&quota, false).is_some());
        assert_eq!(quota.tokens(), 495.0);
        quota.first_try_succeeded();
        assert_eq!(quota.tokens(), 496.0);

        // test_acquire_quota_fails: a quota of 5 pays for one retry, no more.
        let quota = RetryBudget::aws_standard().capacity(5);
        assert!(acquire_retry_quota(&quota, false).is_some());
        assert_eq!(acquire_retry_quota(&quota, false), None);

        // test_quota_reached_adds_retry_metadata: a quota of 0 refuses, and
        // says so (botocore's `RetryQuotaReached`, our refusal count).
        let quota = RetryBudget::aws_standard().capacity(0);
        assert_eq!(acquire_retry_quota(&quota, false), None);
        assert_eq!(quota.refusals(), 1);

        // test_single_failed_request_does_not_give_back_quota
        let quota = RetryBudget::aws_standard().retry_cost(50);
        assert!(acquire_retry_quota(&quota, false).is_some());
        assert_eq!(quota.tokens(), 450.0);
        quota.attempt_failed(1, true);
        assert_eq!(quota.tokens(), 450.0);
    }

    /// Ported from botocore `tests/unit/retries/test_quota.py`,
    /// `TestRetryQuota` (a quota of 50; `acquire(n)` is a retry costing `n`,
    /// `release(n)` a success refunding `n`).
    #[test]
    fn botocore_retry_quota() {
        let acquire = |quota: &RetryBudget, amount: u32| {
            // The timeout cost stands for any second amount.
            let timeout = amount == quota.timeout_cost;
            acquire_retry_quota(quota, timeout)
        };
        let release = |quota: &RetryBudget, amount: u32| quota.succeeded_after_retries(Paid(amount * MILLI));

        // test_can_acquire_amount
        let quota = RetryBudget::aws_standard().capacity(50);
        assert!(acquire(&quota, 5).is_some());
        assert_eq!(quota.tokens(), 45.0);
        // test_can_release_amount
        release(&quota, 5);
        assert_eq!(quota.tokens(), 50.0);
        // test_cant_exceed_max_capacity
        assert!(acquire(&quota, 5).is_some());
        release(&quota, 10);
        assert_eq!(quota.tokens(), 50.0);
        // test_noop_if_at_max_capacity
        release(&quota, 10);
        assert_eq!(quota.tokens(), 50.0);
        // test_cant_go_below_zero
        let quota = RetryBudget::aws_standard().capacity(50).retry_cost(49);
        assert!(acquire(&quota, 49).is_some());
        assert_eq!(quota.tokens(), 1.0);
        assert_eq!(acquire(&quota, 10), None);
        assert_eq!(quota.tokens(), 1.0);
    }

    /// Ported from aws-smithy-runtime's standard retry strategy tests
    /// (`src/client/retries/strategy/standard.rs`, `no_quota`): a bucket of
    /// 5 pays for one retry and is left at 0; the next retry is refused and
    /// the bucket stays at 0.
    #[test]
    fn smithy_no_quota() {
        let quota = RetryBudget::aws_standard().capacity(5);
        assert!(acquire_retry_quota(&quota, false).is_some());
        assert_eq!(quota.tokens(), 0.0);
        assert_eq!(acquire_retry_quota(&quota, false), None);
        assert_eq!(quota.tokens(), 0.0);
    }

    #[test]
    fn a_success_refunds_only_the_last_retry() {
        let quota = RetryBudget::aws_standard();
        // A timeout, then a 503, then a success: 10 + 5 paid, the last 5 refunded.
        assert!(acquire_retry_quota(&quota, true).is_some());
        let last = acquire_retry_quota(&quota, false).unwrap_or_default();
        assert_eq!(quota.tokens(), 485.0);
        quota.succeeded_after_retries(last);
        assert_eq!(quota.tokens(), 490.0);
    }

    #[test]
    fn a_refunded_retry_that_was_never_made_goes_back() {
        let quota = RetryBudget::aws_standard();
        let paid = acquire_retry_quota(&quota, true).unwrap_or_default();
        assert_eq!(quota.tokens(), 490.0);
        quota.refund(paid);
        assert_eq!(quota.tokens(), 500.0);
    }

    /// `calls` calls of at most `max_attempts` attempts, failing (timing out
    /// when `times_out`) unless `succeeds(call, attempt)`; returns
    /// (attempts, first-try successes, successes after retries).
    fn drive(
        budget: &RetryBudget,
        calls: u64,
        max_attempts: u32,
        succeeds: impl Fn(u64, u32) -> bool,
        times_out: impl Fn(u64, u32) -> bool,
    ) -> (u64, u64, u64) {
        let (mut attempts, mut first_try, mut after_retries) = (0, 0, 0);
        for call in 0..calls {
            let mut last = Paid(0);
            for attempt in 1..=max_attempts {
                attempts += 1;
                if succeeds(call, attempt) {
                    if attempt == 1 {
                        first_try += 1;
                        budget.first_try_succeeded();
                    } else {
                        after_retries += 1;
                        budget.succeeded_after_retries(last);
                    }
                    break;
                }
                budget.attempt_failed(attempt, true);
                if attempt == max_attempts {
                    break;
                }
                match budget.retry_allowed(times_out(call, attempt), || Duration::ZERO) {
                    Some(paid) => last = paid,
                    None => break,
                }
            }
        }
        (attempts, first_try, after_retries)
    }

    #[test]
    fn calls_make_at_most_the_documented_attempts() {
        // An outage: exactly capacity / cost retries in all, and the quota drains to zero.
        for (capacity, cost, timeouts) in [(500, 5, false), (500, 5, true), (37, 5, false), (10, 3, false)] {
            let budget = RetryBudget::aws_standard().capacity(capacity).retry_cost(cost);
            let (attempts, ..) = drive(&budget, 1_000, 1_000, |_, _| false, |_, _| timeouts);
            let per_retry = if timeouts { 10 } else { cost };
            assert_eq!(attempts - 1_000, u64::from(capacity / per_retry), "{budget:?}");
            assert_eq!(budget.tokens(), f64::from(capacity % per_retry));
        }
        // Mixed traffic, some attempts timing out.
        for (capacity, cost, timeout_cost) in [(500, 5, 10), (50, 5, 10), (20, 7, 3)] {
            let budget = RetryBudget::aws_standard().capacity(capacity).retry_cost(cost).timeout_cost(timeout_cost);
            let calls = 30_000;
            let (attempts, first_try, after_retries) = drive(
                &budget,
                calls,
                4,
                |call, attempt| call % 3 != 0 && (call + u64::from(attempt)) % 5 == 0,
                |call, attempt| (call * 7 + u64::from(attempt)) % 3 == 0,
            );
            let min_cost = u64::from(cost.min(timeout_cost));
            let bound = calls + after_retries + (u64::from(capacity) + first_try) / min_cost;
            assert!(attempts <= bound, "{attempts} attempts > {bound}, {budget:?}");
            assert!(attempts > calls + after_retries, "some unrefunded retries were made");
        }
    }

    #[test]
    fn costs_are_validated_against_the_mode_and_the_capacity() {
        assert_eq!(RetryBudget::aws_standard().validate(), Ok(()));
        assert_eq!(
            RetryBudget::aws_standard().timeout_cost(0).validate(),
            Err(BudgetError::CostOutOfRange("timeout_cost", 0))
        );
        assert_eq!(
            RetryBudget::aws_standard().capacity(8).validate(),
            Err(BudgetError::CostOutOfRange("timeout_cost", 10))
        );
        assert_eq!(
            RetryBudget::new().retry_cost(5).validate(),
            Err(BudgetError::NotInMode("retry_cost", BudgetMode::Proportional))
        );
        assert_eq!(
            RetryBudget::grpc(10, 0.1).timeout_cost(5).validate(),
            Err(BudgetError::NotInMode("timeout_cost", BudgetMode::Grpc))
        );
        assert_eq!(
            RetryBudget::aws_standard().min_retries_per_second(1).validate(),
            Err(BudgetError::NotInMode("min_retries_per_second", BudgetMode::AwsStandard))
        );
        // An unvalidated huge cost clamps instead of overflowing, and refuses.
        let huge = RetryBudget::aws_standard().retry_cost(u32::MAX);
        assert!(!huge.try_retry());
    }
}
