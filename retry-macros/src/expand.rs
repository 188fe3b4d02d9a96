//! Code generation: the body, unchanged and written once, inside a loop
//! that hands each attempt's result to the runtime's engine.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ReturnType};

use crate::args::{Args, BackoffKind, JitterKind, StatsTarget};
use crate::errors::Errors;
use crate::item::{self, Flavor, RetryFn};

/// The attribute's whole job: on success the rewritten function; on any
/// error the original function unchanged next to every error, so the rest of
/// the crate still type-checks.
pub(crate) fn retry(args: TokenStream, item: &TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let args = Args::parse(args, &mut errors);
    let function = match item::parse(item) {
        Ok(function) => function,
        Err(error) => {
            errors.push(error);
            let errors = errors.into_compile_errors();
            return quote!(#errors #item);
        }
    };
    let retry_fn = item::classify(function.clone(), &args, &mut errors);
    if let (Some(retry_fn), 0) = (retry_fn, errors.count()) {
        expand(&args, &retry_fn)
    } else {
        let errors = errors.into_compile_errors();
        quote!(#errors #function)
    }
}

/// ```text
/// fn f(args) -> R {
///     fn __retry_function() -> &'static str { /* its own type name */ }
///     static __RETRY_STATS: Stats = Stats::new();
///     static __RETRY_SITE: CallSite = CallSite::inside(__retry_function, POLICY).with_stats(&__RETRY_STATS, None)…;
///     let mut __retry_call = Call::sync(&__RETRY_SITE, __RETRY_SITE.policy());
///     loop {
///         let __retry_result = __retry_call.attempt::<R, _>(|| body);
///         let __retry_delay = match __retry_call.step(&__RETRY_SITE, __RETRY_SITE.policy(), { __retry_result }, on, on_retry, describe) {
///             Step::Return(result) => return result,
///             Step::Sleep(delay) => delay,
///         };
///         __retry_call.sleep_blocking(__retry_delay);
///     }
/// }
/// ```
fn expand(args: &Args, retry_fn: &RetryFn) -> TokenStream {
    let syn::ItemFn { attrs, vis, sig, block, .. } = &retry_fn.item;
    let outer_attrs = attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Outer));
    let inner_attrs = attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let span = output_span(sig);
    // Located on the return type: an error about it (not a `Result`) is
    // reported there rather than on the attribute.
    let private = respan(private_path(args), span);
    // Internal names are invisible to the body (mixed-site hygiene) and
    // located on the return type, where errors about the loop's types belong.
    let internal = |name: &str| Ident::new(name, Span::mixed_site().located_at(span));
    let (call, result, delay) = (internal("__retry_call"), internal("__retry_result"), internal("__retry_delay"));
    let output_type = item::annotation_type(&sig.output);

    let site_name = internal("__RETRY_SITE");
    let site = call_site(args, &private, span, &site_name, &internal);
    // The policy each step is passed: the site's constant one, or the value
    // of `policy = expr`, evaluated once per call.
    let (bind_policy, policy) = match &args.policy {
        Some(given) => {
            let expr = &given.value;
            let value = internal("__retry_policy");
            // Located on the expression, so an error about its type
            // underlines only what the user wrote.
            let at_expr = respan(private.clone(), expr.span());
            let bind = quote_spanned!(expr.span()=> let #value: #at_expr::RetryPolicy = #at_expr::ToPolicy::to_policy(&(#expr)););
            (bind, quote_spanned!(span=> &#value))
        }
        None => (TokenStream::new(), quote_spanned!(span=> #site_name.policy())),
    };
    let start = match retry_fn.flavor {
        Flavor::Sync => quote_spanned!(span=> #private::Call::sync(&#site_name, #policy)),
        Flavor::Async => quote_spanned!(span=> #private::Call::tokio(&#site_name, #policy)),
    };
    let clones = args.clone.iter().flat_map(|c| &c.value);
    let clones = quote!(#(let #clones = ::core::clone::Clone::clone(&#clones);)*);
    let admit = args.breaker.as_ref().map(|breaker| {
        // Located on the breaker's path: a missing `From<CircuitOpen>` is reported there.
        let at = breaker.value.span();
        let private = respan(private.clone(), at);
        let output_type = respan(output_type.to_token_stream(), at);
        let refused = internal("__retry_refused");
        quote_spanned! {at=>
            if let ::core::result::Result::Err(#refused) = #call.admit(&#site_name, <#output_type as #private::RetryOutcome>::circuit_open) {
                return #refused;
            }
        }
    });
    let attempt = match retry_fn.flavor {
        // The attempt is run by the call (`Call::attempt`/`attempt_async`),
        // which enters the attempt's span (feature `tracing`) around it.
        Flavor::Sync => quote_spanned!(span=> #call.attempt::<#output_type, _>(|| #block)),
        Flavor::Async => {
            let attempt = quote_spanned!(span=> #call.attempt_async::<#output_type, _>(async #block));
            // Located on `timeout`: a missing `From<TimedOut>` is reported there.
            if let Some(timeout) = &args.timeout {
                let at = timeout.key.span();
                let (private, output_type) = (respan(private.clone(), at), respan(output_type.to_token_stream(), at));
                let timed_out = quote_spanned!(at=> <#output_type as #private::RetryOutcome>::timed_out);
                // Bound first: the attempt borrows the call only while it is made.
                let bound = internal("__retry_attempt");
                quote_spanned!(at=> { let #bound = #attempt; #call.within_timeout(#bound, #timed_out).await })
            } else {
                quote_spanned!(span=> #attempt.await)
            }
        }
    };
    let step = step(args, &private, span, [&call, &site_name, &result], &policy);
    // The delay is bound apart from the sleep: a result held across the
    // sleep would make the future non-`Send` for a non-`Send` error.
    let sleep = match retry_fn.flavor {
        Flavor::Sync => quote_spanned!(span=> #call.sleep_blocking(#delay);),
        Flavor::Async => quote_spanned!(span=> if !#delay.is_zero() { #call.sleep(#delay).await; }),
    };
    let body = quote_spanned! {span=>
        #site
        #bind_policy
        let mut #call = #start;
        loop {
            #clones
            #admit
            let #result = #attempt;
            let #delay = match #step {
                #private::Step::Return(#result) => return #result,
                #private::Step::Sleep(#delay) => #delay,
            };
            #sleep
        }
    };
    quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

/// `static __RETRY_SITE: CallSite = …`: the function's name, its constant
/// policy, its statistics, budget, breaker and timeout, written once.
fn call_site(
    args: &Args,
    private: &TokenStream,
    span: Span,
    site: &Ident,
    internal: &impl Fn(&str) -> Ident,
) -> TokenStream {
    let marker = internal("__retry_function");
    let stats = internal("__RETRY_STATS");
    let policy = constant_policy(args, private);
    let (own_stats, with_stats) = match args.stats.as_ref().map_or(&StatsTarget::Own, |s| &s.value) {
        StatsTarget::Off => (TokenStream::new(), TokenStream::new()),
        StatsTarget::Own => (
            quote_spanned!(span=> static #stats: #private::Stats = #private::Stats::new();),
            quote_spanned!(span=> .with_stats(&#stats, ::core::option::Option::None)),
        ),
        StatsTarget::Static(path) => {
            let written = path_text(path);
            let name = if path.segments.len() == 1 && path.leading_colon.is_none() {
                quote!(::core::concat!(::core::module_path!(), "::", #written))
            } else {
                quote!(#written)
            };
            let arguments = quote_spanned!(path.span()=> &#path, ::core::option::Option::Some(#name));
            (TokenStream::new(), on_path(path, "with_stats", &arguments))
        }
    };
    let with_budget = args.budget.as_ref().map(|budget| {
        let path = &budget.value;
        on_path(path, "with_budget", &quote_spanned!(path.span()=> &#path))
    });
    let with_breaker = args.breaker.as_ref().map(|breaker| {
        let (path, name) = (&breaker.value, path_text(&breaker.value));
        on_path(path, "with_breaker", &quote_spanned!(path.span()=> &#path, #name))
    });
    let with_timeout = args.timeout.as_ref().map(|timeout| {
        let limit = duration(timeout.value);
        quote!(.with_timeout(#limit))
    });
    quote_spanned! {span=>
        fn #marker() -> &'static str {
            ::core::any::type_name_of_val(&#marker)
        }
        #own_stats
        static #site: #private::CallSite = #private::CallSite::inside(#marker, #policy)
            #with_stats #with_budget #with_breaker #with_timeout;
    }
}

/// `.method(arguments)`, located on `path`: a `static` of the wrong type is
/// reported there.
fn on_path(path: &syn::Path, method: &str, arguments: &TokenStream) -> TokenStream {
    let method = Ident::new(method, path.span());
    quote_spanned!(path.span()=> .#method(#arguments))
}

/// `match call.step(result, on, on_retry, describe)`'s scrutinee.
fn step(
    args: &Args,
    private: &TokenStream,
    span: Span,
    [call, site, result]: [&Ident; 3],
    policy: &TokenStream,
) -> TokenStream {
    let internal = |name: &str| Ident::new(name, Span::mixed_site().located_at(span));
    // Without `on` and `on_retry`: retry every error, tell no one. The
    // argument is named, not `_`: an error type `()` would otherwise meet
    // `clippy::ignored_unit_patterns` in the user's crate.
    let unused = internal("__retry_unused");
    let classify =
        args.on.as_ref().map_or_else(|| quote_spanned!(span=> |#unused| true), |on| on.value.to_token_stream());
    let on_retry =
        args.on_retry.as_ref().map_or_else(|| quote_spanned!(span=> |#unused| {}), |hook| hook.value.to_token_stream());
    // `step` checks that the return type is a `Result` (through the attempt's
    // result) and that the classifier returns a verdict (through the method's
    // bounds): locating those tokens on the return type and on the `on`
    // expression puts each error where the user can fix it.
    let step = Ident::new("step", args.on.as_ref().map_or(span, |on| on.value.span()));
    let (error, formatter) = (internal("__retry_error"), internal("__retry_formatter"));
    // Autoref specialisation: `Display` if the error has it, else `Debug`,
    // else its type name; an error type needs neither to be retried. Only
    // the trait that applies is used, hence the scoped `allow`.
    let describe = quote_spanned! {span=>
        |#error, #formatter| {
            #[allow(unused_imports)]
            use #private::{DescribeAny as _, DescribeDebug as _, DescribeDisplay as _};
            (&&&#private::Describe(#error)).describe_error(#formatter)
        }
    };
    quote_spanned!(span=> #call.#step(&#site, #policy, { #result }, #classify, #on_retry, #describe))
}

/// The policy the literal arguments make: the runtime's defaults
/// (`RetryPolicy::new()`), with only the keys given set, evaluated at
/// compile time.
fn constant_policy(args: &Args, private: &TokenStream) -> TokenStream {
    let mut policy = quote!(#private::RetryPolicy::new());
    if let Some(max) = &args.max {
        let max = max.value;
        policy.extend(quote!(.max_attempts(#max)));
    }
    for (key, value) in [("base", &args.base), ("cap", &args.cap), ("deadline", &args.deadline)] {
        if let Some(given) = value {
            let setter = Ident::new(key, Span::call_site());
            let value = duration(given.value);
            policy.extend(quote!(.#setter(#value)));
        }
    }
    if let Some(multiplier) = &args.multiplier {
        let multiplier = multiplier.value;
        policy.extend(quote!(.multiplier(#multiplier)));
    }
    if let Some(backoff) = &args.backoff {
        let variant = match backoff.value {
            BackoffKind::Exponential => quote!(Exponential),
            BackoffKind::Linear => quote!(Linear),
            BackoffKind::Fixed => quote!(Fixed),
        };
        policy.extend(quote!(.backoff(#private::Backoff::#variant)));
    }
    if let Some(jitter) = &args.jitter {
        let variant = match jitter.value {
            JitterKind::None => quote!(None),
            JitterKind::Full => quote!(Full),
            JitterKind::Equal => quote!(Equal),
            JitterKind::Decorrelated => quote!(Decorrelated),
            JitterKind::Proportional(factor) => quote!(Proportional(#factor)),
        };
        policy.extend(quote!(.jitter(#private::Jitter::#variant)));
    }
    policy
}

/// `a::b::C` as written, without spaces.
pub(crate) fn path_text(path: &syn::Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let prefix = if path.leading_colon.is_some() { "::" } else { "" };
    format!("{prefix}{}", segments.join("::"))
}

/// `::retry_runtime::__private`, or the same under a renamed crate.
fn private_path(args: &Args) -> TokenStream {
    if let Some(krate) = &args.krate {
        let path = &krate.value;
        quote!(#path::__private)
    } else {
        quote!(::retry_runtime::__private)
    }
}

/// `tokens` with every span moved to `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let proc_macro2::TokenTree::Group(group) = &token {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = inner.into();
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

fn output_span(sig: &syn::Signature) -> Span {
    match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => sig.ident.span(),
    }
}

/// A `Duration` constant, in the shortest exact form.
fn duration(duration: Duration) -> TokenStream {
    let (secs, nanos) = (duration.as_secs(), duration.subsec_nanos());
    if nanos == 0 {
        quote!(::core::time::Duration::from_secs(#secs))
    } else if nanos % 1_000_000 == 0 && secs == 0 {
        let millis = u64::from(nanos / 1_000_000);
        quote!(::core::time::Duration::from_millis(#millis))
    } else {
        quote!(::core::time::Duration::new(#secs, #nanos))
    }
}
