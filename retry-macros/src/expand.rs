//! Code generation: the body, unchanged, inside a retry loop.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ReturnType};

use crate::args::{Args, BackoffKind, DEFAULT_BASE, DEFAULT_CAP, JitterKind};
use crate::errors::Errors;
use crate::item::{self, Flavor, RetryFn};

/// The attribute's whole job: on success the rewritten function; on any
/// error the original function unchanged next to every error, so the rest of
/// the crate still type-checks.
pub(crate) fn retry(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = Args::parse(args, &mut errors);
    let function = match item::parse(item.clone()) {
        Ok(function) => function,
        Err(error) => {
            errors.push(error);
            let errors = errors.into_compile_errors();
            return quote!(#errors #item);
        }
    };
    let clone = args.clone.as_ref().map_or(&[][..], |c| &c.value[..]);
    let retry_fn = item::classify(function.clone(), clone, &mut errors);
    match (retry_fn, errors.count()) {
        (Some(retry_fn), 0) => expand(&args, &retry_fn),
        _ => {
            let errors = errors.into_compile_errors();
            quote!(#errors #function)
        }
    }
}

fn expand(args: &Args, retry_fn: &RetryFn) -> TokenStream {
    let syn::ItemFn { attrs, vis, sig, block, .. } = &retry_fn.item;
    let outer_attrs = attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Outer));
    let inner_attrs = attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let private = private_path(args);
    let state = Ident::new("__retry_state", Span::mixed_site());
    let result = Ident::new("__retry_result", Span::mixed_site());
    let delay = Ident::new("__retry_delay", Span::mixed_site());

    let clock = match retry_fn.flavor {
        Flavor::Sync => quote!(#private::SyncClock),
        Flavor::Async => quote!(#private::AsyncClock),
    };
    let policy = policy(args, &private);
    let name = sig.ident.to_string();
    let function_name = quote!(::core::concat!(::core::module_path!(), "::", #name));

    let clones = args.clone.iter().flat_map(|c| &c.value);
    let clones = quote!(#(let #clones = ::core::clone::Clone::clone(&#clones);)*);

    let output_type = item::annotation_type(&sig.output);
    let attempt = match retry_fn.flavor {
        Flavor::Sync => quote!(#private::attempt::<#output_type>(|| #block)),
        Flavor::Async => quote!(#private::attempt_async::<#output_type, _>(async #block).await),
    };
    let sleep = match retry_fn.flavor {
        Flavor::Sync => quote!(#state.sleep_blocking(#delay)),
        Flavor::Async => quote!(#state.sleep(#delay).await),
    };

    let classify =
        args.on.as_ref().map_or_else(|| quote!(#private::retry_every_error), |on| on.value.to_token_stream());
    let on_retry =
        args.on_retry.as_ref().map_or_else(|| quote!(#private::ignore_event), |hook| hook.value.to_token_stream());
    // The `Result` requirement is checked by `step`; spanning the method name
    // on the return type puts that error where the user can fix it.
    let step = Ident::new("step", output_span(sig));

    quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            let mut #state = #private::State::<#clock>::new(#policy, #function_name);
            loop {
                #clones
                let #result = #attempt;
                let #delay = match #state.#step(#result, #classify, #on_retry) {
                    #private::Step::Return(#result) => return #result,
                    #private::Step::Sleep(#delay) => #delay,
                };
                #sleep;
            }
        }
    }
}

/// `::retry_runtime::__private`, or the same under a renamed crate.
fn private_path(args: &Args) -> TokenStream {
    match &args.krate {
        Some(krate) => {
            let path = &krate.value;
            quote!(#path::__private)
        }
        None => quote!(::retry_runtime::__private),
    }
}

fn output_span(sig: &syn::Signature) -> Span {
    match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.paren_token.span.close(),
    }
}

/// The policy expression: `policy = expr` converted once per call, or a
/// constant built from the literal arguments (evaluated at compile time).
fn policy(args: &Args, private: &TokenStream) -> TokenStream {
    if let Some(policy) = &args.policy {
        let expr = &policy.value;
        return quote_spanned!(expr.span()=> #private::IntoPolicy::into_policy(#expr));
    }
    let max = args.max.as_ref().map_or(3, |m| m.value);
    let base = duration(args.base.as_ref().map_or(DEFAULT_BASE, |b| b.value), private);
    let cap = duration(args.cap.as_ref().map_or(DEFAULT_CAP, |c| c.value), private);
    let multiplier = args.multiplier.as_ref().map_or(2.0, |m| m.value);
    let backoff = match args.backoff.as_ref().map_or(BackoffKind::Exponential, |b| b.value) {
        BackoffKind::Exponential => quote!(#private::Backoff::Exponential),
        BackoffKind::Linear => quote!(#private::Backoff::Linear),
        BackoffKind::Fixed => quote!(#private::Backoff::Fixed),
    };
    let jitter = match args.jitter.as_ref().map_or(JitterKind::Full, |j| j.value) {
        JitterKind::None => quote!(#private::Jitter::None),
        JitterKind::Full => quote!(#private::Jitter::Full),
        JitterKind::Equal => quote!(#private::Jitter::Equal),
        JitterKind::Decorrelated => quote!(#private::Jitter::Decorrelated),
        JitterKind::Proportional(factor) => quote!(#private::Jitter::Proportional(#factor)),
    };
    let deadline = match &args.deadline {
        Some(deadline) => {
            let deadline = duration(deadline.value, private);
            quote!(::core::option::Option::Some(#deadline))
        }
        None => quote!(::core::option::Option::None),
    };
    let constant = Ident::new("__RETRY_POLICY", Span::mixed_site());
    quote! {{
        const #constant: #private::RetryPolicy =
            #private::policy(#max, #base, #cap, #multiplier, #backoff, #jitter, #deadline);
        #constant
    }}
}

fn duration(duration: Duration, private: &TokenStream) -> TokenStream {
    let secs = duration.as_secs();
    let nanos = duration.subsec_nanos();
    quote!(#private::StdDuration::new(#secs, #nanos))
}
