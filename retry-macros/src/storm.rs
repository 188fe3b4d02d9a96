//! Code generation for the storm protections: `budget`, `breaker`, `timeout`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use crate::args::Args;
use crate::expand::{duration, path_text, respan};

/// `.with_budget(&B)`, located on the path, so a `static` of the wrong type is reported there.
pub(crate) fn budget(args: &Args) -> Option<TokenStream> {
    let path = &args.budget.as_ref()?.value;
    let with_budget = Ident::new("with_budget", path.span());
    Some(quote_spanned!(path.span()=> .#with_budget(&#path)))
}

/// `.with_breaker(&C, "C")` on the call site, located on the path, so a
/// `static` of the wrong type is reported there.
pub(crate) fn breaker(args: &Args) -> Option<TokenStream> {
    let path = &args.breaker.as_ref()?.value;
    let name = path_text(path);
    let with_breaker = Ident::new("with_breaker", path.span());
    Some(quote_spanned!(path.span()=> .#with_breaker(&#path, #name)))
}

/// Before each attempt: ask the breaker, and fail fast with the error
/// converted from `CircuitOpen` if it refuses. Located on the breaker's path:
/// a missing `From<CircuitOpen>` is reported there.
pub(crate) fn admit(
    args: &Args,
    private: &TokenStream,
    state: &Ident,
    output_type: &Type,
    open: &Ident,
) -> Option<TokenStream> {
    let breaker = args.breaker.as_ref()?;
    let span = breaker.value.span();
    let private = respan(private.clone(), span);
    let output_type = respan(output_type.to_token_stream(), span);
    Some(quote_spanned! {span=>
        if let ::core::result::Result::Err(#open) = #state.admit() {
            return #private::circuit_open::<#output_type>(#open);
        }
    })
}

/// An async attempt bounded by `timeout`, failing with the error converted
/// from `TimedOut`. Located on `timeout`: a missing `From<TimedOut>` is
/// reported there.
pub(crate) fn attempt_within_timeout(
    args: &Args,
    private: &TokenStream,
    state: &Ident,
    policy: &TokenStream,
    attempt: &TokenStream,
    output_type: &Type,
) -> Option<TokenStream> {
    let timeout = args.timeout.as_ref()?;
    let span = timeout.key.span();
    let private = respan(private.clone(), span);
    let limit = duration(timeout.value, &private);
    let output_type = respan(output_type.to_token_stream(), span);
    Some(quote_spanned! {span=>
        #state.attempt_within(&#policy, #limit, #attempt, #private::timed_out::<#output_type>).await
    })
}
