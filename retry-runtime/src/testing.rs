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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// Recorders alive in the process: while there are none, which is always
/// outside tests, a sleep checks this one relaxed load and no thread-local.
static INSTALLED: AtomicUsize = AtomicUsize::new(0);

/// Names each recorder, so that it finds its own recording whatever was
/// installed or dropped since.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The recorders alive on this thread, oldest first: sleeps go to the
    /// newest. Empty, the thread sleeps for real.
    static RECORDINGS: RefCell<Vec<Recording>> = const { RefCell::new(Vec::new()) };
}

/// What one recorder recorded.
struct Recording {
    id: u64,
    delays: Vec<Duration>,
}

/// While alive, retry sleeps on this thread are skipped and recorded.
///
/// Recorders nest: the newest one alive records, on its own. They may be
/// dropped in any order: each takes only its own recording with it, the
/// newest remaining one records from then on, and the thread sleeps again
/// once none is left.
#[derive(Debug)]
#[must_use = "sleeps are only skipped while the recorder is alive"]
pub struct SleepRecorder {
    id: u64,
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
        let id = NEXT_ID.fetch_add(1, Relaxed);
        RECORDINGS.with(|recordings| recordings.borrow_mut().push(Recording { id, delays: Vec::new() }));
        INSTALLED.fetch_add(1, Relaxed);
        SleepRecorder { id, _not_send: PhantomData }
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
        self.with_delays(<[Duration]>::to_vec)
    }

    /// The sum of the delays recorded so far.
    ///
    /// ```
    /// let sleeps = retry_runtime::testing::SleepRecorder::install();
    /// assert_eq!(sleeps.total(), std::time::Duration::ZERO);
    /// ```
    pub fn total(&self) -> Duration {
        self.with_delays(|delays| delays.iter().fold(Duration::ZERO, |sum, d| sum.saturating_add(*d)))
    }

    fn with_delays<T>(&self, read: impl FnOnce(&[Duration]) -> T) -> T {
        RECORDINGS.with(|recordings| {
            let recordings = recordings.borrow();
            let own = recordings.iter().find(|recording| recording.id == self.id);
            read(own.map_or(&[][..], |recording| &recording.delays))
        })
    }
}

impl Drop for SleepRecorder {
    fn drop(&mut self) {
        // `try_with`: a recorder kept in a thread-local may outlive this one.
        let _ = RECORDINGS.try_with(|recordings| recordings.borrow_mut().retain(|recording| recording.id != self.id));
        INSTALLED.fetch_sub(1, Relaxed);
    }
}

/// Records `delay` if a recorder is installed on this thread; says whether it did.
#[cfg_attr(not(debug_assertions), inline(always))]
#[cfg_attr(debug_assertions, inline)]
pub(crate) fn intercept(delay: Duration) -> bool {
    INSTALLED.load(Relaxed) != 0 && intercept_on_this_thread(delay)
}

#[cold]
#[inline(never)]
fn intercept_on_this_thread(delay: Duration) -> bool {
    RECORDINGS
        .try_with(|recordings| match recordings.borrow_mut().last_mut() {
            Some(newest) => {
                newest.delays.push(delay);
                true
            }
            None => false,
        })
        .unwrap_or(false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    const fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Runs `check` while another thread holds a recorder, so that the
    /// process-wide count of recorders is not zero.
    fn while_another_thread_records(check: impl FnOnce()) {
        let (installed, wait_installed) = mpsc::channel();
        let (done, wait_done) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                let _recorder = SleepRecorder::install();
                installed.send(()).unwrap();
                // Until `done` is dropped, by the end of `check` or its panic.
                let _ = wait_done.recv();
            });
            wait_installed.recv().unwrap();
            check();
            drop(done);
        });
    }

    /// Dropped in the order they were installed, two recorders left the
    /// thread recording with none alive: its sleeps were skipped whenever
    /// another thread held a recorder.
    #[test]
    fn recorders_dropped_in_install_order_leave_the_thread_sleeping() {
        while_another_thread_records(|| {
            let first = SleepRecorder::install();
            let second = SleepRecorder::install();
            drop(first);
            drop(second);
            assert!(!intercept(secs(1)), "no recorder is alive on this thread");
        });
    }

    #[test]
    fn recorders_dropped_in_either_order_leave_the_thread_sleeping() {
        while_another_thread_records(|| {
            for first_dropped_first in [true, false] {
                let first = SleepRecorder::install();
                let second = SleepRecorder::install();
                assert!(intercept(secs(1)));
                let (dropped, alive) = if first_dropped_first { (first, second) } else { (second, first) };
                drop(dropped);
                assert!(intercept(secs(2)), "one recorder is still alive");
                drop(alive);
                assert!(!intercept(secs(3)));
            }
        });
    }

    /// The newest recorder alive records; each keeps what it recorded
    /// whichever is dropped first.
    #[test]
    fn each_recorder_keeps_its_own_delays() {
        let first = SleepRecorder::install();
        assert!(intercept(secs(1)));
        let second = SleepRecorder::install();
        assert!(intercept(secs(2)));
        assert_eq!((first.delays(), second.delays()), (vec![secs(1)], vec![secs(2)]));
        drop(first);
        assert!(intercept(secs(3)));
        assert_eq!(second.delays(), [secs(2), secs(3)]);
        assert_eq!(second.total(), secs(5));
        let third = SleepRecorder::install();
        assert!(intercept(secs(4)));
        drop(second);
        assert_eq!(third.delays(), [secs(4)]);
    }

    #[test]
    fn another_threads_recorder_does_not_skip_this_threads_sleeps() {
        while_another_thread_records(|| assert!(!intercept(secs(1))));
    }

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
