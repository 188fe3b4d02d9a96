//! Duration strings such as `"250ms"` or `"1m 30s"`, parsed with checked
//! arithmetic, so that no string, however large, can panic the macro.
//!
//! The grammar and the units are humantime's, which this parser replaced
//! because its `parse_duration` panics when sub-second parts carry past
//! `u64::MAX` seconds (`"18446744073709551615s 1000ms"`): numbers with a unit,
//! each with an optional fraction (`"1.5s"`), whitespace allowed between the
//! items and between a number and its unit, and a bare `"0"` for zero. For
//! micro, the Greek letter mu (`μ`, U+03BC) is accepted as well as the micro
//! sign (`µ`, U+00B5): they look the same.

use std::time::Duration;

/// Why a duration string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Not a sequence of numbers with units.
    Syntax,
    /// More than a `Duration` holds: `u64::MAX` seconds and 999 999 999 ns.
    TooLarge,
    /// A fraction that is not a whole number of nanoseconds, such as `"0.5ns"`.
    TooPrecise,
}

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The duration `text` spells, trimmed of surrounding whitespace beforehand.
pub(crate) fn parse(text: &str) -> Result<Duration, Invalid> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(Invalid::Syntax);
    }
    // Nanoseconds: `Duration::MAX` is below 2^95, so a `u128` sum of items
    // that each fit a `Duration` cannot overflow before it is checked.
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let (whole, after) = split_at_first(rest, |c| !c.is_ascii_digit());
        if whole.is_empty() {
            return Err(Invalid::Syntax);
        }
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after) => match split_at_first(after, |c| !c.is_ascii_digit()) {
                ("", _) => return Err(Invalid::Syntax),
                split => split,
            },
            None => ("", after),
        };
        let (unit, after) = split_at_first(after.trim_start(), |c| !is_unit_char(c));
        let unit = unit_nanos(unit).ok_or(Invalid::Syntax)?;
        total = total.checked_add(item_nanos(whole, fraction, unit)?).ok_or(Invalid::TooLarge)?;
        if total > max_nanos() {
            return Err(Invalid::TooLarge);
        }
        rest = after.trim_start();
    }
    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| Invalid::TooLarge)?;
    let nanos = u32::try_from(total % NANOS_PER_SEC).map_err(|_| Invalid::TooLarge)?;
    // `nanos` is below one second: `Duration::new` has nothing to carry.
    Ok(Duration::new(secs, nanos))
}

/// `Duration::MAX` in nanoseconds.
fn max_nanos() -> u128 {
    u128::from(u64::MAX) * NANOS_PER_SEC + (NANOS_PER_SEC - 1)
}

/// `text` split before the first character matching `stop` (or not at all).
fn split_at_first(text: &str, stop: impl Fn(char) -> bool) -> (&str, &str) {
    text.split_at(text.find(stop).unwrap_or(text.len()))
}

/// Letters of a unit: ASCII, and the two look-alike characters for micro.
fn is_unit_char(c: char) -> bool {
    c.is_ascii_alphabetic() || c == MICRO_SIGN || c == GREEK_MU
}

/// `µ`, U+00B5, the one humantime knows.
const MICRO_SIGN: char = '\u{b5}';
/// `μ`, U+03BC, which looks the same and is what many keyboards type.
const GREEK_MU: char = '\u{3bc}';

/// How many nanoseconds one `unit` is; months and years are humantime's
/// (30.44 and 365.25 days).
fn unit_nanos(unit: &str) -> Option<u128> {
    let seconds: u128 = match unit {
        "nanos" | "nsec" | "ns" => return Some(1),
        "usec" | "us" | "\u{b5}s" | "\u{3bc}s" => return Some(1_000),
        "millis" | "msec" | "ms" => return Some(1_000_000),
        "seconds" | "second" | "secs" | "sec" | "s" => 1,
        "minutes" | "minute" | "min" | "mins" | "m" => 60,
        "hours" | "hour" | "hr" | "hrs" | "h" => 3_600,
        "days" | "day" | "d" => 86_400,
        "weeks" | "week" | "wk" | "wks" | "w" => 604_800,
        "months" | "month" | "M" => 2_630_016,
        "years" | "year" | "yr" | "yrs" | "y" => 31_557_600,
        _ => return None,
    };
    Some(seconds * NANOS_PER_SEC)
}

/// `whole.fraction` units in nanoseconds.
fn item_nanos(whole: &str, fraction: &str, unit: u128) -> Result<u128, Invalid> {
    let whole = digits(whole).ok_or(Invalid::TooLarge)?;
    let whole = whole.checked_mul(unit).ok_or(Invalid::TooLarge)?;
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        return Ok(whole);
    }
    // `numerator / 10^len` of a unit, kept exact: it must come to whole
    // nanoseconds. The last digit is not 0, so past 38 digits (beyond `u128`)
    // the denominator keeps a factor 2^39 or 5^39, which no unit has.
    let len = u32::try_from(fraction.len()).map_err(|_| Invalid::TooPrecise)?;
    let numerator = digits(fraction).ok_or(Invalid::TooPrecise)?;
    let denominator = 10u128.checked_pow(len).ok_or(Invalid::TooPrecise)?;
    // numerator·unit / denominator = (numerator / d) · (unit / g), with g the
    // common factor of unit and denominator: no product exceeds `unit`.
    let common = gcd(unit, denominator);
    let rest = denominator / common;
    if numerator % rest != 0 {
        return Err(Invalid::TooPrecise);
    }
    let part = (numerator / rest) * (unit / common);
    whole.checked_add(part).ok_or(Invalid::TooLarge)
}

/// The decimal number `text` (ASCII digits only), if it fits a `u128`.
fn digits(text: &str) -> Option<u128> {
    text.chars().try_fold(0u128, |number, digit| number.checked_mul(10)?.checked_add(u128::from(digit.to_digit(10)?)))
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX_SECS: u64 = u64::MAX;

    fn ok(text: &str) -> Duration {
        match parse(text) {
            Ok(duration) => duration,
            Err(invalid) => panic!("{text:?} refused: {invalid:?}"),
        }
    }

    #[test]
    fn units_and_forms() {
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("2s"), Duration::from_secs(2));
        assert_eq!(ok("1m30s"), Duration::from_secs(90));
        assert_eq!(ok("1m 30s"), Duration::from_secs(90));
        assert_eq!(ok("2 hours 1 min"), Duration::from_secs(7260));
        assert_eq!(ok("500us"), Duration::from_micros(500));
        assert_eq!(ok("500µs"), Duration::from_micros(500));
        assert_eq!(ok("7ns"), Duration::from_nanos(7));
        assert_eq!(ok("1.5s"), Duration::from_millis(1500));
        assert_eq!(ok("0.25ms"), Duration::from_micros(250));
        assert_eq!(ok("1.50000s"), Duration::from_millis(1500));
        assert_eq!(ok("0.000000001s"), Duration::from_nanos(1));
        assert_eq!(ok("1d"), Duration::from_secs(86_400));
        assert_eq!(ok("0"), Duration::ZERO);
        assert_eq!(ok("0s"), Duration::ZERO);
        for refused in ["", "5", "100xs", "s", "1.s", ".5s", "1s2", "1s.", "-1s", "1s,2s", "1 2s", "1_000ms", "1.5.5s"]
        {
            assert_eq!(parse(refused), Err(Invalid::Syntax), "{refused:?}");
        }
        assert_eq!(parse("0.5ns"), Err(Invalid::TooPrecise));
        assert_eq!(parse("0.0000000001s"), Err(Invalid::TooPrecise));
        assert_eq!(parse(&format!("0.{}1h", "0".repeat(60))), Err(Invalid::TooPrecise));
    }

    /// `"1μs"` with the Greek letter mu (U+03BC) was refused, while the micro
    /// sign (U+00B5) that humantime knows worked; they look the same.
    #[test]
    fn greek_mu_and_micro_sign_both_mean_microseconds() {
        assert_eq!(ok("1\u{3bc}s"), Duration::from_micros(1));
        assert_eq!(ok("1\u{b5}s"), Duration::from_micros(1));
        assert_eq!(ok("1.5\u{3bc}s 2\u{b5}s"), Duration::from_nanos(3_500));
    }

    /// The largest duration parses; one nanosecond more, however it is
    /// written, is too large.
    #[test]
    fn the_edge_of_duration_max() {
        assert_eq!(ok("18446744073709551615s 999999999ns"), Duration::MAX);
        assert_eq!(ok("18446744073709551615.999999999s"), Duration::MAX);
        for too_large in [
            "18446744073709551615s 1000ms",
            "18446744073709551615s 1000000us",
            "18446744073709551615s 1000000000ns",
            "18446744073709551615s 500ms 500ms",
            "18446744073709551615s 999999999ns 1ns",
            "18446744073709551616s",
            "584942417356y",
            "340282366920938463463374607431768211456ns",
            "99999999999999999999999999999999999999999999999999s",
        ] {
            assert_eq!(parse(too_large), Err(Invalid::TooLarge), "{too_large:?}");
        }
    }

    /// Large second counts with sub-second parts in every unit and order:
    /// never a panic, and the exact sum whenever it fits a `Duration`.
    #[test]
    fn generated_large_durations_never_panic() {
        let seconds = [0, 1, 59, 86_399, u64::from(u32::MAX), 1 << 63, MAX_SECS - 2, MAX_SECS - 1, MAX_SECS];
        let parts = [0, 1, 999, 1_000, 999_999, 1_000_000, 999_999_999, 1_000_000_000, 1 << 40, u64::MAX];
        let sub_units: [(&str, u128); 6] =
            [("ns", 1), ("nanos", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("msec", 1_000_000)];
        let second_units: [(&str, u128); 5] = [("s", 1), ("sec", 1), ("m", 60), ("h", 3_600), ("years", 31_557_600)];
        let mut checked = 0;
        for secs in seconds {
            for (second_unit, second_factor) in second_units {
                for first in parts {
                    for second in parts {
                        for (unit_a, factor_a) in sub_units {
                            for (unit_b, factor_b) in sub_units {
                                let items = [
                                    (secs, second_unit, second_factor * NANOS_PER_SEC),
                                    (first, unit_a, factor_a),
                                    (second, unit_b, factor_b),
                                ];
                                // Sub-second parts first and last, with and
                                // without spaces.
                                for order in [[0, 1, 2], [1, 2, 0], [2, 0, 1]] {
                                    let written = order.map(|i| format!("{}{}", items[i].0, items[i].1));
                                    let expected: u128 =
                                        items.iter().map(|&(n, _, factor)| u128::from(n) * factor).sum();
                                    let expected = (expected <= max_nanos()).then(|| {
                                        let secs = u64::try_from(expected / NANOS_PER_SEC).unwrap_or(u64::MAX);
                                        let nanos = u32::try_from(expected % NANOS_PER_SEC).unwrap_or(0);
                                        Duration::new(secs, nanos)
                                    });
                                    for separator in [" ", ""] {
                                        let text = written.join(separator);
                                        let parsed = parse(&text);
                                        assert_eq!(parsed.ok(), expected, "{text:?}");
                                        if expected.is_none() {
                                            assert_eq!(parsed, Err(Invalid::TooLarge), "{text:?}");
                                        }
                                        checked += 1;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000, "{checked}");
    }

    /// Many items, each small, adding up past `Duration::MAX`.
    #[test]
    fn many_items_add_up_to_too_large() {
        let half = format!("{}s ", MAX_SECS / 2);
        assert_eq!(parse(half.repeat(2).trim()).ok(), Some(Duration::from_secs(MAX_SECS - 1)));
        assert_eq!(parse(half.repeat(3).trim()), Err(Invalid::TooLarge));
        let ms = "999ms ".repeat(10_000);
        assert_eq!(parse(ms.trim()).ok(), Some(Duration::from_secs(9_990)));
    }

    /// Every string humantime accepted and did not panic on still means the
    /// same duration.
    #[test]
    fn same_durations_as_humantime() {
        let units = [
            "nanos", "nsec", "ns", "usec", "us", "µs", "millis", "msec", "ms", "seconds", "second", "secs", "sec", "s",
            "minutes", "minute", "min", "mins", "m", "hours", "hour", "hr", "hrs", "h", "days", "day", "d", "weeks",
            "week", "wk", "wks", "w", "months", "month", "M", "years", "year", "yr", "yrs", "y",
        ];
        let numbers = ["0", "1", "7", "10", "250", "1.5", "0.25", "2.000", "12.125", "1000000"];
        for unit in units {
            for number in numbers {
                for text in [format!("{number}{unit}"), format!("{number} {unit}"), format!("1h {number}{unit} 3ms")] {
                    if let Ok(expected) = humantime::parse_duration(&text) {
                        assert_eq!(parse(&text), Ok(expected), "{text:?}");
                    }
                }
            }
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            /// Any string at all: an answer, never a panic.
            #[test]
            fn any_text_gets_an_answer(text in "[0-9 .a-zA-Z\u{b5}\u{3bc}]{0,40}") {
                let _ = parse(&text);
            }

            /// Any list of (number, unit): the exact sum, or too large.
            #[test]
            fn any_items_sum_exactly(items in proptest::collection::vec((any::<u64>(), 0..10usize), 1..6)) {
                const UNITS: [&str; 10] = ["ns", "us", "ms", "s", "m", "h", "d", "w", "M", "y"];
                let text: Vec<String> = items.iter().map(|&(n, unit)| format!("{n}{}", UNITS[unit])).collect();
                let text = text.join(" ");
                let sum: Option<u128> = items.iter().try_fold(0u128, |sum, &(n, unit)| {
                    sum.checked_add(u128::from(n).checked_mul(unit_nanos(UNITS[unit])?)?)
                });
                if let Some(sum) = sum.filter(|&sum| sum <= max_nanos()) {
                    prop_assert_eq!(parse(&text).map(|duration| duration.as_nanos()), Ok(sum));
                } else {
                    prop_assert_eq!(parse(&text), Err(Invalid::TooLarge));
                }
            }
        }
    }
}
