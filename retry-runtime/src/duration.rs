//! Saturating conversions between [`Duration`] and nanoseconds.
//!
//! Backoff arithmetic works on nanosecond counts in `u128` (exact) or `f64`
//! (for fractional multipliers), and must never overflow or panic whatever the
//! attempt number or the durations involved.

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The exact number of nanoseconds in `duration`.
pub(crate) const fn to_nanos(duration: Duration) -> u128 {
    duration.as_nanos()
}

/// The duration of `nanos` nanoseconds, or [`Duration::MAX`] when it does not fit.
pub(crate) fn from_nanos_saturating(nanos: u128) -> Duration {
    let secs = nanos / NANOS_PER_SEC;
    // The remainder is below one billion, so it fits a `u32`.
    #[allow(clippy::cast_possible_truncation)]
    let subsec = (nanos % NANOS_PER_SEC) as u32;
    match u64::try_from(secs) {
        Ok(secs) => Duration::new(secs, subsec),
        Err(_) => Duration::MAX,
    }
}

/// The duration of `nanos` nanoseconds (rounded), clamped to `[0, ceiling]`.
///
/// NaN counts as zero. A value at or above the ceiling returns `ceiling`
/// itself rather than the nearest float, so a capped delay equals the cap
/// exactly.
pub(crate) fn from_f64_nanos_clamped(nanos: f64, ceiling: Duration) -> Duration {
    if nanos.is_nan() || nanos <= 0.0 {
        return Duration::ZERO;
    }
    #[allow(clippy::cast_precision_loss)]
    let ceiling_nanos = to_nanos(ceiling) as f64;
    if nanos >= ceiling_nanos {
        return ceiling;
    }
    // `as` from float to integer saturates, and `nanos` is finite and positive here.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = nanos.round() as u128;
    from_nanos_saturating(whole).min(ceiling)
}

/// `duration` in nanoseconds as a float (approximate above 2^53 ns, about 104 days).
#[allow(clippy::cast_precision_loss)]
pub(crate) fn to_f64_nanos(duration: Duration) -> f64 {
    to_nanos(duration) as f64
}

/// `100ms`, `2600ms`, `12.5s`, `250µs`: a delay as a person reads it in a log line.
pub(crate) struct Human(pub(crate) Duration);

impl std::fmt::Display for Human {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        if d < Duration::from_millis(1) {
            write!(f, "{}µs", d.as_micros())
        } else if d < Duration::from_secs(10) {
            write!(f, "{}ms", d.as_millis())
        } else {
            write!(f, "{:.1}s", d.as_secs_f64())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_boundary() {
        for d in [Duration::ZERO, Duration::from_nanos(1), Duration::from_secs(1), Duration::MAX] {
            assert_eq!(from_nanos_saturating(to_nanos(d)), d);
        }
    }

    #[test]
    fn saturates_past_duration_max() {
        assert_eq!(from_nanos_saturating(u128::MAX), Duration::MAX);
    }

    #[test]
    fn float_conversion_clamps_and_rounds() {
        let cap = Duration::from_secs(1);
        assert_eq!(from_f64_nanos_clamped(f64::NAN, cap), Duration::ZERO);
        assert_eq!(from_f64_nanos_clamped(-5.0, cap), Duration::ZERO);
        assert_eq!(from_f64_nanos_clamped(f64::INFINITY, cap), cap);
        assert_eq!(from_f64_nanos_clamped(1e30, Duration::MAX), Duration::MAX);
        assert_eq!(from_f64_nanos_clamped(1.6, cap), Duration::from_nanos(2));
        assert_eq!(from_f64_nanos_clamped(3e8, cap), Duration::from_millis(300));
    }
}
