//! How an attempt's error is written in logs: `Display` if its type has it,
//! else `Debug`, else the type's name. An error type needs neither trait to
//! be retried.
//!
//! Picked by autoref specialisation at the call site, where the error's type
//! is known: the code `#[retry]` generates calls
//! `(&&&Describe(error)).describe_error(f)` with the three traits below in
//! scope, and method resolution takes the first that applies.

use std::fmt;

/// An error to describe.
#[derive(Debug)]
pub struct Describe<'a, T>(pub &'a T);

/// Describes with `Display` (preferred).
pub trait DescribeDisplay {
    /// Writes the error.
    ///
    /// # Errors
    /// The formatter's.
    fn describe_error(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: fmt::Display> DescribeDisplay for &&Describe<'_, T> {
    fn describe_error(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

/// Describes with `Debug` (when there is no `Display`).
pub trait DescribeDebug {
    /// Writes the error.
    ///
    /// # Errors
    /// The formatter's.
    fn describe_error(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: fmt::Debug> DescribeDebug for &Describe<'_, T> {
    fn describe_error(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

/// Describes by the type's name (neither `Display` nor `Debug`).
pub trait DescribeAny {
    /// Writes the error.
    ///
    /// # Errors
    /// The formatter's.
    fn describe_error(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T> DescribeAny for Describe<'_, T> {
    fn describe_error(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::any::type_name::<T>())
    }
}

/// Describes any error by its type's name: for callers that cannot
/// specialise (the closure API is generic over the error type).
pub(crate) fn by_type_name<E>(_: &E, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(std::any::type_name::<E>())
}

/// An error and the function that describes it, as one `Display`.
pub(crate) struct ErrorText<'a, E, D>(pub(crate) &'a E, pub(crate) &'a D);

impl<E, D: Fn(&E, &mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for ErrorText<'_, E, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Opaque;

    #[derive(Debug)]
    struct OnlyDebug;

    fn shown(text: impl Fn(&mut fmt::Formatter<'_>) -> fmt::Result) -> String {
        struct Show<F>(F);
        impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for Show<F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                (self.0)(f)
            }
        }
        Show(text).to_string()
    }

    #[test]
    #[allow(clippy::needless_borrow, reason = "the borrows are the autoref specialisation under test")]
    fn display_then_debug_then_the_type_name() {
        let text = shown(|f| (&&&Describe(&"refused")).describe_error(f));
        assert_eq!(text, "refused");
        let text = shown(|f| (&&&Describe(&OnlyDebug)).describe_error(f));
        assert_eq!(text, "OnlyDebug");
        let text = shown(|f| (&&&Describe(&Opaque)).describe_error(f));
        assert!(text.ends_with("::Opaque"), "{text}");
    }
}
