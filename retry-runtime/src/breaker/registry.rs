//! Every named breaker a call has asked: listed by [`status`], closed by
//! [`reset_all`], configured by the installed configuration.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Mutex, PoisonError};

use super::{CircuitBreaker, CircuitState};

/// The named breakers, in the order they were first asked. Locked only to
/// register one (once per breaker), to list them and to configure them.
static NAMED: Mutex<Vec<&'static CircuitBreaker>> = Mutex::new(Vec::new());

/// What [`status`] says of one named breaker.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct BreakerStatus {
    /// The name given by [`CircuitBreaker::named`].
    pub name: &'static str,
    /// Its state now.
    pub state: CircuitState,
    /// Consecutive transient failures counted while closed (0 otherwise).
    pub failures: u64,
    /// How many times it opened.
    pub times_opened: u64,
    /// How many calls it refused.
    pub rejections: u64,
    /// The breaker itself.
    pub breaker: &'static CircuitBreaker,
}

/// Every named breaker that a call has asked (or that was
/// [`register`](CircuitBreaker::register)ed), in that order.
///
/// ```
/// use retry_runtime::{CircuitBreaker, CircuitState, breaker};
///
/// static INVENTORY: CircuitBreaker = CircuitBreaker::new().named("inventory");
/// INVENTORY.register();
/// let status = breaker::status();
/// let inventory = status.iter().find(|status| status.name == "inventory");
/// assert_eq!(inventory.map(|status| status.state), Some(CircuitState::Closed));
/// ```
pub fn status() -> Vec<BreakerStatus> {
    let named = NAMED.lock().unwrap_or_else(PoisonError::into_inner);
    named
        .iter()
        .map(|&breaker| BreakerStatus {
            name: breaker.name.unwrap_or_default(),
            state: breaker.state(),
            failures: breaker.failures(),
            times_opened: breaker.times_opened(),
            rejections: breaker.rejections(),
            breaker,
        })
        .collect()
}

/// Closes every named breaker [`status`] lists (see [`CircuitBreaker::reset`]).
///
/// ```
/// use retry_runtime::{CircuitBreaker, CircuitState, breaker};
///
/// static PAYMENTS: CircuitBreaker = CircuitBreaker::new().failure_threshold(1).named("payments");
/// PAYMENTS.register();
/// let _ = PAYMENTS.try_acquire().map(|permit| permit.failure());
/// assert_eq!(PAYMENTS.state(), CircuitState::Open);
/// breaker::reset_all();
/// assert_eq!(PAYMENTS.state(), CircuitState::Closed);
/// ```
pub fn reset_all() {
    for breaker in NAMED.lock().unwrap_or_else(PoisonError::into_inner).iter() {
        breaker.reset();
    }
}

/// Lists `breaker` (named), once, and gives it the installed settings.
#[cold]
#[inline(never)]
pub(super) fn register(breaker: &'static CircuitBreaker) {
    let mut named = NAMED.lock().unwrap_or_else(PoisonError::into_inner);
    // Checked again under the lock: two threads may have asked at once.
    if breaker.registered.swap(true, Relaxed) {
        return;
    }
    named.push(breaker);
    // Under the lock: an installation either sees this breaker listed or
    // is seen here (it stores the policies before it takes the lock).
    #[cfg(feature = "config")]
    breaker.configure(crate::config::installed().as_deref().and_then(|p| breaker.name.and_then(|n| p.breaker(n))));
}

/// Gives every named breaker its settings from the installed policies (or
/// its own), read under the lock: of two installations at once, the
/// breakers end with the last one's.
#[cfg(feature = "config")]
pub(crate) fn configure_all() {
    let named = NAMED.lock().unwrap_or_else(PoisonError::into_inner);
    let policies = crate::config::installed();
    for breaker in named.iter() {
        breaker.configure(policies.as_deref().and_then(|p| breaker.name.and_then(|n| p.breaker(n))));
    }
}
