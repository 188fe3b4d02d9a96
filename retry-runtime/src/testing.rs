//! Test retried code without waiting: skip the sleeps and record them.
//!
//! Inside a [`SleepRecorder`]'s lifetime, every `#[retry]` function (and the
//! closure API) called *on this thread* returns from its sleeps at once and
//! records the delays it would have slept. It works in plain `#[test]`s and in
//! `#[tokio::test]` (whose default runtime runs the test on one thread). Under
//! a multi-threaded runtime, tasks that move to other threads sleep for real;
//! use `#[tokio::test(start_paused = true)]` there instead, which makes
//! tokio's sleeps instant.
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::{retry, testing::SleepRecorder};
//!
//! #[retry(max = 4, base = "1s", jitter = "none")]
//! fn always_fails() -> Result<(), &'static str> {
//!     Err("down")
//! }
//!
//! let sleeps = SleepRecorder::install();
//! assert!(always_fails().is_err()); // returns at once, not after 7 seconds
//! assert_eq!(sleeps.delays(), [1, 2, 4].map(Duration::from_secs));
//! ```

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Recorders alive in the process: while there are none, which is always
/// outside tests, a sleep checks this one relaxed load and no thread-local.
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static RECORDED: RefCell<Option<Vec<Duration>>> = const { RefCell::new(None) };
}

/// While alive, retry sleeps on this thread are skipped and recorded.
///
/// Recorders nest: an inner one records on its own and, when dropped, hands
/// the thread back to the outer one.
#[derive(Debug)]
#[must_use = "sleeps are only skipped while the recorder is alive"]
pub struct SleepRecorder {
    outer: Option<Vec<Duration>>,
    // Bound to the thread whose sleeps it intercepts.
    _not_send: PhantomData<*const ()>,
}

impl SleepRecorder {
    /// Starts skipping and recording sleeps on this thread.
    ///
    /// ```
    /// let sleeps = retry_runtime::testing::SleepRecorder::install();
    /// assert!(sleeps.delays().is_empty());
    /// ```
    pub fn install() -> Self {
        let outer = RECORDED.with(|recorded| recorded.borrow_mut().replace(Vec::new()));
        INSTALLED.fetch_add(1, Relaxed);
        SleepRecorder { outer, _not_send: PhantomData }
    }

    /// Like [`install`](Self::install), and also seeds this thread's jitter
    /// generator, so the recorded delays are the same on every run.
    ///
    /// ```
    /// use retry_runtime::{retry, testing::SleepRecorder};
    ///
    /// #[retry(max = 5, base = "10ms")]
    /// fn down() -> Result<(), ()> { Err(()) }
    ///
    /// let first = SleepRecorder::install_seeded(1);
    /// let _ = down();
    /// let first = first.delays();
    /// let second = SleepRecorder::install_seeded(1);
    /// let _ = down();
    /// assert_eq!(first, second.delays());
    /// ```
    pub fn install_seeded(seed: u64) -> Self {
        crate::random::reseed_this_thread(seed);
        Self::install()
    }

    /// The delays recorded so far, in order.
    pub fn delays(&self) -> Vec<Duration> {
        RECORDED.with(|recorded| recorded.borrow().clone().unwrap_or_default())
    }

    /// The sum of the delays recorded so far.
    ///
    /// ```
    /// let sleeps = retry_runtime::testing::SleepRecorder::install();
    /// assert_eq!(sleeps.total(), std::time::Duration::ZERO);
    /// ```
    pub fn total(&self) -> Duration {
        RECORDED
            .with(|recorded| recorded.borrow().iter().flatten().fold(Duration::ZERO, |sum, d| sum.saturating_add(*d)))
    }
}

impl Drop for SleepRecorder {
    fn drop(&mut self) {
        let outer = self.outer.take();
        RECORDED.with(|recorded| *recorded.borrow_mut() = outer);
        INSTALLED.fetch_sub(1, Relaxed);
    }
}

/// Records `delay` if a recorder is installed on this thread; says whether it did.
#[inline]
pub(crate) fn intercept(delay: Duration) -> bool {
    INSTALLED.load(Relaxed) != 0 && intercept_on_this_thread(delay)
}

#[cold]
#[inline(never)]
fn intercept_on_this_thread(delay: Duration) -> bool {
    RECORDED.with(|recorded| match recorded.borrow_mut().as_mut() {
        Some(delays) => {
            delays.push(delay);
            true
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_recorders_restore_the_outer_one() {
        let outer = SleepRecorder::install();
        assert!(intercept(Duration::from_secs(1)));
        {
            let inner = SleepRecorder::install();
            assert!(intercept(Duration::from_secs(2)));
            assert_eq!(inner.delays(), [Duration::from_secs(2)]);
        }
        assert!(intercept(Duration::from_secs(3)));
        assert_eq!(outer.delays(), [1, 3].map(Duration::from_secs));
        drop(outer);
        assert!(!intercept(Duration::from_secs(4)));
    }
}
