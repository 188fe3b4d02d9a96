//! The clocks a call reads: the thread's for sync functions and async ones
//! on other timers, tokio's for async ones on tokio's (so paused time
//! applies in tests), both as the time since one
//! shared origin, so that a `static` budget or breaker sees one timeline
//! from both.

use std::sync::OnceLock;
use std::time::Duration;

/// The zero of [`Timeline::now`]: a day before the first reading of any
/// clock. The margin keeps every later reading after it, including tokio's
/// paused clock, which starts where the real clock stood when its runtime
/// was built (possibly before the first reading here).
static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();

fn since_origin(now: std::time::Instant) -> Duration {
    const MARGINS: [Duration; 3] = [Duration::from_secs(86_400), Duration::from_secs(60), Duration::ZERO];
    let origin = ORIGIN.get_or_init(|| MARGINS.iter().find_map(|&margin| now.checked_sub(margin)).unwrap_or(now));
    now.saturating_duration_since(*origin)
}

/// Which clock a call reads, as a value: the engine is compiled once for
/// both, not once per clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timeline {
    /// [`std::time::Instant`]: sync functions, async ones on a timer other
    /// than tokio's, breakers and budgets used by hand.
    Thread,
    /// [`tokio::time::Instant`]: async functions on tokio's timer, so paused
    /// and advanced time in tests applies.
    #[cfg(feature = "tokio")]
    Tokio,
}

impl Timeline {
    /// The clock an async call sleeping on `sleeper` measures its deadline on.
    #[inline]
    pub(crate) fn of(sleeper: &impl crate::sleep::Sleeper) -> Self {
        match sleeper.on_tokio_time() {
            #[cfg(feature = "tokio")]
            true => Timeline::Tokio,
            _ => Timeline::Thread,
        }
    }

    /// Now, as the time since the process-wide origin.
    #[inline]
    pub(crate) fn now(self) -> Duration {
        match self {
            Timeline::Thread => since_origin(std::time::Instant::now()),
            #[cfg(feature = "tokio")]
            Timeline::Tokio => since_origin(tokio::time::Instant::now().into_std()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Timeline;

    #[test]
    fn time_since_origin_never_goes_back() {
        let first = Timeline::Thread.now();
        let second = Timeline::Thread.now();
        assert!(second >= first);
    }
}
