//! The `#[retry]` attribute of [`retry-runtime`](https://docs.rs/retry-runtime).
//!
//! Depend on `retry-runtime` and write `use retry_runtime::retry;`: the
//! attribute's documentation, and everything the generated code calls, live
//! there. This crate only parses the arguments, checks them, and rewrites the
//! function.

#![forbid(unsafe_code)]

mod args;
mod duration;
mod errors;
mod expand;
mod item;
mod suggest;

use proc_macro::TokenStream;

/// Retries the function's body when it returns `Err`.
///
/// Put it on a sync or async function returning `Result` (a free function,
/// a `&self` or `&mut self` method, a trait impl's method, a generic
/// function): each call runs the body again after a failure, sleeping
/// between attempts, until it succeeds, the error is permanent, or the
/// attempts or the time run out, and returns the last result unchanged.
///
/// ```
/// use retry_runtime::retry;
///
/// #[retry(max = 5, base = "10ms", jitter = "equal", on = retry_runtime::is_transient)]
/// fn read_config(path: &str) -> std::io::Result<String> {
///     std::fs::read_to_string(path)
/// }
///
/// assert!(read_config("/no/such/file").is_err()); // `NotFound` is not retried
/// ```
///
/// # Arguments
///
/// Every argument is optional, and each may be given once. Values are
/// checked at compile time: an unknown or repeated key, `max = 0`,
/// `multiplier = 0.5`, `base = "100xs"` or `cap` below `base` is a compile
/// error on the argument.
///
/// | key | value | default | meaning |
/// |---|---|---|---|
/// | `max` | integer ≥ 1 | `3` | total attempts, the first included (`max = 1`: no retry) |
/// | `base` | duration string | `"100ms"` | delay before the first retry |
/// | `cap` | duration string | `"30s"` | upper bound on any single delay (after jitter) |
/// | `multiplier` | float ≥ 1.0 | `2.0` | growth factor of `exponential` |
/// | `backoff` | `"exponential"`, `"linear"`, `"fixed"` | `"exponential"` | the growth curve of the delay |
/// | `jitter` | `"none"`, `"full"`, `"equal"`, `"decorrelated"`, or a float in (0, 1] | `"full"` | how each delay is randomised |
/// | `on` | `Fn(&E) -> bool` or `Fn(&E) -> Verdict` | retry every error | the classifier, asked after every failed attempt (the last one included) |
/// | `deadline` | duration string | none | total time from the first attempt: no attempt starts once it has passed, and a retry whose sleep would end at or past it is not made |
/// | `on_retry` | `Fn(&RetryEvent<'_, E>)` | none | called before each sleep, only for a retry that will be made |
/// | `policy` | expression giving a `RetryPolicy` (or a reference, `Box`, `Rc`, `Arc` of one) | none | a policy built at run time, evaluated once per call; excludes `max` … `deadline` |
/// | `clone` | `clone(arg, …)` | none | by-value arguments the body consumes: cloned for each attempt |
/// | `stats` | `false`, `true`, or the path of a `static` `Stats` | `true` | where calls are counted: the function's own statistics, none, or a shared `static` |
/// | `budget` | the path of a `static` `RetryBudget` | none | retries paid from a token bucket shared by many calls (`RetryBudget::new()`, `::grpc(max_tokens, token_ratio)` or `::aws_standard()`); a refused retry returns the last error at once |
/// | `breaker` | the path of a `static` `CircuitBreaker` | none | asked before the first attempt and before each retry's sleep; while open, a call fails fast with `E::from(CircuitOpen)` |
/// | `timeout` | duration string (`async fn` only) | none | each attempt is dropped after this long (or when the deadline comes) and fails with `E::from(TimedOut)` |
/// | `sleep` | expression callable as `Fn(Duration) -> impl Future` (`async fn` only) | tokio's timer, else async-io's | what the call sleeps on; the deadline is then measured on `std::time::Instant` |
/// | `attempt` | an identifier | none | the body's name for its `retry_runtime::Attempt` (`number`, `max`, `is_last`, `elapsed`, `call_id`) |
/// | `fallback` | expression callable as `FnOnce(E) -> Result<T, E>` (async fns: `FnOnce(E) -> impl Future<Output = Result<T, E>>`) | none | called with the error the call would return, however it ended (out of attempts, permanent, deadline, budget, breaker, timeout); its result is returned instead |
/// | `hedge` | duration string (`async fn` only) | none | if an attempt has not answered after this long, a copy starts while it runs, up to `max` started; the first success wins, the others are dropped; each copy costs a `budget` token |
/// | `config` | string literal: an operation's name | none | the policy (and, for an `async fn`, each attempt's `timeout`) of that operation in the installed `retry_runtime::config::Policies`, taken once per call; the literal keys fill what the file does not give; excludes `policy`; feature `config` |
/// | `crate` | path | `::retry_runtime` | where the runtime is, if the dependency was renamed |
///
/// Durations are written like `"250ms"`, `"2s"`, `"1m30s"`, `"500us"`, `"1h"`.
/// The runtime's crate documentation has an example of each key and shows
/// what the attribute expands to.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::retry(args.into(), &item.into()).into()
}

#[cfg(test)]
mod tests {
    use crate::args::KEYS;

    /// The keys of the first markdown table in `text` whose header starts with `| key |`.
    fn table_keys(text: &str) -> Vec<String> {
        text.lines()
            .map(|line| line.trim_start().trim_start_matches("///").trim())
            .skip_while(|line| !line.starts_with("| key |"))
            .skip(2)
            .take_while(|line| line.starts_with('|'))
            .filter_map(|row| row.split('`').nth(1).map(str::to_owned))
            .collect()
    }

    fn sorted(keys: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        let mut keys: Vec<String> = keys.into_iter().map(Into::into).collect();
        keys.sort();
        keys
    }

    #[test]
    fn the_attribute_documents_exactly_the_keys_the_parser_accepts() {
        assert_eq!(sorted(table_keys(include_str!("lib.rs"))), sorted(KEYS.iter().copied()));
    }

    #[test]
    fn the_readme_documents_exactly_the_keys_the_parser_accepts() {
        assert_eq!(sorted(table_keys(include_str!("../../README.md"))), sorted(KEYS.iter().copied()));
    }
}
