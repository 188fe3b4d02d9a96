//! Randomisation of delays, so that clients that failed together do not retry together.

use std::time::Duration;

use crate::duration::{from_f64_nanos_clamped, to_f64_nanos};
use crate::random::RandomSource;

/// How a nominal delay `d` (already capped) is randomised.
///
/// | variant | delay | from |
/// |---|---|---|
/// | [`None`](Jitter::None) | `d` | |
/// | [`Full`](Jitter::Full) | uniform `[0, d]` | AWS, "Exponential Backoff and Jitter" (2015) |
/// | [`Equal`](Jitter::Equal) | `d/2 +` uniform `[0, d/2]` | same study |
/// | [`Decorrelated`](Jitter::Decorrelated) | `min(cap,` uniform `[base, prev·3])`, `prev` starting at `base` | same study |
/// | [`Proportional(f)`](Jitter::Proportional) | uniform `[d·(1−f), d·(1+f)]`, then capped | gRPC, Polly |
///
/// Every result is at most the policy's `cap`. `Decorrelated` ignores the
/// [`Backoff`](crate::Backoff) curve and the multiplier: it grows from the
/// previous delay it drew.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::{Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::new()
///     .max_attempts(6)
///     .base(Duration::from_millis(100))
///     .cap(Duration::from_secs(1))
///     .jitter(Jitter::Equal);
/// for (retry, delay) in (1u32..).zip(policy.schedule_seeded(7)) {
///     let nominal = Duration::from_millis(100 * 2u64.pow(retry - 1)).min(Duration::from_secs(1));
///     assert!(delay >= nominal / 2 && delay <= nominal);
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Jitter {
    /// No randomisation: every client that failed together retries together.
    None,
    /// Uniform over `[0, d]`: the least total work under contention.
    #[default]
    Full,
    /// `d/2` plus uniform over `[0, d/2]`: never retries sooner than half the delay.
    Equal,
    /// `min(cap, uniform[base, prev·3])`, where `prev` is the previous drawn delay.
    Decorrelated,
    /// Uniform over `[d·(1−f), d·(1+f)]` for a factor `f` in `(0, 1]`, then capped.
    Proportional(f64),
}

impl Jitter {
    /// The `jitter = "…"` name of this strategy, as the attribute spells it.
    ///
    /// ```
    /// assert_eq!(retry_runtime::Jitter::Equal.name(), "equal");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Jitter::None => "none",
            Jitter::Full => "full",
            Jitter::Equal => "equal",
            Jitter::Decorrelated => "decorrelated",
            Jitter::Proportional(_) => "proportional",
        }
    }

    /// Randomises `nominal` (already capped) for every strategy but `Decorrelated`,
    /// whose draw depends on the previous delay (see [`decorrelated`]).
    pub(crate) fn apply(self, nominal: Duration, cap: Duration, random: &mut impl RandomSource) -> Duration {
        match self {
            Jitter::None | Jitter::Decorrelated => nominal,
            Jitter::Full => uniform(Duration::ZERO, nominal, cap, random),
            Jitter::Equal => {
                let half = nominal / 2;
                uniform(half, nominal, cap, random)
            }
            Jitter::Proportional(factor) => {
                // Out-of-range factors (only reachable through an unvalidated
                // policy) are clamped rather than producing negative delays.
                let factor = if factor > 0.0 { factor.min(1.0) } else { 0.0 };
                let nanos = to_f64_nanos(nominal);
                let low = nanos * (1.0 - factor);
                let high = nanos * (1.0 + factor);
                from_f64_nanos_clamped(low + (high - low) * random.unit(), cap)
            }
        }
    }
}

/// The AWS decorrelated-jitter draw: `min(cap, uniform[base, prev·3])`.
///
/// The upper bound is `prev·3` of the *previous draw*, so the sequence wanders
/// instead of growing on a fixed curve; it is never below `base` (unless `cap`
/// is) and never above `cap`. A `prev` below `base` (the first retry) counts as
/// `base`.
pub(crate) fn decorrelated(base: Duration, prev: Duration, cap: Duration, random: &mut impl RandomSource) -> Duration {
    let low = base.min(cap);
    let high = prev.max(base).saturating_mul(3);
    uniform(low, high, cap, random)
}

/// Uniform over `[low, high]` (swapped if reversed), at most `cap`.
fn uniform(low: Duration, high: Duration, cap: Duration, random: &mut impl RandomSource) -> Duration {
    let (low, high) = if low <= high { (low, high) } else { (high, low) };
    let low_nanos = to_f64_nanos(low);
    let span = to_f64_nanos(high) - low_nanos;
    from_f64_nanos_clamped(low_nanos + span * random.unit(), cap.min(high))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::Seeded;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn none_and_decorrelated_leave_nominal_alone() {
        let mut random = Seeded::new(1);
        assert_eq!(Jitter::None.apply(80 * MS, 100 * MS, &mut random), 80 * MS);
        assert_eq!(Jitter::Decorrelated.apply(80 * MS, 100 * MS, &mut random), 80 * MS);
    }

    #[test]
    fn proportional_at_the_cap_stays_at_or_below_it() {
        let mut random = Seeded::new(2);
        for _ in 0..1_000 {
            let d = Jitter::Proportional(0.5).apply(100 * MS, 100 * MS, &mut random);
            assert!((50 * MS..=100 * MS).contains(&d), "{d:?}");
        }
    }

    #[test]
    fn decorrelated_first_draw_is_between_base_and_three_base() {
        let mut random = Seeded::new(3);
        for _ in 0..1_000 {
            let d = decorrelated(10 * MS, Duration::ZERO, Duration::MAX, &mut random);
            assert!((10 * MS..=30 * MS).contains(&d), "{d:?}");
        }
    }

    #[test]
    fn decorrelated_never_exceeds_cap_even_from_a_huge_prev() {
        let mut random = Seeded::new(4);
        for _ in 0..1_000 {
            let d = decorrelated(10 * MS, Duration::MAX, 50 * MS, &mut random);
            assert!((10 * MS..=50 * MS).contains(&d), "{d:?}");
        }
    }
}
