//! The delay before each retry: backoff curve, then jitter, then cap.

use std::time::Duration;

use crate::jitter::{self, Jitter};
use crate::policy::RetryPolicy;
use crate::random::RandomSource;

/// The memory a delay sequence needs between retries: only decorrelated
/// jitter depends on the previous draw.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delays {
    previous: Duration,
}

impl Delays {
    pub(crate) const fn new() -> Self {
        Delays { previous: Duration::ZERO }
    }

    /// The delay before retry `retry` (1-based) under `policy`.
    ///
    /// The nominal delay is capped, jitter is applied to the capped value, and
    /// the result is capped again: jitter never collapses at the cap, and no
    /// delay exceeds it.
    #[inline]
    pub(crate) fn next(&mut self, policy: &RetryPolicy, retry: u32, random: &mut impl RandomSource) -> Duration {
        // Every strategy scales `base` (decorrelated draws from [base, 3·prev]),
        // so a zero base means zero delays: skip the float math and the draw.
        if policy.base.is_zero() {
            return Duration::ZERO;
        }
        self.next_scaled(*policy, retry, random)
    }

    /// [`Delays::next`] for a non-zero base: the float math and the draw.
    /// The policy is copied in: lending it out of line would make the
    /// caller keep its policy in memory and reload it after every attempt,
    /// where a constant one could have folded away.
    #[inline(never)]
    fn next_scaled(&mut self, policy: RetryPolicy, retry: u32, random: &mut impl RandomSource) -> Duration {
        if let Jitter::Decorrelated = policy.jitter {
            let delay = jitter::decorrelated(policy.base, self.previous, policy.cap, random);
            self.previous = delay;
            return delay;
        }
        let nominal = policy.backoff.delay(retry, policy.base, policy.multiplier, policy.cap);
        policy.jitter.apply(nominal, policy.cap, random).min(policy.cap)
    }
}
