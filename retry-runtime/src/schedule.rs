//! The delay before each retry: backoff curve, then jitter, then cap.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::jitter::{self, Jitter};
use crate::random::RandomSource;

/// The memory a delay sequence needs between retries: decorrelated jitter
/// depends on the previous draw, and a restarted curve on where it restarted.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Delays {
    previous: Duration,
    /// The retries before the curve restarted at `base` (see
    /// [`Delays::restart_after`]); 0 when it never did.
    restarted_after: u32,
}

impl Delays {
    pub(crate) const fn new() -> Self {
        Delays { previous: Duration::ZERO, restarted_after: 0 }
    }

    /// Starts the curve again at `base` for the retries after retry
    /// `retry`, whose delay came from elsewhere (a server's pushback, which
    /// gRFC A6 says resets the backoff to its initial value).
    pub(crate) fn restart_after(&mut self, retry: u32) {
        self.restarted_after = retry;
        self.previous = Duration::ZERO;
    }

    /// The delay before retry `retry` (1-based) on `curve`.
    ///
    /// The nominal delay is capped, jitter is applied to the capped value, and
    /// the result is capped again: jitter never collapses at the cap, and no
    /// delay exceeds it.
    #[cfg_attr(not(debug_assertions), inline(always))]
    #[cfg_attr(debug_assertions, inline)]
    pub(crate) fn next(&mut self, curve: Curve, retry: u32, random: &mut impl RandomSource) -> Duration {
        // Every strategy scales `base` (decorrelated draws from [base, 3·prev]),
        // so a zero base means zero delays: skip the float math and the draw.
        if curve.base.is_zero() {
            return Duration::ZERO;
        }
        let delay = scaled(self.previous, curve, retry.saturating_sub(self.restarted_after), random);
        if let Jitter::Decorrelated = curve.jitter {
            self.previous = delay;
        }
        delay
    }
}

/// [`Delays::next`] for a non-zero base: the float math and the draw, out
/// of line (a sleep follows anyway). Given the previous delay by value:
/// lent the memory, the caller would have to keep it in memory.
#[inline(never)]
fn scaled(previous: Duration, curve: Curve, retry: u32, random: &mut impl RandomSource) -> Duration {
    if let Jitter::Decorrelated = curve.jitter {
        return jitter::decorrelated(curve.base, previous, curve.cap, random);
    }
    let nominal = curve.backoff.delay(retry, curve.base, curve.multiplier, curve.cap);
    curve.jitter.apply(nominal, curve.cap, random).min(curve.cap)
}

/// What a delay is computed from: a policy without its limits
/// (`RetryPolicy::curve`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Curve {
    pub(crate) base: Duration,
    pub(crate) cap: Duration,
    pub(crate) multiplier: f64,
    pub(crate) backoff: Backoff,
    pub(crate) jitter: Jitter,
}
