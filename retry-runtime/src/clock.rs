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

/// The zero of [`Clock::since_origin`]: a day before the first reading of
/// any clock. The margin keeps every later reading after it, including
/// tokio's paused clock, which starts where the real clock stood when its
/// runtime was built (possibly before the first reading here).
static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();

fn since_origin(now: std::time::Instant) -> Duration {
    const MARGINS: [Duration; 3] = [Duration::from_secs(86_400), Duration::from_secs(60), Duration::ZERO];
    let origin = ORIGIN.get_or_init(|| MARGINS.iter().find_map(|&margin| now.checked_sub(margin)).unwrap_or(now));
    now.saturating_duration_since(*origin)
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
