//! The circuit breaker: fail fast while a dependency looks down, and probe it
//! until it recovers.
//!
//! The state lives in one `AtomicU64` (see `word.rs` for the layout) and every
//! transition is one compare-and-swap of a value computed by the pure
//! function `next_word` in `word.rs`.
//!
//! A breaker given a name ([`CircuitBreaker::named`]) is listed by
//! [`status`] once a call has asked it, and closed by [`reset_all`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::clock::Timeline;

mod registry;
mod word;

#[cfg(test)]
mod model;
#[cfg(test)]
mod stress;

#[cfg(feature = "config")]
pub(crate) use registry::configure_all;
pub use registry::{BreakerStatus, reset_all, status};
pub(crate) use word::Permit;
use word::{Event, HALF_OPEN_COUNT_MAX, Limits, Word, millis, next_word};

/// A circuit breaker, shared by every call to one dependency: after a run of
/// transient failures it fails calls at once, instead of sending them to a
/// dependency that is down, and after a cool-down lets a few trial calls
/// through to see whether it is back.
///
/// ```text
///              failure_threshold consecutive
///                  transient failures
///   ┌──────────┐ ───────────────────────────► ┌──────────┐
///   │  Closed  │                              │   Open   │ ◄───┐
///   └──────────┘ ◄───┐                        └──────────┘     │
///    every call      │                         calls fail      │ any trial fails
///    goes ahead      │                         fast            │ (the cool-down
///                    │                            │            │  starts again)
///                    │                            │ cool_down elapsed: the next
///                    │ success_threshold          │ caller is the first trial
///                    │ trials succeed             ▼            │
///                    │                        ┌──────────┐     │
///                    └─────────────────────── │Half-open │ ────┘
///                                             └──────────┘
///                                              at most half_open_trials
///                                              trials at a time; other
///                                              calls fail fast
/// ```
///
/// - **Closed**: every call goes ahead. A transient failure adds one to a
///   count of consecutive failures, any other outcome sets it back to zero;
///   when it reaches [`failure_threshold`](Self::failure_threshold), the
///   breaker opens.
/// - **Open**: calls fail at once with [`CircuitOpen`]. There is no timer:
///   the first call made once [`cool_down`](Self::cool_down) has passed since
///   the breaker opened moves it to half-open, and is its first trial.
/// - **Half-open**: at most [`half_open_trials`](Self::half_open_trials)
///   calls are in flight at a time; others fail fast. When
///   [`success_threshold`](Self::success_threshold) trials have succeeded the
///   breaker closes; when any trial fails it opens again, for another full
///   cool-down.
///
/// # Examples
///
/// One `static` per dependency, shared by every function that calls it:
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::{CircuitBreaker, CircuitOpen, CircuitState};
///
/// static INVENTORY: CircuitBreaker = CircuitBreaker::new().failure_threshold(3).cool_down(Duration::from_secs(10));
///
/// #[derive(Debug, PartialEq)]
/// enum Error { Unavailable, Breaker(CircuitOpen) }
///
/// fn reserve(inventory_up: bool) -> Result<u32, Error> {
///     let permit = INVENTORY.try_acquire().map_err(Error::Breaker)?;
///     if inventory_up {
///         permit.success();
///         Ok(7)
///     } else {
///         permit.failure();
///         Err(Error::Unavailable)
///     }
/// }
///
/// for _ in 0..3 {
///     assert_eq!(reserve(false), Err(Error::Unavailable));
/// }
/// // Three consecutive failures opened it: calls now fail fast, without
/// // reaching the dependency, until the cool-down is over.
/// assert_eq!(INVENTORY.state(), CircuitState::Open);
/// assert_eq!(reserve(true), Err(Error::Breaker(CircuitOpen)));
/// assert_eq!((INVENTORY.times_opened(), INVENTORY.rejections()), (1, 1));
/// ```
///
/// # Consecutive failures, not a failure rate
///
/// The breaker opens after `failure_threshold` transient failures *in a
/// row*, like Polly's original circuit breaker, rather than when the failure
/// rate over a sliding window crosses a threshold, like resilience4j's or
/// Polly v8's. One counter does it: no window to keep, no clock to read while
/// calls succeed. The price: a dependency that fails intermittently, say every
/// other call, never opens the breaker, since each success resets the count.
/// That load is what a retry budget bounds; the breaker is for a
/// dependency that is down.
///
/// # What counts as a failure
///
/// Only a transient failure: one the retry loop's classifier calls transient
/// (see [`Verdict`]), or one reported by hand with
/// [`BreakerPermit::failure`]. Any other answer, a permanent error included,
/// counts as a success: the dependency answered. A call that
/// ends without an outcome (its future dropped, a [`BreakerPermit`] dropped
/// unreported) counts as nothing, and gives its half-open trial slot back.
///
/// Every call carries the generation of the state it started in, and an
/// outcome reported after the state has changed is ignored: a slow call that
/// started before the breaker opened cannot close it, or reopen it, or use up
/// a trial slot.
///
/// A trial that never ends holds its slot for good (until
/// [`reset`](Self::reset)), so give the calls a timeout: a `deadline` does
/// not interrupt an attempt in progress.
///
/// # Limits
///
/// The state fits one atomic word, which bounds the thresholds:
/// [`success_threshold`](Self::success_threshold) and
/// [`half_open_trials`](Self::half_open_trials) up to
/// [`MAX_SUCCESS_THRESHOLD`](Self::MAX_SUCCESS_THRESHOLD) and
/// [`MAX_HALF_OPEN_TRIALS`](Self::MAX_HALF_OPEN_TRIALS) (16,777,215), any
/// `u32` failure threshold. Times are kept in whole milliseconds since the
/// first clock reading of the process (48 bits of them: 8,900 years). The
/// generation that tells stale outcomes apart has 14 bits: a call that
/// outlives 16,384 state changes of its breaker could be taken for a current
/// one, and even then only if it is of the same kind (a trial, or not) and,
/// for a trial, while a trial is in flight.
///
/// # Cost
///
/// In Closed, asking to go ahead is one relaxed atomic load, and so is
/// reporting a success when there is no failure to forget; nothing is
/// written, so threads sharing a breaker do not fight over its cache line.
/// Every other change is one compare-and-swap loop. No lock, no allocation.
///
/// [`Verdict`]: crate::Verdict
pub struct CircuitBreaker {
    /// The packed state, see [`word`].
    word: AtomicU64,
    times_opened: AtomicU64,
    rejections: AtomicU64,
    // As given: `validate` reports them, `limits` clamps them.
    failure_threshold: u32,
    success_threshold: u32,
    half_open_trials: u32,
    cool_down: Duration,
    /// Listed by [`status`] under this name (see [`named`](Self::named)).
    name: Option<&'static str>,
    /// Whether [`status`] lists it already.
    registered: AtomicBool,
    /// The installed configuration's `[breakers.<name>]` settings over the
    /// breaker's own, replacing them; empty without a configuration.
    #[cfg(feature = "config")]
    configured: arc_swap::ArcSwapOption<Limits>,
}

/// The state of a [`CircuitBreaker`].
///
/// ```
/// use retry_runtime::{CircuitBreaker, CircuitState};
///
/// let breaker = CircuitBreaker::new();
/// assert_eq!(breaker.state(), CircuitState::Closed);
/// assert_eq!(CircuitState::HalfOpen.to_string(), "half-open");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CircuitState {
    /// Calls go ahead; consecutive transient failures are counted.
    Closed,
    /// Calls fail fast until the cool-down is over.
    Open,
    /// A limited number of trial calls go ahead; others fail fast.
    HalfOpen,
}

impl fmt::Display for CircuitState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half-open",
        })
    }
}

/// The error of a call refused by an open [`CircuitBreaker`] (or by a
/// half-open one whose trial slots are taken).
///
/// ```
/// use retry_runtime::{CircuitBreaker, CircuitOpen};
///
/// let breaker = CircuitBreaker::new().failure_threshold(1);
/// breaker.try_acquire()?.failure();
/// let refused = breaker.try_acquire().unwrap_err();
/// assert_eq!(refused, CircuitOpen);
/// assert_eq!(refused.to_string(), "circuit breaker is open: calls fail fast until it cools down");
/// # Ok::<(), CircuitOpen>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("circuit breaker is open: calls fail fast until it cools down")]
pub struct CircuitOpen;

/// Why a [`CircuitBreaker`] was rejected by [`CircuitBreaker::validate`].
///
/// ```
/// use retry_runtime::{BreakerError, CircuitBreaker};
///
/// let error = CircuitBreaker::new().half_open_trials(0).validate().unwrap_err();
/// assert_eq!(error, BreakerError::HalfOpenTrialsOutOfRange(0));
/// assert_eq!(error.to_string(), "half_open_trials must be from 1 to 16777215, got 0");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BreakerError {
    /// `failure_threshold` was 0.
    #[error("failure_threshold must be at least 1 (the failure that opens the breaker counts), got 0")]
    ZeroFailureThreshold,
    /// `success_threshold` was 0 or above [`CircuitBreaker::MAX_SUCCESS_THRESHOLD`].
    #[error("success_threshold must be from 1 to {max}, got {0}", max = CircuitBreaker::MAX_SUCCESS_THRESHOLD)]
    SuccessThresholdOutOfRange(u32),
    /// `half_open_trials` was 0 or above [`CircuitBreaker::MAX_HALF_OPEN_TRIALS`].
    #[error("half_open_trials must be from 1 to {max}, got {0}", max = CircuitBreaker::MAX_HALF_OPEN_TRIALS)]
    HalfOpenTrialsOutOfRange(u32),
}

impl Default for CircuitBreaker {
    /// The same as [`CircuitBreaker::new`].
    fn default() -> Self {
        Self::new()
    }
}

#[allow(clippy::cast_possible_truncation, reason = "HALF_OPEN_COUNT_MAX has 24 bits")]
const HALF_OPEN_COUNT_MAX_U32: u32 = HALF_OPEN_COUNT_MAX as u32;

impl CircuitBreaker {
    /// The largest [`success_threshold`](Self::success_threshold) the state
    /// can count to: 2²⁴ − 1.
    ///
    /// ```
    /// use retry_runtime::CircuitBreaker;
    /// assert_eq!(CircuitBreaker::MAX_SUCCESS_THRESHOLD, 16_777_215);
    /// ```
    pub const MAX_SUCCESS_THRESHOLD: u32 = HALF_OPEN_COUNT_MAX_U32;

    /// The largest number of [`half_open_trials`](Self::half_open_trials)
    /// the state can count: 2²⁴ − 1.
    ///
    /// ```
    /// use retry_runtime::CircuitBreaker;
    /// assert_eq!(CircuitBreaker::MAX_HALF_OPEN_TRIALS, 16_777_215);
    /// ```
    pub const MAX_HALF_OPEN_TRIALS: u32 = HALF_OPEN_COUNT_MAX_U32;

    /// A closed breaker with the default settings: it opens after 5
    /// consecutive transient failures, cools down for 30 s, then admits 1
    /// trial call at a time, and closes after 1 trial succeeds.
    ///
    /// Why these: 5 failures in a row are rarely bad luck on a healthy
    /// dependency, yet come within two calls' retries when it is down. 30 s
    /// is between Polly v8's 5 s break and resilience4j's 60 s wait. One
    /// trial, closing on its success, is Polly's and Hystrix's probe: it
    /// sends a recovering dependency one call, not a burst, and does not keep
    /// everyone else failing fast for several round-trips once it answers;
    /// if it relapses, the breaker opens again after `failure_threshold`
    /// failures. Raise [`success_threshold`](Self::success_threshold) (and
    /// perhaps [`half_open_trials`](Self::half_open_trials)) to want more
    /// evidence before closing, as resilience4j's 10 half-open calls do.
    ///
    /// `const`, so that it can initialise a `static`:
    ///
    /// ```
    /// use retry_runtime::{CircuitBreaker, CircuitState};
    ///
    /// static PAYMENTS: CircuitBreaker = CircuitBreaker::new();
    /// assert_eq!(PAYMENTS.state(), CircuitState::Closed);
    /// assert!(PAYMENTS.validate().is_ok());
    /// ```
    pub const fn new() -> Self {
        CircuitBreaker {
            word: AtomicU64::new(Word::closed(0, 0).bits()),
            times_opened: AtomicU64::new(0),
            rejections: AtomicU64::new(0),
            failure_threshold: 5,
            success_threshold: 1,
            half_open_trials: 1,
            cool_down: Duration::from_secs(30),
            name: None,
            registered: AtomicBool::new(false),
            #[cfg(feature = "config")]
            configured: arc_swap::ArcSwapOption::const_empty(),
        }
    }

    /// Names the breaker: [`status`] lists it (once a call has asked it,
    /// or once [`register`](Self::register)ed), [`reset_all`] closes it, and
    /// with feature `config` the installed configuration's
    /// `[breakers.<name>]` settings replace its own, reloads included.
    ///
    /// ```
    /// use retry_runtime::{CircuitBreaker, breaker};
    ///
    /// static QUERY_SERVICE: CircuitBreaker = CircuitBreaker::new().failure_threshold(3).named("query_service");
    /// QUERY_SERVICE.register();
    /// assert!(breaker::status().iter().any(|status| status.name == "query_service"));
    /// ```
    #[must_use]
    pub const fn named(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// The name given by [`named`](Self::named).
    ///
    /// ```
    /// use retry_runtime::CircuitBreaker;
    /// assert_eq!(CircuitBreaker::new().named("db").name(), Some("db"));
    /// assert_eq!(CircuitBreaker::new().name(), None);
    /// ```
    pub const fn name(&self) -> Option<&'static str> {
        self.name
    }

    /// Lists a named breaker in [`status`] now, rather than when a call
    /// first asks it (and takes the installed configuration's settings).
    /// Nothing for an unnamed breaker, or one listed already.
    ///
    /// ```
    /// use retry_runtime::{CircuitBreaker, breaker};
    /// static UNNAMED: CircuitBreaker = CircuitBreaker::new();
    /// UNNAMED.register();
    /// assert!(breaker::status().iter().all(|status| !std::ptr::eq(status.breaker, &UNNAMED)));
    /// ```
    #[inline]
    pub fn register(&'static self) {
        if self.name.is_some() && !self.registered.load(Relaxed) {
            registry::register(self);
        }
    }

    /// Sets how many consecutive transient failures open the breaker.
    ///
    /// Any `u32` is accepted; 0 acts as 1 (the first failure opens it) and
    /// is reported by [`validate`](Self::validate).
    ///
    /// ```
    /// use retry_runtime::{CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(2);
    /// breaker.try_acquire()?.failure();
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// breaker.try_acquire()?.failure();
    /// assert_eq!(breaker.state(), CircuitState::Open);
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    #[must_use]
    pub const fn failure_threshold(mut self, failures: u32) -> Self {
        self.failure_threshold = failures;
        self
    }

    /// Sets how long the breaker stays open before it lets a trial call
    /// through.
    ///
    /// Any duration is accepted. It is measured in whole milliseconds, the
    /// cool-down rounded up and the times truncated, so it may end up to 1 ms
    /// early; a cool-down longer than the process will run keeps the breaker
    /// open until [`reset`](Self::reset). Zero lets the next call through as a
    /// trial at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::{CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::ZERO);
    /// breaker.try_acquire()?.failure();
    /// assert_eq!(breaker.state(), CircuitState::Open);
    /// // Cooled down already: this call is the trial.
    /// let trial = breaker.try_acquire()?;
    /// assert_eq!(breaker.state(), CircuitState::HalfOpen);
    /// trial.success();
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    #[must_use]
    pub const fn cool_down(mut self, cool_down: Duration) -> Self {
        self.cool_down = cool_down;
        self
    }

    /// Sets how many trial calls must succeed, in half-open, to close the
    /// breaker.
    ///
    /// Any `u32` is accepted; 0 acts as 1 and anything above
    /// [`MAX_SUCCESS_THRESHOLD`](Self::MAX_SUCCESS_THRESHOLD) as that
    /// maximum, and both are reported by [`validate`](Self::validate).
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::{CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::ZERO).success_threshold(2);
    /// breaker.try_acquire()?.failure();
    /// breaker.try_acquire()?.success();
    /// assert_eq!(breaker.state(), CircuitState::HalfOpen);
    /// breaker.try_acquire()?.success();
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    #[must_use]
    pub const fn success_threshold(mut self, successes: u32) -> Self {
        self.success_threshold = successes;
        self
    }

    /// Sets how many trial calls may be in flight at once in half-open.
    ///
    /// Any `u32` is accepted; 0 acts as 1 and anything above
    /// [`MAX_HALF_OPEN_TRIALS`](Self::MAX_HALF_OPEN_TRIALS) as that
    /// maximum, and both are reported by [`validate`](Self::validate).
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::{CircuitBreaker, CircuitOpen};
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::ZERO).half_open_trials(2);
    /// breaker.try_acquire()?.failure();
    /// let first = breaker.try_acquire()?;
    /// let second = breaker.try_acquire()?;
    /// assert_eq!(breaker.try_acquire().unwrap_err(), CircuitOpen);
    /// drop((first, second));
    /// # Ok::<(), CircuitOpen>(())
    /// ```
    #[must_use]
    pub const fn half_open_trials(mut self, trials: u32) -> Self {
        self.half_open_trials = trials;
        self
    }

    /// Checks the settings, which the setters accept whatever they are.
    ///
    /// # Errors
    /// The first setting out of range: a zero `failure_threshold`, or a
    /// `success_threshold` or `half_open_trials` of 0 or above 2²⁴ − 1.
    ///
    /// ```
    /// use retry_runtime::{BreakerError, CircuitBreaker};
    ///
    /// assert_eq!(CircuitBreaker::new().validate(), Ok(()));
    /// assert_eq!(CircuitBreaker::new().failure_threshold(0).validate(), Err(BreakerError::ZeroFailureThreshold));
    /// assert_eq!(
    ///     CircuitBreaker::new().success_threshold(u32::MAX).validate(),
    ///     Err(BreakerError::SuccessThresholdOutOfRange(u32::MAX)),
    /// );
    /// ```
    pub fn validate(&self) -> Result<(), BreakerError> {
        if self.failure_threshold == 0 {
            return Err(BreakerError::ZeroFailureThreshold);
        }
        if !(1..=Self::MAX_SUCCESS_THRESHOLD).contains(&self.success_threshold) {
            return Err(BreakerError::SuccessThresholdOutOfRange(self.success_threshold));
        }
        if !(1..=Self::MAX_HALF_OPEN_TRIALS).contains(&self.half_open_trials) {
            return Err(BreakerError::HalfOpenTrialsOutOfRange(self.half_open_trials));
        }
        Ok(())
    }

    /// The current state.
    ///
    /// An open breaker stays [`Open`](CircuitState::Open) past its cool-down
    /// until a call asks to go ahead and becomes the first trial.
    ///
    /// ```
    /// use retry_runtime::{CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(1);
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// breaker.try_acquire()?.failure();
    /// assert_eq!(breaker.state(), CircuitState::Open);
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    pub fn state(&self) -> CircuitState {
        self.load().state()
    }

    /// Closes the breaker, forgetting its failures, whatever its state.
    ///
    /// Calls still in flight were admitted under the old state, so their
    /// outcomes are ignored. The counters ([`times_opened`](Self::times_opened),
    /// [`rejections`](Self::rejections)) are kept.
    ///
    /// ```
    /// use retry_runtime::{CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(1);
    /// breaker.try_acquire()?.failure();
    /// breaker.reset();
    /// assert_eq!(breaker.state(), CircuitState::Closed);
    /// assert_eq!(breaker.times_opened(), 1);
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    pub fn reset(&self) {
        // `Reset` always yields a word, so this never gives `None`; the time
        // is not used.
        let _ = self.apply(Event::Reset, 0);
    }

    /// How many times the breaker has opened, from Closed or from half-open.
    ///
    /// ```
    /// use retry_runtime::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(1);
    /// assert_eq!(breaker.times_opened(), 0);
    /// breaker.try_acquire()?.failure();
    /// assert_eq!(breaker.times_opened(), 1);
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    pub fn times_opened(&self) -> u64 {
        self.times_opened.load(Relaxed)
    }

    /// How many calls the breaker has refused.
    ///
    /// ```
    /// use retry_runtime::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(1);
    /// breaker.try_acquire()?.failure();
    /// assert!(breaker.try_acquire().is_err());
    /// assert_eq!(breaker.rejections(), 1);
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    pub fn rejections(&self) -> u64 {
        self.rejections.load(Relaxed)
    }

    /// Asks to make one call now, on [`std::time::Instant`]'s clock.
    ///
    /// Report its outcome on the returned permit with
    /// [`success`](BreakerPermit::success) or
    /// [`failure`](BreakerPermit::failure); dropping it reports nothing.
    ///
    /// # Errors
    /// [`CircuitOpen`] if the breaker is open and not cooled down yet, or
    /// half-open with all its trial slots taken.
    ///
    /// ```
    /// use retry_runtime::CircuitBreaker;
    ///
    /// static SEARCH: CircuitBreaker = CircuitBreaker::new();
    ///
    /// let permit = SEARCH.try_acquire()?;
    /// // ... call the dependency ...
    /// permit.success();
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    pub fn try_acquire(&self) -> Result<BreakerPermit<'_>, CircuitOpen> {
        let permit = self.acquire_at(Timeline::Thread.now())?;
        Ok(BreakerPermit { breaker: self, permit: Some(permit) })
    }

    /// Asks to make one call at `now` (the time since the clock origin).
    pub(crate) fn acquire_at(&self, now: Duration) -> Result<Permit, CircuitOpen> {
        if let Some((_, after)) = self.apply(Event::Acquire, millis(now)) {
            Ok(Permit::issued_in(after))
        } else {
            self.rejections.fetch_add(1, Relaxed);
            Err(CircuitOpen)
        }
    }

    /// Reports the outcome of the call made with `permit`: `failed` if it
    /// failed transiently (anything else, a permanent error included, is a
    /// success: the dependency answered). Returns the new state if this
    /// report changed it.
    pub(crate) fn record_at(&self, permit: Permit, failed: bool, now: Duration) -> Option<CircuitState> {
        let event = if failed { Event::Failure(permit) } else { Event::Success(permit) };
        let (before, after) = self.apply(event, millis(now))?;
        if before.state() == after.state() {
            return None;
        }
        if after.state() == CircuitState::Open {
            self.times_opened.fetch_add(1, Relaxed);
        }
        Some(after.state())
    }

    /// Gives back the half-open trial slot of a call that ended without an
    /// outcome (cancelled). Counts nothing.
    pub(crate) fn release(&self, permit: Permit) {
        // Only a trial holds anything: skip the load for the others.
        if permit.is_trial() {
            let _ = self.apply(Event::Release(permit), 0);
        }
    }

    /// Whether the breaker is open, cooled down or not.
    pub(crate) fn is_open(&self) -> bool {
        self.state() == CircuitState::Open
    }

    fn limits(&self) -> Limits {
        #[cfg(feature = "config")]
        if self.name.is_some()
            && let Some(configured) = &*self.configured.load()
        {
            return **configured;
        }
        Limits::clamped(self.failure_threshold, self.success_threshold, self.half_open_trials, self.cool_down)
    }

    /// Takes `settings` (the installed configuration's, for this name) over
    /// the breaker's own; `None` restores its own.
    #[cfg(feature = "config")]
    pub(crate) fn configure(&self, settings: Option<&crate::config::BreakerSettings>) {
        let limits = settings.map(|settings| {
            Limits::clamped(
                settings.failure_threshold.unwrap_or(self.failure_threshold),
                settings.success_threshold.unwrap_or(self.success_threshold),
                settings.half_open_trials.unwrap_or(self.half_open_trials),
                settings.cool_down.unwrap_or(self.cool_down),
            )
        });
        self.configured.store(limits.map(std::sync::Arc::new));
    }

    /// Consecutive transient failures counted while closed (0 otherwise:
    /// the word holds other counts in the other states).
    fn failures(&self) -> u64 {
        let word = self.load();
        if word.state() == CircuitState::Closed { word.failures() } else { 0 }
    }

    fn load(&self) -> Word {
        Word::from_bits(self.word.load(Relaxed))
    }

    /// Applies `event` at `now_ms` in one compare-and-swap loop: the words
    /// before and after, or `None` if [`next_word`] gave none (a refused
    /// acquire, a stale permit, nothing to change).
    ///
    /// Relaxed ordering suffices: the word is the whole state, it publishes
    /// no other memory, and a single atomic's modifications are totally
    /// ordered whatever the ordering asked for.
    fn apply(&self, event: Event, now_ms: u64) -> Option<(Word, Word)> {
        let limits = self.limits();
        let mut current = self.load();
        loop {
            let next = next_word(limits, current, event, now_ms)?;
            // An acquire in Closed changes nothing: writing would only make
            // the cache line bounce between the threads sharing the breaker.
            if next == current {
                return Some((current, next));
            }
            match self.word.compare_exchange_weak(current.bits(), next.bits(), Relaxed, Relaxed) {
                Ok(_) => return Some((current, next)),
                Err(actual) => current = Word::from_bits(actual),
            }
        }
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("state", &self.state())
            .field("failure_threshold", &self.failure_threshold)
            .field("cool_down", &self.cool_down)
            .field("success_threshold", &self.success_threshold)
            .field("half_open_trials", &self.half_open_trials)
            .field("times_opened", &self.times_opened())
            .field("rejections", &self.rejections())
            .finish_non_exhaustive()
    }
}

/// The right to make one call through a [`CircuitBreaker`], from
/// [`CircuitBreaker::try_acquire`].
///
/// Report the call's outcome with [`success`](Self::success) or
/// [`failure`](Self::failure). Dropping the permit unreported counts nothing
/// and gives its half-open trial slot back: that is what a cancelled call
/// should do.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::{CircuitBreaker, CircuitOpen};
///
/// let breaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::ZERO);
/// breaker.try_acquire()?.failure();
///
/// let trial = breaker.try_acquire()?;
/// assert!(trial.is_trial());
/// assert_eq!(breaker.try_acquire().unwrap_err(), CircuitOpen); // the only slot is taken
/// drop(trial); // cancelled: the slot is free again
/// assert!(breaker.try_acquire().is_ok());
/// # Ok::<(), CircuitOpen>(())
/// ```
#[derive(Debug)]
#[must_use = "a permit is for reporting the call's outcome: call `success()` or `failure()`"]
pub struct BreakerPermit<'a> {
    breaker: &'a CircuitBreaker,
    /// `None` once reported, so that `drop` does not release it again.
    permit: Option<Permit>,
}

impl BreakerPermit<'_> {
    /// Reports that the call got an answer: a success, or an error that is
    /// not worth retrying (the dependency is up). Returns the breaker's new
    /// state if this report changed it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::{CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::ZERO);
    /// breaker.try_acquire()?.failure();
    /// assert_eq!(breaker.try_acquire()?.success(), Some(CircuitState::Closed));
    /// assert_eq!(breaker.try_acquire()?.success(), None);
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    pub fn success(mut self) -> Option<CircuitState> {
        self.report(false)
    }

    /// Reports that the call failed transiently (the dependency looks down).
    /// Returns the breaker's new state if this report changed it.
    ///
    /// ```
    /// use retry_runtime::{CircuitBreaker, CircuitState};
    ///
    /// let breaker = CircuitBreaker::new().failure_threshold(2);
    /// assert_eq!(breaker.try_acquire()?.failure(), None);
    /// assert_eq!(breaker.try_acquire()?.failure(), Some(CircuitState::Open));
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    pub fn failure(mut self) -> Option<CircuitState> {
        self.report(true)
    }

    /// Whether this call is a half-open trial, whose outcome decides whether
    /// the breaker closes or opens again.
    ///
    /// ```
    /// use retry_runtime::CircuitBreaker;
    ///
    /// let breaker = CircuitBreaker::new();
    /// assert!(!breaker.try_acquire()?.is_trial());
    /// # Ok::<(), retry_runtime::CircuitOpen>(())
    /// ```
    pub fn is_trial(&self) -> bool {
        self.permit.is_some_and(Permit::is_trial)
    }

    fn report(&mut self, failed: bool) -> Option<CircuitState> {
        let permit = self.permit.take()?;
        self.breaker.record_at(permit, failed, Timeline::Thread.now())
    }
}

impl Drop for BreakerPermit<'_> {
    fn drop(&mut self) {
        if let Some(permit) = self.permit.take() {
            self.breaker.release(permit);
        }
    }
}

#[cfg(test)]
mod tests;
