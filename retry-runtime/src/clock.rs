//! The clocks the retry loop reads: the thread's for sync functions, tokio's
//! for async ones (so paused time applies in tests), and one shared origin so
//! that a `static` budget or breaker sees one timeline from both.

use std::sync::OnceLock;
use std::time::Duration;

/// Where deadlines, cool-downs and rate floors are measured.
pub trait Clock {
    /// A point in time on this clock.
    type Instant: Copy;
    /// Now.
    fn now() -> Self::Instant;
    /// Time passed since `since`.
    fn elapsed(since: Self::Instant) -> Duration;
    /// Now, as the time passed since the process-wide origin (the first
    /// reading of any clock). Shared state such as
    /// [`crate::CircuitBreaker`] stores times in this form.
    fn since_origin() -> Duration;
}

/// The first time any clock was read: the zero of [`Clock::since_origin`].
static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();

fn since_origin(now: std::time::Instant) -> Duration {
    now.saturating_duration_since(*ORIGIN.get_or_init(|| now))
}

/// [`std::time::Instant`].
#[derive(Debug)]
pub enum SyncClock {}

impl Clock for SyncClock {
    type Instant = std::time::Instant;
    fn now() -> Self::Instant {
        std::time::Instant::now()
    }
    fn elapsed(since: Self::Instant) -> Duration {
        since.elapsed()
    }
    fn since_origin() -> Duration {
        since_origin(std::time::Instant::now())
    }
}

/// [`tokio::time::Instant`]: paused and advanced time in tests applies.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub enum AsyncClock {}

#[cfg(feature = "tokio")]
impl Clock for AsyncClock {
    type Instant = tokio::time::Instant;
    fn now() -> Self::Instant {
        tokio::time::Instant::now()
    }
    fn elapsed(since: Self::Instant) -> Duration {
        since.elapsed()
    }
    fn since_origin() -> Duration {
        since_origin(tokio::time::Instant::now().into_std())
    }
}

#[cfg(test)]
mod tests {
    use super::{Clock, SyncClock};

    #[test]
    fn time_since_origin_never_goes_back() {
        let first = SyncClock::since_origin();
        let second = SyncClock::since_origin();
        assert!(second >= first);
    }
}
