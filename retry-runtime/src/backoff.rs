//! How the nominal delay grows from one retry to the next.

use std::time::Duration;

use crate::duration::{from_f64_nanos_clamped, to_f64_nanos};

/// The growth curve of the delay before retry `n` (1-based), before jitter.
///
/// | variant | delay before retry `n` |
/// |---|---|
/// | [`Exponential`](Backoff::Exponential) | `base · multiplier^(n−1)` |
/// | [`Linear`](Backoff::Linear) | `base · n` |
/// | [`Fixed`](Backoff::Fixed) | `base` |
///
/// Every value is capped by the policy's `cap`; the arithmetic saturates, so no
/// attempt number or duration can overflow it.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::{Backoff, Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::new()
///     .max_attempts(4)
///     .base(Duration::from_millis(100))
///     .backoff(Backoff::Linear)
///     .jitter(Jitter::None);
/// let delays: Vec<_> = policy.schedule().collect();
/// assert_eq!(delays, [100, 200, 300].map(Duration::from_millis));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Backoff {
    /// `base · multiplier^(n−1)`: the usual choice for remote calls.
    #[default]
    Exponential,
    /// `base · n`: gentler growth, for local contention such as a busy database file.
    Linear,
    /// `base` every time.
    Fixed,
}

impl Backoff {
    /// The nominal (un-jittered) delay before retry `retry` (1-based), at most `cap`.
    ///
    /// `retry = 0` is treated as 1. A multiplier below 1 or NaN is treated as 1.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::Backoff;
    ///
    /// let base = Duration::from_millis(100);
    /// let cap = Duration::from_secs(1);
    /// assert_eq!(Backoff::Exponential.delay(3, base, 2.0, cap), Duration::from_millis(400));
    /// assert_eq!(Backoff::Exponential.delay(u32::MAX, base, 2.0, cap), cap);
    /// ```
    pub fn delay(self, retry: u32, base: Duration, multiplier: f64, cap: Duration) -> Duration {
        let retry = retry.max(1);
        match self {
            Backoff::Fixed => base.min(cap),
            Backoff::Linear => base.saturating_mul(retry).min(cap),
            Backoff::Exponential => exponential(retry, base, multiplier, cap),
        }
    }
}

fn exponential(retry: u32, base: Duration, multiplier: f64, cap: Duration) -> Duration {
    // Written so that NaN also falls back to 1.
    let multiplier = if multiplier >= 1.0 { multiplier } else { 1.0 };
    let exponent = retry - 1;
    // A multiplier of (at most) 1 means no growth.
    if exponent == 0 || multiplier <= 1.0 {
        return base.min(cap);
    }
    // `powi` takes an `i32`; any exponent past `i32::MAX` is already infinite
    // for a multiplier above 1, and the clamp below turns that into `cap`.
    let exponent = i32::try_from(exponent).unwrap_or(i32::MAX);
    from_f64_nanos_clamped(to_f64_nanos(base) * multiplier.powi(exponent), cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn exponential_doubles_exactly() {
        let d: Vec<_> = (1..=5).map(|n| Backoff::Exponential.delay(n, 100 * MS, 2.0, Duration::MAX)).collect();
        assert_eq!(d, [100, 200, 400, 800, 1600].map(Duration::from_millis));
    }

    #[test]
    fn fractional_multiplier() {
        assert_eq!(Backoff::Exponential.delay(3, 100 * MS, 1.5, Duration::MAX), 225 * MS);
    }

    #[test]
    fn linear_and_fixed() {
        assert_eq!(Backoff::Linear.delay(3, 100 * MS, 9.0, Duration::MAX), 300 * MS);
        assert_eq!(Backoff::Fixed.delay(30, 100 * MS, 9.0, Duration::MAX), 100 * MS);
    }

    #[test]
    fn retry_zero_is_first_retry() {
        assert_eq!(Backoff::Exponential.delay(0, 100 * MS, 2.0, Duration::MAX), 100 * MS);
        assert_eq!(Backoff::Linear.delay(0, 100 * MS, 2.0, Duration::MAX), 100 * MS);
    }

    #[test]
    fn nonsense_multipliers_do_not_shrink_or_panic() {
        for m in [f64::NAN, -1.0, 0.0, 0.5] {
            assert_eq!(Backoff::Exponential.delay(10, 100 * MS, m, Duration::MAX), 100 * MS);
        }
        assert_eq!(Backoff::Exponential.delay(2, 100 * MS, f64::INFINITY, 5 * MS), 5 * MS);
    }

    #[test]
    fn saturates_at_the_extremes() {
        for backoff in [Backoff::Exponential, Backoff::Linear, Backoff::Fixed] {
            assert_eq!(backoff.delay(u32::MAX, Duration::MAX, f64::MAX, Duration::MAX), Duration::MAX);
            assert_eq!(backoff.delay(u32::MAX, Duration::MAX, 2.0, 7 * MS), 7 * MS);
        }
    }
}
