//! Duration strings such as `"250ms"` or `"1m 30s"`, for configuration files.
//!
//! A copy of the parser in `retry-macros/src/duration.rs` (a proc-macro crate
//! cannot export it), so that a file and an attribute accept the same
//! strings; a test checks that the two copies stay the same.

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

    /// The attribute and a configuration file must accept the same strings.
    #[test]
    fn same_parser_as_the_macro() {
        let code = |text: &'static str| {
            let start = text.find("use std::time::Duration;").unwrap_or(0);
            let end = text.find("#[cfg(test)]").unwrap_or(text.len());
            text[start..end].trim_end().to_owned()
        };
        assert_eq!(code(include_str!("duration_text.rs")), code(include_str!("../../retry-macros/src/duration.rs")));
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse("100xs"), Err(Invalid::Syntax));
        assert_eq!(parse("18446744073709551615s 1000ms"), Err(Invalid::TooLarge));
    }
}
