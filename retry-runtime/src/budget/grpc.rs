//! gRPC retry throttling, exactly as gRFC A6 specifies it and grpc-java and
//! grpc-go implement it ([`RetryBudget::grpc`]).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use super::{BudgetMode, MILLI, Paid, RetryBudget, ratio_to_milli, tokens_to_milli};

impl RetryBudget {
    /// gRPC retry throttling ([gRFC A6]), exactly: `max_tokens` (`maxTokens`)
    /// and `token_ratio` (`tokenRatio`, kept to three decimal places,
    /// truncated: 0.5466 is 0.546), starting full.
    ///
    /// - Every failed attempt that the classifier calls transient
    ///   ([`Verdict::Retry`](crate::Verdict::Retry) or
    ///   [`RetryAfter`](crate::Verdict::RetryAfter)) costs one token, down to
    ///   zero: also the last attempt, one stopped by the deadline or the
    ///   breaker, and one this budget refuses to retry. A permanent error
    ///   ([`Verdict::Stop`](crate::Verdict::Stop)) costs nothing ("this
    ///   avoids conflating server failure with responses to malformed
    ///   requests", A6).
    /// - Every successful call earns `token_ratio`, up to `max_tokens`.
    /// - A retry is made only while the tokens, after the failure's cost,
    ///   are strictly above `max_tokens / 2`.
    /// - A server's pushback (a classifier's `Verdict::RetryAfter`) sets the
    ///   next delay, and the retries after it start the backoff curve again
    ///   at `base` ("retry delay will reset to initial backoff", A6).
    ///
    /// One difference remains: A6 also charges an attempt whose server
    /// pushback says not to retry, but [`classify::grpc`](crate::classify)
    /// answers [`Verdict::Stop`](crate::Verdict::Stop) for it, which the
    /// engine cannot tell from a permanent error, so it is not charged.
    ///
    /// This is grpc-java's `RetriableStream.Throttle` and grpc-go's
    /// `retryThrottler`: their throttling tests are ported as this module's
    /// tests.
    ///
    /// # The guarantee
    ///
    /// Calls that share it make at most `N + S · token_ratio + max_tokens / 2`
    /// attempts, where `N` is the number of calls and `S` those that
    /// succeeded (so at most `N · (1 + token_ratio) + max_tokens / 2`): each
    /// retry follows a failure that left the tokens above half, and the
    /// tokens above half are at most `max_tokens / 2` to start with plus what
    /// the successes earn. During an outage (`S` = 0), the retries of all
    /// the calls together are fewer than `max_tokens / 2`.
    ///
    /// ```
    /// use retry_runtime::{retry, BudgetMode, RetryBudget};
    ///
    /// // The example of A6's service config: `{"maxTokens": 10, "tokenRatio": 0.1}`.
    /// static PAYMENTS: RetryBudget = RetryBudget::grpc(10, 0.1);
    ///
    /// #[retry(max = 4, base = "0ms", budget = PAYMENTS)]
    /// fn charge(attempts: &mut u32) -> Result<(), &'static str> {
    ///     *attempts += 1;
    ///     Err("unavailable")
    /// }
    ///
    /// let mut attempts = 0;
    /// let _ = charge(&mut attempts); // 10 → 9 → 8 → 7 → 6: every failure costs one
    /// let _ = charge(&mut attempts); // 6 → 5: not above half, no retry
    /// assert_eq!(attempts, 5);
    /// assert_eq!(PAYMENTS.tokens(), 5.0);
    /// assert_eq!(PAYMENTS.mode(), BudgetMode::Grpc);
    /// ```
    ///
    /// [gRFC A6]: https://github.com/grpc/proposal/blob/master/A6-client-retries.md#throttling-retry-attempts-and-hedged-rpcs
    #[must_use]
    pub const fn grpc(max_tokens: u32, token_ratio: f64) -> Self {
        RetryBudget {
            mode: BudgetMode::Grpc,
            balance: AtomicU32::new(tokens_to_milli(max_tokens)),
            requested_capacity: max_tokens,
            capacity_milli: tokens_to_milli(max_tokens),
            requested_ratio: token_ratio,
            ratio_milli: ratio_to_milli(token_ratio, true),
            min_retries_per_second: 0,
            floor: AtomicU64::new(0),
            retry_cost: 0,
            timeout_cost: 0,
            refusals: AtomicU64::new(0),
        }
    }
}

/// A failed attempt costs one token, down to zero.
pub(super) fn charge_failure(budget: &RetryBudget) {
    // `Err` only means the bucket is empty already.
    let _ =
        budget.balance.fetch_update(Relaxed, Relaxed, |balance| (balance > 0).then(|| balance.saturating_sub(MILLI)));
}

/// A retry is allowed while the tokens are strictly above half; it costs
/// nothing more (its failure was charged).
#[inline]
pub(super) fn allows_retry(budget: &RetryBudget) -> Option<Paid> {
    if budget.balance.load(Relaxed) > budget.capacity_milli / 2 {
        return Some(Paid(0));
    }
    budget.refused()
}

#[cfg(test)]
#[allow(clippy::float_cmp, reason = "balances are whole thousandths, exact in f64 after the one division")]
mod tests {
    use std::time::Duration;

    use super::*;

    /// grpc-java's `Throttle.isAboveThreshold`.
    fn is_above_threshold(budget: &RetryBudget) -> bool {
        budget.tokens() > f64::from(budget.max_tokens()) / 2.0
    }

    /// grpc-java's `Throttle.onQualifiedFailureThenCheckIsAboveThreshold`:
    /// the engine's two events for a transient failure.
    fn on_qualified_failure_then_check_is_above_threshold(budget: &RetryBudget) -> bool {
        budget.attempt_failed(1, true);
        budget.retry_allowed(false, || Duration::ZERO).is_some()
    }

    /// grpc-java's `Throttle.onSuccess`.
    fn on_success(budget: &RetryBudget) {
        budget.first_try_succeeded();
    }

    /// Ported from grpc-java
    /// `core/src/test/java/io/grpc/internal/RetriableStreamTest.java`,
    /// `throttle()`: the same calls, the same answers, the same token counts
    /// in the comments.
    #[test]
    fn grpc_java_throttle_test() {
        let throttle = RetryBudget::grpc(4, 0.8);
        assert!(is_above_threshold(&throttle));
        assert!(on_qualified_failure_then_check_is_above_threshold(&throttle)); // token = 3
        assert!(is_above_threshold(&throttle));
        assert!(!on_qualified_failure_then_check_is_above_threshold(&throttle)); // token = 2
        assert!(!is_above_threshold(&throttle));
        assert!(!on_qualified_failure_then_check_is_above_threshold(&throttle)); // token = 1
        assert!(!on_qualified_failure_then_check_is_above_threshold(&throttle)); // token = 0
        assert!(!on_qualified_failure_then_check_is_above_threshold(&throttle)); // token = 0
        assert!(!on_qualified_failure_then_check_is_above_threshold(&throttle)); // token = 0
        assert!(!is_above_threshold(&throttle));
        assert_eq!(throttle.tokens(), 0.0);

        on_success(&throttle); // token = 0.8
        assert!(!is_above_threshold(&throttle));
        on_success(&throttle); // token = 1.6
        assert!(!is_above_threshold(&throttle));
        on_success(&throttle); // token = 2.4 (the Java comment says 3.2; 1.6 + 0.8 is 2.4)
        assert!(is_above_threshold(&throttle));
        on_success(&throttle); // token = 4
        assert!(is_above_threshold(&throttle));
        on_success(&throttle); // token = 4
        assert!(is_above_threshold(&throttle));
        on_success(&throttle); // token = 4
        assert!(is_above_threshold(&throttle));
        assert_eq!(throttle.tokens(), 4.0);

        assert!(is_above_threshold(&throttle));
        assert!(on_qualified_failure_then_check_is_above_threshold(&throttle)); // token = 3
        assert!(is_above_threshold(&throttle));
        assert!(!on_qualified_failure_then_check_is_above_threshold(&throttle)); // token = 2
        assert!(!is_above_threshold(&throttle));
    }

    /// Ported from grpc-java `RetriableStreamTest.java`,
    /// `throttledStream_FailWith{Retriable,NonRetriable}StatusCode_WithoutPushback`:
    /// another call's failure leaves 3 of 4 tokens; a retryable failure then
    /// costs one and is not retried, a non-retryable one costs nothing.
    #[test]
    fn grpc_java_throttled_stream_tests() {
        let retriable = RetryBudget::grpc(4, 0.8);
        assert!(on_qualified_failure_then_check_is_above_threshold(&retriable)); // count = 3
        retriable.attempt_failed(1, true);
        assert_eq!(retriable.retry_allowed(false, || Duration::ZERO), None, "postCommit: no retry");
        assert!(!is_above_threshold(&retriable)); // count = 2

        let non_retriable = RetryBudget::grpc(4, 0.8);
        assert!(on_qualified_failure_then_check_is_above_threshold(&non_retriable)); // count = 3
        non_retriable.attempt_failed(1, false);
        assert!(is_above_threshold(&non_retriable)); // count = 3
        assert!(!on_qualified_failure_then_check_is_above_threshold(&non_retriable)); // count = 2
    }

    /// Ported from grpc-go `test/retry_test.go`, `TestRetryThrottling`:
    /// `maxTokens` 10, `tokenRatio` 0.5, `MaxAttempts` 4; the server fails
    /// every request but those numbered 0, 3, 6, 10, 11, 12, 13, 14, 16 and
    /// 18, and after each of twelve calls the test checks its status and
    /// the number of the last request the server saw.
    #[test]
    fn grpc_go_retry_throttling() {
        const SUCCEEDS: [u32; 10] = [0, 3, 6, 10, 11, 12, 13, 14, 16, 18];
        // (the call succeeds, the last request number `i`), as in the Go table.
        let expected = [
            (true, 0),
            (true, 3),
            (true, 6),
            (false, 8),
            (false, 9),
            (true, 10),
            (true, 11),
            (true, 12),
            (true, 13),
            (true, 14),
            (true, 16),
            (false, 17),
        ];
        let budget = RetryBudget::grpc(10, 0.5);
        let mut requests = 0; // the next request's number
        for (call, (succeeds, last_request)) in expected.into_iter().enumerate() {
            let mut failures = 0;
            let succeeded = loop {
                let request = requests;
                requests += 1;
                if SUCCEEDS.contains(&request) {
                    if failures == 0 {
                        budget.first_try_succeeded();
                    } else {
                        budget.succeeded_after_retries(Paid(0));
                    }
                    break true;
                }
                failures += 1;
                budget.attempt_failed(failures, true);
                if failures >= 4 || budget.retry_allowed(false, || Duration::ZERO).is_none() {
                    break false;
                }
            };
            assert_eq!((succeeded, requests - 1), (succeeds, last_request), "call {call}: {budget:?}");
        }
        // 18 requests reached the server (the proportional budget let 22 through).
        assert_eq!(requests, 18);
        assert_eq!(budget.tokens(), 5.0);
    }

    #[test]
    fn token_ratio_is_truncated_to_three_decimals_as_a6_says() {
        assert_eq!(RetryBudget::grpc(10, 0.5466).tokens_per_call(), 0.546);
        assert_eq!(RetryBudget::grpc(10, 0.1).tokens_per_call(), 0.1);
        assert_eq!(RetryBudget::grpc(10, 0.0999).tokens_per_call(), 0.099);
        assert_eq!(RetryBudget::grpc(10, 0.0999).ratio(0.8).tokens_per_call(), 0.8);
        assert_eq!(
            RetryBudget::grpc(10, 0.0009).validate(),
            Err(super::super::BudgetError::TokenRatioTooSmall(0.0009))
        );
        assert_eq!(RetryBudget::grpc(10, 0.001).validate(), Ok(()));
    }

    /// `calls` calls of at most `max_attempts` attempts, each failing unless
    /// `succeeds(call, attempt)`; returns (attempts, successful calls).
    fn drive(budget: &RetryBudget, calls: u64, max_attempts: u32, succeeds: impl Fn(u64, u32) -> bool) -> (u64, u64) {
        let (mut attempts, mut successes) = (0, 0);
        for call in 0..calls {
            for attempt in 1..=max_attempts {
                attempts += 1;
                if succeeds(call, attempt) {
                    successes += 1;
                    if attempt == 1 {
                        budget.first_try_succeeded();
                    } else {
                        budget.succeeded_after_retries(Paid(0));
                    }
                    break;
                }
                budget.attempt_failed(attempt, true);
                if attempt == max_attempts || budget.retry_allowed(false, || Duration::ZERO).is_none() {
                    break;
                }
            }
        }
        (attempts, successes)
    }

    #[test]
    fn calls_make_at_most_the_documented_attempts() {
        for (max_tokens, ratio) in [(10, 0.1), (100, 0.5), (7, 0.333), (1000, 1.0), (3, 0.1)] {
            // An outage: fewer than max_tokens / 2 retries in all, and exactly
            // as many as the tokens above half allow.
            let budget = RetryBudget::grpc(max_tokens, ratio);
            let (attempts, _) = drive(&budget, 10_000, 1_000, |_, _| false);
            let retries = attempts - 10_000;
            assert_eq!(retries, u64::from(max_tokens.div_ceil(2) - 1), "{budget:?}");
            assert_eq!(budget.tokens(), 0.0);

            // Mixed traffic: every third call's attempts fail, and the others
            // succeed on a pattern of attempts.
            let budget = RetryBudget::grpc(max_tokens, ratio);
            let calls = 30_000;
            let (attempts, successes) =
                drive(&budget, calls, 5, |call, attempt| call % 3 != 0 && (call + u64::from(attempt)) % 4 == 0);
            let bound_milli =
                calls * 1000 + successes * u64::from(budget.ratio_milli) + u64::from(budget.capacity_milli / 2);
            assert!(attempts * 1000 <= bound_milli, "{attempts} attempts > {bound_milli}/1000, {budget:?}");
            assert!(attempts > calls, "some retries were made");
        }
    }
}
