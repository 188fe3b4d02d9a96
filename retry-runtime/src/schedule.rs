//! The delay before each retry: backoff curve, then jitter, then cap.

use std::time::Duration;

use crate::backoff::Backoff;
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
        let curve = Curve {
            base: policy.base,
            cap: policy.cap,
            multiplier: policy.multiplier,
            backoff: policy.backoff,
            jitter: policy.jitter,
        };
        self.next_scaled(curve, retry, random)
    }

    /// [`Delays::next`] for a non-zero base: the float math and the draw.
    /// Given the curve, built here, rather than the policy: a copy of the
    /// caller's policy would be elided and the policy itself lent out of
    /// line, which makes the caller build it in memory before its first
    /// attempt, and reload it after each.
    #[inline(never)]
    fn next_scaled(&mut self, curve: Curve, retry: u32, random: &mut impl RandomSource) -> Duration {
        if let Jitter::Decorrelated = curve.jitter {
            let delay = jitter::decorrelated(curve.base, self.previous, curve.cap, random);
            self.previous = delay;
            return delay;
        }
        let nominal = curve.backoff.delay(retry, curve.base, curve.multiplier, curve.cap);
        curve.jitter.apply(nominal, curve.cap, random).min(curve.cap)
    }
}

/// What a delay is computed from: the policy without its limits.
#[derive(Clone, Copy)]
struct Curve {
    base: Duration,
    cap: Duration,
    multiplier: f64,
    backoff: Backoff,
    jitter: Jitter,
}
