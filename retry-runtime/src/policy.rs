//! What a retry loop does: how many attempts, how long between them, and for how long in all.

use std::time::Duration;

use crate::backoff::Backoff;
use crate::jitter::Jitter;
use crate::random::{PerThread, RandomSource, Seeded};
use crate::schedule::{Curve, Delays};

/// A retry policy: plain data, built with chained setters.
///
/// Every field has a sensible default ([`RetryPolicy::new`]): 3 attempts,
/// 100 ms base, 30 s cap, exponential backoff doubling each retry, full jitter,
/// no deadline. The setters are `const fn`, so a policy can live in a `const` or
/// a `static`; they accept any value, and [`validate`](RetryPolicy::validate)
/// rejects the nonsensical ones (the `#[retry]` attribute checks the same
/// rules at compile time). An unvalidated policy still never panics: zero
/// attempts runs once, a multiplier below 1 counts as 1, and every delay is
/// at most `cap`.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::{Backoff, Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::new()
///     .max_attempts(5)
///     .base(Duration::from_millis(50))
///     .cap(Duration::from_secs(2))
///     .multiplier(3.0)
///     .backoff(Backoff::Exponential)
///     .jitter(Jitter::Equal)
///     .deadline(Duration::from_secs(10))
///     .validate()?;
/// assert_eq!(policy.max_attempts, 5);
/// # Ok::<(), retry_runtime::PolicyError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Total attempts, the first included: `1` means no retry.
    pub max_attempts: u32,
    /// The delay before the first retry (before jitter).
    pub base: Duration,
    /// The upper bound on any single delay, after jitter.
    pub cap: Duration,
    /// The growth factor of [`Backoff::Exponential`].
    pub multiplier: f64,
    /// The growth curve of the delay.
    pub backoff: Backoff,
    /// How each delay is randomised.
    pub jitter: Jitter,
    /// The total time budget, measured from the start of the first attempt.
    /// A retry whose sleep would end past it is not made.
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryPolicy {
    /// The default policy: 3 attempts, 100 ms base, 30 s cap, ×2 exponential, full jitter.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = retry_runtime::RetryPolicy::new();
    /// assert_eq!((policy.max_attempts, policy.base), (3, Duration::from_millis(100)));
    /// ```
    pub const fn new() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(30),
            multiplier: 2.0,
            backoff: Backoff::Exponential,
            jitter: Jitter::Full,
            deadline: None,
        }
    }

    /// Sets the total number of attempts, the first included (`1` disables retrying).
    ///
    /// ```
    /// assert_eq!(retry_runtime::RetryPolicy::new().max_attempts(1).schedule().count(), 0);
    /// ```
    #[must_use]
    pub const fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets the delay before the first retry.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = retry_runtime::RetryPolicy::new().base(Duration::from_millis(5));
    /// assert_eq!(policy.base, Duration::from_millis(5));
    /// ```
    #[must_use]
    pub const fn base(mut self, base: Duration) -> Self {
        self.base = base;
        self
    }

    /// Sets the upper bound on any single delay.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::{Jitter, RetryPolicy};
    /// let policy = RetryPolicy::new().max_attempts(10).cap(Duration::from_millis(300)).jitter(Jitter::None);
    /// assert!(policy.schedule().all(|d| d <= Duration::from_millis(300)));
    /// ```
    #[must_use]
    pub const fn cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// Sets the growth factor of [`Backoff::Exponential`] (at least 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::{Jitter, RetryPolicy};
    /// let policy = RetryPolicy::new().multiplier(3.0).jitter(Jitter::None);
    /// assert_eq!(policy.schedule().nth(1), Some(Duration::from_millis(300)));
    /// ```
    #[must_use]
    pub const fn multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = multiplier;
        self
    }

    /// Sets the growth curve.
    ///
    /// ```
    /// use retry_runtime::{Backoff, RetryPolicy};
    /// assert_eq!(RetryPolicy::new().backoff(Backoff::Fixed).backoff, Backoff::Fixed);
    /// ```
    #[must_use]
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Sets the jitter strategy.
    ///
    /// ```
    /// use retry_runtime::{Jitter, RetryPolicy};
    /// assert_eq!(RetryPolicy::new().jitter(Jitter::Equal).jitter, Jitter::Equal);
    /// ```
    #[must_use]
    pub const fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the total time budget, measured from the start of the first attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = retry_runtime::RetryPolicy::new().deadline(Duration::from_secs(2));
    /// assert_eq!(policy.deadline, Some(Duration::from_secs(2)));
    /// ```
    #[must_use]
    pub const fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Removes the deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// let policy = retry_runtime::RetryPolicy::new().deadline(Duration::from_secs(2)).no_deadline();
    /// assert_eq!(policy.deadline, None);
    /// ```
    #[must_use]
    pub const fn no_deadline(mut self) -> Self {
        self.deadline = None;
        self
    }

    /// Returns the policy if its values make sense, or says which one does not.
    ///
    /// Use it on policies built from configuration; the `#[retry]` attribute
    /// checks the same rules at compile time.
    ///
    /// # Errors
    /// The first rule the policy breaks: zero attempts, a multiplier below 1
    /// (or not finite), a proportional jitter factor outside `(0, 1]`, or a
    /// `cap` below `base`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::{PolicyError, RetryPolicy};
    ///
    /// let err = RetryPolicy::new().max_attempts(0).validate().unwrap_err();
    /// assert_eq!(err, PolicyError::ZeroAttempts);
    /// assert_eq!(err.to_string(), "max_attempts must be at least 1 (the first attempt counts)");
    ///
    /// let err = RetryPolicy::new().base(Duration::from_secs(5)).cap(Duration::from_secs(1)).validate();
    /// assert!(matches!(err, Err(PolicyError::CapBelowBase { .. })));
    /// ```
    pub fn validate(self) -> Result<Self, PolicyError> {
        if self.max_attempts == 0 {
            return Err(PolicyError::ZeroAttempts);
        }
        // Written so that NaN fails too.
        if !(self.multiplier >= 1.0 && self.multiplier.is_finite()) {
            return Err(PolicyError::MultiplierBelowOne(self.multiplier));
        }
        if let Jitter::Proportional(factor) = self.jitter
            && !(factor > 0.0 && factor <= 1.0)
        {
            return Err(PolicyError::JitterFactorOutOfRange(factor));
        }
        if self.cap < self.base {
            return Err(PolicyError::CapBelowBase { cap: self.cap, base: self.base });
        }
        Ok(self)
    }

    /// What the delays are computed from.
    pub(crate) const fn curve(&self) -> Curve {
        Curve {
            base: self.base,
            cap: self.cap,
            multiplier: self.multiplier,
            backoff: self.backoff,
            jitter: self.jitter,
        }
    }

    /// The delays before retry 1, 2, …, `max_attempts − 1`, drawn from a
    /// generator seeded with `seed`: the same seed gives the same delays.
    ///
    /// Lazy: nothing is allocated, whatever `max_attempts` is. This is the
    /// same computation the `#[retry]` loop performs.
    ///
    /// ```
    /// use retry_runtime::RetryPolicy;
    /// let policy = RetryPolicy::new().max_attempts(5);
    /// let a: Vec<_> = policy.schedule_seeded(42).collect();
    /// let b: Vec<_> = policy.schedule_seeded(42).collect();
    /// assert_eq!(a, b);
    /// assert_eq!(a.len(), 4);
    /// ```
    pub fn schedule_seeded(&self, seed: u64) -> impl Iterator<Item = std::time::Duration> + use<> {
        Schedule::new(*self, Seeded::new(seed))
    }

    /// The delays before retry 1, 2, …, `max_attempts − 1`, drawn from the
    /// calling thread's fast generator.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::RetryPolicy;
    /// let policy = RetryPolicy::new().max_attempts(u32::MAX).cap(Duration::from_secs(1));
    /// // Lazy, so even four billion retries cost nothing until drawn.
    /// assert!(policy.schedule().take(100).all(|d| d <= Duration::from_secs(1)));
    /// ```
    pub fn schedule(&self) -> impl Iterator<Item = std::time::Duration> + use<> {
        Schedule::new(*self, PerThread)
    }
}

/// Why a [`RetryPolicy`] was rejected by [`RetryPolicy::validate`].
///
/// ```
/// use retry_runtime::{PolicyError, RetryPolicy};
/// let error = RetryPolicy::new().multiplier(0.5).validate().unwrap_err();
/// assert_eq!(error, PolicyError::MultiplierBelowOne(0.5));
/// assert_eq!(error.to_string(), "multiplier must be a finite number of at least 1.0, got 0.5");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// `max_attempts` was 0.
    #[error("max_attempts must be at least 1 (the first attempt counts)")]
    ZeroAttempts,
    /// The multiplier was below 1, infinite or NaN.
    #[error("multiplier must be a finite number of at least 1.0, got {0}")]
    MultiplierBelowOne(f64),
    /// A [`Jitter::Proportional`] factor outside `(0, 1]`.
    #[error("proportional jitter factor must be in (0, 1], got {0}")]
    JitterFactorOutOfRange(f64),
    /// `cap` was below `base`.
    #[error("cap ({cap:?}) must not be below base ({base:?})")]
    CapBelowBase {
        /// The cap given.
        cap: Duration,
        /// The base given.
        base: Duration,
    },
}

/// The lazy iterator behind [`RetryPolicy::schedule`].
struct Schedule<R> {
    policy: RetryPolicy,
    next_retry: u32,
    delays: Delays,
    random: R,
}

impl<R: RandomSource> Schedule<R> {
    fn new(policy: RetryPolicy, random: R) -> Self {
        Schedule { policy, next_retry: 1, delays: Delays::new(), random }
    }

    fn remaining(&self) -> u32 {
        self.policy.max_attempts.saturating_sub(self.next_retry)
    }
}

impl<R: RandomSource> Iterator for Schedule<R> {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.remaining() == 0 {
            return None;
        }
        let delay = self.delays.next(self.policy.curve(), self.next_retry, &mut self.random);
        self.next_retry += 1;
        Some(delay)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = usize::try_from(self.remaining()).unwrap_or(usize::MAX);
        (remaining, Some(remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn defaults_are_valid() {
        assert_eq!(RetryPolicy::new().validate(), Ok(RetryPolicy::new()));
        assert_eq!(RetryPolicy::default(), RetryPolicy::new());
    }

    #[test]
    fn validation_rejects_each_rule() {
        let p = RetryPolicy::new();
        assert_eq!(p.multiplier(0.5).validate(), Err(PolicyError::MultiplierBelowOne(0.5)));
        assert!(matches!(p.multiplier(f64::NAN).validate(), Err(PolicyError::MultiplierBelowOne(_))));
        assert!(matches!(p.multiplier(f64::INFINITY).validate(), Err(PolicyError::MultiplierBelowOne(_))));
        for f in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(
                matches!(p.jitter(Jitter::Proportional(f)).validate(), Err(PolicyError::JitterFactorOutOfRange(_))),
                "{f}"
            );
        }
        assert_eq!(p.jitter(Jitter::Proportional(1.0)).validate().map(|p| p.jitter), Ok(Jitter::Proportional(1.0)));
        assert_eq!(p.base(2 * MS).cap(MS).validate(), Err(PolicyError::CapBelowBase { cap: MS, base: 2 * MS }));
    }

    #[test]
    fn schedule_yields_max_attempts_minus_one_delays() {
        for max in [0, 1, 2, 7] {
            let expected = usize::try_from(max).unwrap_or_default().saturating_sub(1);
            assert_eq!(RetryPolicy::new().max_attempts(max).schedule().count(), expected);
            assert_eq!(RetryPolicy::new().max_attempts(max).schedule().size_hint(), (expected, Some(expected)));
        }
    }

    #[test]
    fn unjittered_schedule_is_the_backoff_curve_capped() {
        let policy = RetryPolicy::new().max_attempts(6).base(100 * MS).cap(1000 * MS).jitter(Jitter::None);
        let delays: Vec<_> = policy.schedule_seeded(0).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000].map(Duration::from_millis));
    }
}
