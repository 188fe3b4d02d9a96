//! What a retried body may know about itself: which attempt it is, how many
//! it may have, how long the call has run, and an identifier shared by all
//! the attempts of one call (an idempotency key).

use std::fmt;
use std::time::Duration;

use crate::clock::Timeline;
use crate::random::PerThread;

/// The attempt a retried body is running, given to it by
/// `#[retry(attempt = name)]` and by the closure API's
/// [`retry_with_attempt`](crate::RetryPolicy::retry_with_attempt).
///
/// ```
/// use retry_runtime::retry;
///
/// #[retry(max = 3, base = "1ms", attempt = attempt)]
/// fn post_order(sent: &mut Vec<(u32, String)>) -> Result<(), &'static str> {
///     // The same key on every attempt: the server applies the order once.
///     sent.push((attempt.number(), attempt.call_id().to_string()));
///     if attempt.is_last() { Ok(()) } else { Err("503") }
/// }
///
/// let mut sent = Vec::new();
/// assert_eq!(post_order(&mut sent), Ok(()));
/// assert_eq!(sent.iter().map(|(number, _)| *number).collect::<Vec<_>>(), [1, 2, 3]);
/// assert!(sent.iter().all(|(_, key)| *key == sent[0].1 && key.len() == 32));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Attempt {
    number: u32,
    max: u32,
    origin: Origin,
}

/// What the attempts of one call share: made once per call, before the
/// first attempt, and only when the body asks for its attempt.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    started: Duration,
    timeline: Timeline,
    call_id: CallId,
}

impl Origin {
    /// Now, on the call's clock, and a fresh identifier.
    #[cold]
    #[inline(never)]
    pub(crate) fn new(timeline: Timeline) -> Self {
        Origin { started: timeline.now(), timeline, call_id: CallId::random() }
    }

    /// Attempt `number` of at most `max`.
    #[inline]
    pub(crate) fn attempt(self, number: u32, max: u32) -> Attempt {
        Attempt { number, max, origin: self }
    }
}

impl Attempt {
    /// Which attempt this is: 1 for the first, 2 for the first retry.
    ///
    /// ```
    /// let attempts = std::cell::RefCell::new(Vec::new());
    /// let _ = retry_runtime::RetryPolicy::new()
    ///     .max_attempts(3)
    ///     .base(std::time::Duration::ZERO)
    ///     .retry_with_attempt(|attempt| {
    ///         attempts.borrow_mut().push(attempt.number());
    ///         Err::<(), _>("down")
    ///     })
    ///     .call();
    /// assert_eq!(*attempts.borrow(), [1, 2, 3]);
    /// ```
    #[must_use]
    pub const fn number(&self) -> u32 {
        self.number
    }

    /// How many attempts the policy allows (`max`).
    ///
    /// ```
    /// let max = retry_runtime::RetryPolicy::new()
    ///     .max_attempts(4)
    ///     .retry_with_attempt(|attempt| Ok::<_, ()>(attempt.max()))
    ///     .call();
    /// assert_eq!(max, Ok(4));
    /// ```
    #[must_use]
    pub const fn max(&self) -> u32 {
        self.max
    }

    /// Whether this is the last attempt the policy allows: a body may give
    /// its work more time, or skip a cache, knowing no retry follows. A
    /// deadline, a budget or a breaker may still end a call before its last
    /// attempt.
    ///
    /// ```
    /// let last = retry_runtime::RetryPolicy::new()
    ///     .max_attempts(1)
    ///     .retry_with_attempt(|attempt| Ok::<_, ()>(attempt.is_last()))
    ///     .call();
    /// assert_eq!(last, Ok(true));
    /// ```
    #[must_use]
    pub const fn is_last(&self) -> bool {
        self.number >= self.max
    }

    /// The time since the call's first attempt started, on the clock its
    /// deadline is measured on (tokio's for an async fn on tokio, so paused
    /// time applies).
    ///
    /// ```
    /// let elapsed = retry_runtime::RetryPolicy::new()
    ///     .retry_with_attempt(|attempt| Ok::<_, ()>(attempt.elapsed()))
    ///     .call();
    /// assert!(elapsed.is_ok_and(|elapsed| elapsed < std::time::Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.origin.timeline.now().saturating_sub(self.origin.started)
    }

    /// An identifier drawn once per call, the same for all its attempts:
    /// an `Idempotency-Key` header, a request id in logs.
    ///
    /// ```
    /// let ids = std::cell::RefCell::new(Vec::new());
    /// let policy = retry_runtime::RetryPolicy::new().max_attempts(2).base(std::time::Duration::ZERO);
    /// for _ in 0..2 {
    ///     let _ = policy
    ///         .retry_with_attempt(|attempt| {
    ///             ids.borrow_mut().push(attempt.call_id());
    ///             Err::<(), _>("down")
    ///         })
    ///         .call();
    /// }
    /// let ids = ids.borrow();
    /// assert_eq!(ids[0], ids[1]); // one call, two attempts
    /// assert_ne!(ids[1], ids[2]); // the next call
    /// ```
    #[must_use]
    pub const fn call_id(&self) -> CallId {
        self.origin.call_id
    }
}

/// A random 128-bit identifier of one retried call, written as 32
/// lowercase hex digits.
///
/// It is drawn from the thread's fast generator (seeded from the operating
/// system): unique enough to tell calls apart, but not a secret, and not
/// unguessable. A call whose body does not ask for its attempt draws none.
///
/// ```
/// let id = retry_runtime::CallId::from_u128(0xfeed);
/// assert_eq!(id.to_string(), "0000000000000000000000000000feed");
/// assert_eq!(id.as_u128(), 0xfeed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(u128);

impl CallId {
    /// The identifier with this value (tests, logs read back).
    #[must_use]
    pub const fn from_u128(value: u128) -> Self {
        CallId(value)
    }

    /// Its value.
    #[must_use]
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    fn random() -> Self {
        CallId((u128::from(PerThread::next_u64()) << 64) | u128::from(PerThread::next_u64()))
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:032x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::{CallId, Origin};
    use crate::clock::Timeline;

    #[test]
    fn call_ids_are_32_hex_digits_and_differ() {
        let ids: HashSet<String> = (0..1000).map(|_| CallId::random().to_string()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())));
    }

    #[test]
    fn the_last_attempt_is_the_maximum() {
        let origin = Origin::new(Timeline::Thread);
        assert!(!origin.attempt(2, 3).is_last());
        assert!(origin.attempt(3, 3).is_last());
        assert_eq!(origin.attempt(2, 3).call_id(), origin.attempt(3, 3).call_id());
    }
}
