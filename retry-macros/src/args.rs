//! The attribute's arguments: parsed into typed values, each checked where it stands.

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Path, PathArguments, Token, UnOp};

use crate::duration::{self, Invalid};
use crate::errors::Errors;
use crate::suggest;

pub(crate) const KEYS: &[&str] = &[
    "max",
    "base",
    "cap",
    "multiplier",
    "backoff",
    "jitter",
    "on",
    "deadline",
    "on_retry",
    "policy",
    "clone",
    "stats",
    "budget",
    "breaker",
    "timeout",
    "sleep",
    "attempt",
    "fallback",
    "hedge",
    "config",
    "crate",
];
const BACKOFFS: &[&str] = &["exponential", "linear", "fixed"];
const JITTERS: &[&str] = &["none", "full", "equal", "decorrelated"];
const DURATION_HELP: &str =
    "expected a number with a unit like \"250ms\", \"2s\", \"1m30s\" (units: ns, us, ms, s, m, h)";

pub(crate) const DEFAULT_BASE: Duration = Duration::from_millis(100);
pub(crate) const DEFAULT_CAP: Duration = Duration::from_secs(30);

/// A value and the tokens it came from, for error spans.
pub(crate) struct Given<T> {
    pub(crate) value: T,
    pub(crate) key: Ident,
}

#[derive(Clone, Copy)]
pub(crate) enum BackoffKind {
    Exponential,
    Linear,
    Fixed,
}

#[derive(Clone, Copy)]
pub(crate) enum JitterKind {
    None,
    Full,
    Equal,
    Decorrelated,
    Proportional(f64),
}

/// Where a call's statistics go.
pub(crate) enum StatsTarget {
    /// `stats = false`: not recorded.
    Off,
    /// The default (or `stats = true`): the function's own, registered under its name.
    Own,
    /// `stats = PATH`: a user's `static` `Stats`.
    Static(Path),
}

/// Everything the attribute said, typed.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) max: Option<Given<u32>>,
    pub(crate) base: Option<Given<Duration>>,
    pub(crate) cap: Option<Given<Duration>>,
    pub(crate) multiplier: Option<Given<f64>>,
    pub(crate) backoff: Option<Given<BackoffKind>>,
    pub(crate) jitter: Option<Given<JitterKind>>,
    pub(crate) deadline: Option<Given<Duration>>,
    pub(crate) on: Option<Given<Expr>>,
    pub(crate) on_retry: Option<Given<Expr>>,
    pub(crate) policy: Option<Given<Expr>>,
    pub(crate) clone: Option<Given<Vec<Ident>>>,
    pub(crate) krate: Option<Given<Path>>,
    pub(crate) stats: Option<Given<StatsTarget>>,
    pub(crate) budget: Option<Given<Path>>,
    pub(crate) breaker: Option<Given<Path>>,
    pub(crate) timeout: Option<Given<Duration>>,
    pub(crate) sleep: Option<Given<Expr>>,
    pub(crate) attempt: Option<Given<Ident>>,
    /// `fallback = expr`: called with the error the call would return.
    pub(crate) fallback: Option<Given<Expr>>,
    /// `hedge = "50ms"`: the delay before a copy of a slow attempt starts.
    pub(crate) hedge: Option<Given<Duration>>,
    /// `config = "operation"`: the name of the operation's entry in the installed `config::Policies`.
    pub(crate) config: Option<Given<LitStr>>,
}

/// One `key = value` or `key(list)` as written, before its value is understood.
struct RawArg {
    key: Ident,
    value: RawValue,
}

enum RawValue {
    Assigned(Expr),
    List(Punctuated<Expr, Token![,]>),
}

impl Parse for RawArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `parse_any` accepts keywords, so `crate = …` parses as a key.
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            RawValue::Assigned(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            RawValue::List(content.parse_terminated(Expr::parse, Token![,])?)
        } else {
            return Err(syn::Error::new(
                key.span(),
                format!("expected `{key} = value` (arguments are written `#[retry(max = 5, base = \"100ms\")]`)"),
            ));
        };
        Ok(RawArg { key, value })
    }
}

impl Args {
    /// Parses the attribute's tokens. Every problem is collected in `errors`;
    /// what could be understood is returned, so expansion can go on.
    pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Args {
        let mut args = Args::default();
        let raw = match syn::parse::Parser::parse2(Punctuated::<RawArg, Token![,]>::parse_terminated, tokens) {
            Ok(raw) => raw,
            Err(error) => {
                errors.push(error);
                return args;
            }
        };
        for arg in raw {
            args.accept(arg, errors);
        }
        args.check_together(errors);
        args
    }

    fn accept(&mut self, RawArg { key, value }: RawArg, errors: &mut Errors) {
        let name = key.unraw().to_string();
        let parsed = match (name.as_str(), value) {
            ("clone", RawValue::List(list)) => clone_list(list).map(|v| set(&mut self.clone, &key, v, errors)),
            ("clone", RawValue::Assigned(expr)) => Err(syn::Error::new_spanned(
                expr,
                "write `clone(arg1, arg2)`: the by-value arguments to clone for each attempt",
            )),
            (_, RawValue::List(list)) if KEYS.contains(&name.as_str()) => {
                Err(syn::Error::new(list.span(), format!("expected `{name} = value`; only `clone(…)` takes a list")))
            }
            (_, RawValue::Assigned(expr)) => {
                // Values are read through groups; expressions (`on`,
                // `on_retry`, `policy`) are kept as written, emitted where a
                // group keeps their precedence.
                let value = ungrouped(&expr);
                match name.as_str() {
                    "max" => max(value).map(|v| set(&mut self.max, &key, v, errors)),
                    "base" => duration(&key, value).map(|v| set(&mut self.base, &key, v, errors)),
                    "cap" => duration(&key, value).map(|v| set(&mut self.cap, &key, v, errors)),
                    "deadline" => duration(&key, value).map(|v| set(&mut self.deadline, &key, v, errors)),
                    "timeout" => timeout(&key, value).map(|v| set(&mut self.timeout, &key, v, errors)),
                    "hedge" => duration(&key, value).map(|v| set(&mut self.hedge, &key, v, errors)),
                    "budget" => static_path(value, "budget", "retry_runtime::RetryBudget", "API_BUDGET")
                        .map(|v| set(&mut self.budget, &key, v, errors)),
                    "breaker" => static_path(value, "breaker", "retry_runtime::CircuitBreaker", "PAYMENTS_BREAKER")
                        .map(|v| set(&mut self.breaker, &key, v, errors)),
                    "multiplier" => multiplier(value).map(|v| set(&mut self.multiplier, &key, v, errors)),
                    "backoff" => backoff(value).map(|v| set(&mut self.backoff, &key, v, errors)),
                    "jitter" => jitter(value).map(|v| set(&mut self.jitter, &key, v, errors)),
                    "on" => {
                        set(&mut self.on, &key, expr, errors);
                        Ok(())
                    }
                    "on_retry" => {
                        set(&mut self.on_retry, &key, expr, errors);
                        Ok(())
                    }
                    "policy" => {
                        set(&mut self.policy, &key, expr, errors);
                        Ok(())
                    }
                    "sleep" => {
                        set(&mut self.sleep, &key, expr, errors);
                        Ok(())
                    }
                    "fallback" => {
                        set(&mut self.fallback, &key, expr, errors);
                        Ok(())
                    }
                    "attempt" => attempt_name(value).map(|v| set(&mut self.attempt, &key, v, errors)),
                    "stats" => stats(value).map(|v| set(&mut self.stats, &key, v, errors)),
                    "crate" => crate_path(value).map(|v| set(&mut self.krate, &key, v, errors)),
                    "config" => config_name(value).map(|v| set(&mut self.config, &key, v, errors)),
                    _ => Err(unknown_key(&key, &name)),
                }
            }
            (_, RawValue::List(_)) => Err(unknown_key(&key, &name)),
        };
        if let Err(error) = parsed {
            errors.push(error);
        }
    }

    /// Rules between arguments: `policy` excludes the literal policy keys, and
    /// `cap` must not be below `base` (defaults included).
    fn check_together(&self, errors: &mut Errors) {
        if self.policy.is_some() {
            for key in self.literal_policy_keys() {
                errors.spanned(
                    key,
                    format!("`{key}` cannot be combined with `policy`: the policy already decides it (set it on the `RetryPolicy`, or drop `policy`)"),
                );
            }
        }
        if let (Some(hedge), Some(max)) = (&self.hedge, &self.max)
            && max.value == 1
        {
            errors.spanned(
                &hedge.key,
                "`hedge` with `max = 1` would never start a copy: `max` counts the attempts started, so hedge with `max = 2` or more, or drop `hedge`",
            );
        }
        // `config` replaces `policy`'s job: the file's keys over the literal ones.
        if let (Some(config), Some(_)) = (&self.config, &self.policy) {
            errors.spanned(
                &config.key,
                "`config` cannot be combined with `policy`: `config` takes the policy from the installed `retry_runtime::config::Policies` (write the fallback keys literally, such as `max = 3`, or drop `config`)",
            );
        }
        let base = self.base.as_ref().map_or(DEFAULT_BASE, |b| b.value);
        let cap = self.cap.as_ref().map_or(DEFAULT_CAP, |c| c.value);
        if cap < base {
            match (&self.cap, &self.base) {
                (Some(cap_arg), _) => errors.spanned(
                    &cap_arg.key,
                    format!("`cap` ({cap:?}) is below `base` ({base:?}): no delay could reach `base`"),
                ),
                (None, Some(base_arg)) => errors.spanned(
                    &base_arg.key,
                    format!("`base` ({base:?}) is above the default `cap` ({cap:?}): add a `cap` of at least `base`"),
                ),
                (None, None) => {}
            }
        }
    }

    fn literal_policy_keys(&self) -> impl Iterator<Item = &Ident> {
        [
            self.max.as_ref().map(|g| &g.key),
            self.base.as_ref().map(|g| &g.key),
            self.cap.as_ref().map(|g| &g.key),
            self.multiplier.as_ref().map(|g| &g.key),
            self.backoff.as_ref().map(|g| &g.key),
            self.jitter.as_ref().map(|g| &g.key),
            self.deadline.as_ref().map(|g| &g.key),
        ]
        .into_iter()
        .flatten()
    }
}

/// Stores a key's value the first time; reports a repeat at the repeat.
fn set<T>(slot: &mut Option<Given<T>>, key: &Ident, value: T, errors: &mut Errors) {
    if slot.is_some() {
        errors.spanned(key, format!("`{key}` is given twice: each argument of #[retry] may appear once"));
    } else {
        *slot = Some(Given { value, key: key.clone() });
    }
}

fn unknown_key(key: &Ident, name: &str) -> syn::Error {
    let hint = suggest::closest(name, KEYS).map(|k| format!(": did you mean `{k}`?")).unwrap_or_default();
    syn::Error::new_spanned(
        key,
        format!("unknown #[retry] argument `{name}`{hint}\nexpected one of {}", suggest::list(KEYS)),
    )
}

/// `expr` without the parentheses and invisible groups around it.
///
/// A `macro_rules!` fragment (`$x:path`, `$x:expr`, `$x:literal`) reaches
/// the attribute wrapped in a group without delimiters, which syn parses as
/// `Expr::Group`: every key's value is looked at through this, so that a value
/// means the same written directly or forwarded by a macro.
fn ungrouped(mut expr: &Expr) -> &Expr {
    loop {
        match expr {
            Expr::Group(group) => expr = &group.expr,
            Expr::Paren(paren) => expr = &paren.expr,
            _ => return expr,
        }
    }
}

/// The literal of `expr`, looking through a leading minus sign.
fn literal(expr: &Expr) -> Option<(bool, &Lit)> {
    match ungrouped(expr) {
        Expr::Lit(ExprLit { lit, .. }) => Some((false, lit)),
        Expr::Unary(ExprUnary { op: UnOp::Neg(_), expr, .. }) => match ungrouped(expr) {
            Expr::Lit(ExprLit { lit, .. }) => Some((true, lit)),
            _ => None,
        },
        _ => None,
    }
}

/// The name the body gives its `Attempt`: a plain identifier.
fn attempt_name(expr: &Expr) -> syn::Result<Ident> {
    if let Expr::Path(path) = expr
        && path.qself.is_none()
        && let Some(name) = path.path.get_ident()
    {
        if name == "self" || name == "Self" || name == "crate" || name == "super" {
            return Err(syn::Error::new_spanned(
                name,
                format!(
                    "`{name}` is a keyword: `attempt` takes a new name for the body's `retry_runtime::Attempt`, such as `attempt = attempt`"
                ),
            ));
        }
        return Ok(name.clone());
    }
    Err(syn::Error::new_spanned(
        expr,
        "`attempt` takes the name the body will use for its `retry_runtime::Attempt`, such as `attempt = attempt`",
    ))
}

fn max(expr: &Expr) -> syn::Result<u32> {
    const HELP: &str =
        "`max` is the total number of attempts, the first included: an integer from 1 (no retry) to 4294967295";
    let int = match literal(expr) {
        Some((false, Lit::Int(int))) => int,
        Some((false, Lit::Str(text))) if text.value().trim().parse::<u32>().is_ok() => {
            return Err(syn::Error::new_spanned(
                expr,
                format!("`max` takes an integer, not a string: write `max = {}` without quotes", text.value().trim()),
            ));
        }
        _ => return Err(syn::Error::new_spanned(expr, format!("expected an integer: {HELP}"))),
    };
    // The digits alone are read: `300u8` would otherwise pass as 300 where
    // rustc refuses it, and `5s` as 5.
    if !matches!(int.suffix(), "" | "u32") {
        let suffix = int.suffix();
        let message = match int.base10_parse::<u32>() {
            Ok(attempts) if attempts > 0 => {
                format!("write `max = {attempts}` without the `{suffix}` suffix: `max` counts attempts, as a `u32`")
            }
            _ => format!("unexpected suffix `{suffix}`: {HELP}"),
        };
        return Err(syn::Error::new_spanned(int, message));
    }
    match int.base10_parse::<u32>() {
        Ok(0) => Err(syn::Error::new_spanned(
            int,
            "`max = 0` would never call the function: `max` counts every attempt, the first included (use `max = 1` for no retry)",
        )),
        Ok(attempts) => Ok(attempts),
        Err(_) => Err(syn::Error::new_spanned(int, HELP)),
    }
}

fn duration(key: &Ident, expr: &Expr) -> syn::Result<Duration> {
    match literal(expr) {
        Some((false, Lit::Str(text))) => parse_duration(text),
        Some((false, Lit::Int(number))) => Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` takes a duration string with a unit, such as `{key} = \"{}ms\"`", number.base10_digits()),
        )),
        _ => Err(syn::Error::new_spanned(expr, format!("`{key}` takes a duration string such as `{key} = \"100ms\"`"))),
    }
}

fn parse_duration(text: &LitStr) -> syn::Result<Duration> {
    let value = text.value();
    duration::parse(value.trim()).map_err(|invalid| {
        let message = match invalid {
            Invalid::Syntax => format!("invalid duration `{value}`: {DURATION_HELP}"),
            Invalid::TooLarge => format!(
                "duration `{value}` is too large: a duration holds at most `18446744073709551615s 999999999ns` (u64::MAX seconds, about 585 billion years)"
            ),
            Invalid::TooPrecise => format!(
                "duration `{value}` is not a whole number of nanoseconds: the smallest step is `\"1ns\"` (`\"0.000000001s\"`)"
            ),
        };
        syn::Error::new_spanned(text, message)
    })
}

fn float(expr: &Expr) -> Option<f64> {
    match literal(expr)? {
        (negative, Lit::Float(f)) => f.base10_parse::<f64>().ok().map(|v| if negative { -v } else { v }),
        (negative, Lit::Int(i)) => i.base10_parse::<f64>().ok().map(|v| if negative { -v } else { v }),
        _ => None,
    }
}

fn multiplier(expr: &Expr) -> syn::Result<f64> {
    match float(expr) {
        Some(m) if m.is_finite() && m >= 1.0 => Ok(m),
        Some(m) => Err(syn::Error::new_spanned(
            expr,
            format!(
                "`multiplier` must be at least 1.0, got {m}: a smaller one would shrink the delay after each failure"
            ),
        )),
        None => Err(syn::Error::new_spanned(
            expr,
            "`multiplier` takes a number of at least 1.0, such as `multiplier = 1.5`",
        )),
    }
}

fn backoff(expr: &Expr) -> syn::Result<BackoffKind> {
    let Some((false, Lit::Str(name))) = literal(expr) else {
        return Err(syn::Error::new_spanned(
            expr,
            format!("`backoff` takes a string: one of {}", suggest::list(BACKOFFS)),
        ));
    };
    match name.value().as_str() {
        "exponential" => Ok(BackoffKind::Exponential),
        "linear" => Ok(BackoffKind::Linear),
        "fixed" => Ok(BackoffKind::Fixed),
        other => Err(unknown_name(name, other, "backoff", BACKOFFS, "")),
    }
}

fn jitter(expr: &Expr) -> syn::Result<JitterKind> {
    const FLOAT_HELP: &str = "or a float in (0, 1] for proportional jitter, such as `jitter = 0.2`";
    if let Some(factor) = float(expr) {
        return if factor > 0.0 && factor <= 1.0 {
            Ok(JitterKind::Proportional(factor))
        } else {
            Err(syn::Error::new_spanned(
                expr,
                format!(
                    "proportional jitter must be in (0, 1], got {factor}: it spreads each delay over [d·(1−f), d·(1+f)]"
                ),
            ))
        };
    }
    let Some((false, Lit::Str(name))) = literal(expr) else {
        return Err(syn::Error::new_spanned(
            expr,
            format!("`jitter` takes one of {}, {FLOAT_HELP}", suggest::list(JITTERS)),
        ));
    };
    match name.value().as_str() {
        "none" => Ok(JitterKind::None),
        "full" => Ok(JitterKind::Full),
        "equal" => Ok(JitterKind::Equal),
        "decorrelated" => Ok(JitterKind::Decorrelated),
        other => Err(unknown_name(name, other, "jitter", JITTERS, FLOAT_HELP)),
    }
}

fn unknown_name(token: &LitStr, name: &str, key: &str, names: &[&str], extra: &str) -> syn::Error {
    let hint = suggest::closest(name, names).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
    let extra = if extra.is_empty() { String::new() } else { format!(", {extra}") };
    syn::Error::new_spanned(
        token,
        format!("unknown {key} `{name}`{hint}: expected one of {}{extra}", suggest::list(names)),
    )
}

fn clone_list(list: Punctuated<Expr, Token![,]>) -> syn::Result<Vec<Ident>> {
    let mut idents = Vec::new();
    let mut errors = Errors::default();
    for expr in list {
        match ungrouped(&expr) {
            Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
                idents.extend(path.path.get_ident().cloned());
            }
            _ => errors.spanned(&expr, "`clone(…)` lists argument names, such as `clone(request, body)`"),
        }
    }
    errors.finish().map(|()| idents)
}

fn stats(expr: &Expr) -> syn::Result<StatsTarget> {
    match expr {
        Expr::Lit(ExprLit { lit: Lit::Bool(flag), .. }) => {
            Ok(if flag.value { StatsTarget::Own } else { StatsTarget::Off })
        }
        Expr::Path(path) if path.qself.is_none() => {
            static_path(expr, "stats", "retry_runtime::Stats", "DB_STATS").map(StatsTarget::Static)
        }
        _ => Err(syn::Error::new_spanned(
            expr,
            "`stats` takes `false` (record nothing), `true` (the default: the function's own statistics), or the path of a `static` `retry_runtime::Stats`, such as `stats = DB_STATS`",
        )),
    }
}

/// The operation's name in the configuration: a non-empty string literal,
/// so that the file's keys can be read from it.
fn config_name(expr: &Expr) -> syn::Result<LitStr> {
    match literal(expr) {
        Some((false, Lit::Str(name))) if !name.value().trim().is_empty() => Ok(name.clone()),
        Some((false, Lit::Str(name))) => Err(syn::Error::new_spanned(
            name,
            "`config` takes the operation's name in the configuration file, such as `config = \"get_product\"`, not an empty string",
        )),
        _ => Err(syn::Error::new_spanned(
            expr,
            "`config` takes a string literal: the operation's name in the configuration file, such as `config = \"get_product\"`",
        )),
    }
}

/// A zero timeout would fail every attempt before it starts.
fn timeout(key: &Ident, expr: &Expr) -> syn::Result<Duration> {
    let limit = duration(key, expr)?;
    if limit.is_zero() {
        return Err(syn::Error::new_spanned(
            expr,
            "`timeout = \"0s\"` would fail every attempt before it starts: give each attempt a positive time limit, such as `timeout = \"500ms\"`",
        ));
    }
    Ok(limit)
}

/// The path of a `static` the loop borrows for `'static`.
fn static_path(expr: &Expr, key: &str, ty: &str, example: &str) -> syn::Result<Path> {
    match expr {
        Expr::Path(path) if path.qself.is_none() => plain(&path.path, |arguments| {
            format!(
                "`{key}` takes the path of a `static` `{ty}`, such as `{key} = {example}`: a `static` has no {arguments}"
            )
        }),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` takes the path of a `static` `{ty}` shared by the calls, such as `{key} = {example}`"),
        )),
    }
}

fn crate_path(expr: &Expr) -> syn::Result<Path> {
    let path = match expr {
        Expr::Path(path) if path.qself.is_none() => path.path.clone(),
        Expr::Lit(ExprLit { lit: Lit::Str(text), .. }) => text.parse().map_err(|_| {
            syn::Error::new_spanned(
                text,
                format!("`crate` takes a path, such as `crate = ::my_retry`, not `{}`", text.value()),
            )
        })?,
        _ => return Err(syn::Error::new_spanned(expr, "`crate` takes a path, such as `crate = ::my_retry`")),
    };
    plain(&path, |arguments| {
        format!("`crate` takes the path of a crate, such as `crate = ::my_retry`: a crate has no {arguments}")
    })
}

/// `path`, if none of its segments has generic or parenthesized arguments:
/// the expansion puts `::__private` after a crate's path (where `<u8>` would
/// not parse) and borrows a `static`, which takes none. Each such segment is
/// an error of its own, located on it.
fn plain(path: &Path, message: impl Fn(&str) -> String) -> syn::Result<Path> {
    let mut errors = Errors::default();
    for segment in &path.segments {
        match &segment.arguments {
            PathArguments::None => {}
            PathArguments::AngleBracketed(_) => errors.spanned(segment, message("generic arguments")),
            PathArguments::Parenthesized(_) => errors.spanned(segment, message("parenthesized arguments")),
        }
    }
    errors.finish().map(|()| path.clone())
}

#[cfg(test)]
mod tests {
    use proc_macro2::{Delimiter, Group};
    use quote::quote;

    use super::*;

    /// `tokens` in a group without delimiters, as a `macro_rules!` fragment
    /// (`$x:path`, `$x:expr`, `$x:literal`) hands them on.
    fn fragment(tokens: TokenStream) -> Group {
        Group::new(Delimiter::None, tokens)
    }

    /// The arguments `tokens` give, which must have no error.
    fn parse_ok(tokens: TokenStream) -> Args {
        let mut errors = Errors::default();
        let args = Args::parse(tokens, &mut errors);
        assert_eq!(errors.count(), 0, "{:?}", errors.finish().err().map(|e| e.to_string()));
        args
    }

    /// The messages of every error `tokens` give, in order.
    fn errors_of(tokens: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        Args::parse(tokens, &mut errors);
        errors.finish().err().map(|error| error.into_iter().map(|e| e.to_string()).collect()).unwrap_or_default()
    }

    /// The macro panicked (`overflow in Duration::new`) on durations whose
    /// sub-second parts carry past `u64::MAX` seconds.
    #[test]
    fn duration_overflow_is_an_error_not_a_panic() {
        let errors = errors_of(quote!(
            cap = "18446744073709551615s 1000ms",
            base = "18446744073709551615s 500ms 500000us",
            deadline = "18446744073709551615s 999999999ns 1ns",
            timeout = "18446744073709551615s 1000000000ns",
        ));
        assert_eq!(errors.len(), 4, "{errors:?}");
        for error in errors {
            assert!(error.contains("is too large: a duration holds at most"), "{error}");
        }
    }

    /// Path-valued keys refused a `macro_rules!` fragment (`budget = $b` with
    /// `$b:path`): only literals were read through the invisible group.
    #[test]
    fn macro_rules_fragments_are_read_through() {
        let [budget, breaker, stats, krate, arg, max, base, off] = [
            quote!(BUDGET),
            quote!(crate::BREAKER),
            quote!(self::STATS),
            quote!(::retry_runtime),
            quote!(request),
            quote!(5),
            quote!("1ms"),
            quote!(false),
        ]
        .map(fragment);
        let args = parse_ok(quote!(
            budget = #budget, breaker = #breaker, stats = #stats, crate = #krate, clone(#arg), max = #max, base = #base
        ));
        let path = |given: Option<Given<Path>>| given.map(|given| crate::expand::path_text(&given.value));
        assert_eq!(path(args.budget).as_deref(), Some("BUDGET"));
        assert_eq!(path(args.breaker).as_deref(), Some("crate::BREAKER"));
        assert_eq!(path(args.krate).as_deref(), Some("::retry_runtime"));
        let Some(StatsTarget::Static(stats)) = args.stats.map(|s| s.value) else { panic!("stats not a path") };
        assert_eq!(crate::expand::path_text(&stats), "self::STATS");
        assert_eq!(args.clone.map(|c| c.value.iter().map(ToString::to_string).collect()), Some(vec!["request".into()]));
        assert_eq!(args.max.map(|m| m.value), Some(5));
        assert_eq!(args.base.map(|b| b.value), Some(Duration::from_millis(1)));

        let nested = fragment(quote!((#max)));
        let args = parse_ok(quote!(stats = #off, max = #nested));
        assert!(matches!(args.stats.map(|s| s.value), Some(StatsTarget::Off)));
        assert_eq!(args.max.map(|m| m.value), Some(5));
    }

    /// `crate = retry_runtime::<u8>` was accepted, and the expansion
    /// (`retry_runtime::<u8>::__private`) did not parse.
    #[test]
    fn generic_arguments_are_refused_in_paths() {
        let errors = errors_of(quote!(
            crate = retry_runtime::<u8>,
            budget = BUDGET::<u8>,
            breaker = a::<'static>::BREAKER::<()>,
            stats = STATS::<u8>,
        ));
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(errors[0].starts_with("`crate` takes the path of a crate"), "{}", errors[0]);
        for error in &errors[1..] {
            assert!(error.ends_with("a `static` has no generic arguments"), "{error}");
        }
        let errors = errors_of(quote!(crate = "retry_runtime<u8>"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].ends_with("a crate has no generic arguments"), "{}", errors[0]);
        assert!(errors_of(quote!(crate = ::retry_runtime, budget = self::BUDGET, stats = crate::STATS)).is_empty());
    }

    /// `max = 300u8` was accepted as 300 (rustc refuses the literal), and
    /// `max = 5s` as 5: the suffix was ignored.
    #[test]
    fn max_refuses_suffixes_other_than_u32() {
        for (tokens, expected) in [
            (quote!(max = 300u8), "write `max = 300` without the `u8` suffix"),
            (quote!(max = 5s), "write `max = 5` without the `s` suffix"),
            (quote!(max = 5usize), "write `max = 5` without the `usize` suffix"),
            (quote!(max = 5000000000u64), "unexpected suffix `u64`: `max` is the total number of attempts"),
        ] {
            let errors = errors_of(tokens);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].starts_with(expected), "{}", errors[0]);
        }
        assert_eq!(parse_ok(quote!(max = 7u32)).max.map(|m| m.value), Some(7));
        assert_eq!(parse_ok(quote!(max = 7)).max.map(|m| m.value), Some(7));
    }
}
