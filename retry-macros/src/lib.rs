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
mod storm;
mod suggest;

use proc_macro::TokenStream;

/// Retries the function's body when it returns `Err`.
///
/// See the documentation of `retry_runtime` for the arguments and examples.
#[proc_macro_attribute]
pub fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::retry(args.into(), &item.into()).into()
}
