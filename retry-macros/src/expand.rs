//! Code generation: the body, unchanged, inside a retry loop.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ReturnType};

use crate::args::{Args, BackoffKind, DEFAULT_BASE, DEFAULT_CAP, JitterKind, StatsTarget};
use crate::errors::Errors;
use crate::item::{self, Flavor, RetryFn};
use crate::storm;

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
    let clone = args.clone.as_ref().map_or(&[][..], |c| &c.value[..]);
    let retry_fn = item::classify(function.clone(), clone, &mut errors);
    if let (Some(retry_fn), Some(timeout)) = (&retry_fn, &args.timeout)
        && retry_fn.flavor == Flavor::Sync
    {
        errors.spanned(
            &timeout.key,
            "`timeout` needs an `async fn`: a running sync attempt cannot be stopped from outside (a thread cannot be interrupted). Set a timeout on the I/O the body does (a socket or driver timeout), or bound the whole call with `deadline`",
        );
    }
    if let (Some(retry_fn), 0) = (retry_fn, errors.count()) {
        expand(&args, &retry_fn)
    } else {
        let errors = errors.into_compile_errors();
        quote!(#errors #function)
    }
}

fn expand(args: &Args, retry_fn: &RetryFn) -> TokenStream {
    let syn::ItemFn { attrs, vis, sig, block, .. } = &retry_fn.item;
    let outer_attrs = attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Outer));
    let inner_attrs = attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let private = private_path(args);
    let output_span = output_span(sig);
    // Internal names are invisible to the body (mixed-site hygiene) and
    // located on the return type, where errors about the loop's types belong.
    let internal = |name: &str| Ident::new(name, Span::mixed_site().located_at(output_span));
    let state = internal("__retry_state");
    let result = internal("__retry_result");
    let delay = internal("__retry_delay");

    let clock = match retry_fn.flavor {
        Flavor::Sync => quote!(#private::SyncClock),
        Flavor::Async => quote!(#private::AsyncClock),
    };
    // A literal policy is a constant, used where needed (and so folded into
    // the loop's tests); one from an expression is evaluated once.
    let (bind_policy, policy) = match args.policy {
        Some(_) => {
            let value = internal("__retry_policy");
            let policy = policy(args, &private);
            (quote_spanned!(output_span=> let #value: #private::RetryPolicy = #policy;), value.into_token_stream())
        }
        None => (TokenStream::new(), policy(args, &private)),
    };
    let name = sig.ident.to_string();
    let function_name = quote!(::core::concat!(::core::module_path!(), "::", #name));

    let clones = args.clone.iter().flat_map(|c| &c.value);
    let clones = quote!(#(let #clones = ::core::clone::Clone::clone(&#clones);)*);

    let output_type = item::annotation_type(&sig.output);
    // Located on the return type: an error about it (not a `Result`) is
    // reported there rather than on the attribute.
    let private_at_output = respan(private.clone(), output_span);
    let attempt = match retry_fn.flavor {
        Flavor::Sync => quote_spanned!(output_span=> #private_at_output::attempt::<#output_type>(|| #block)),
        Flavor::Async => {
            let attempt =
                quote_spanned!(output_span=> #private_at_output::attempt_async::<#output_type, _>(async #block));
            storm::attempt_within_timeout(args, &private, &state, &policy, &attempt, &output_type)
                .unwrap_or_else(|| quote_spanned!(output_span=> #attempt.await))
        }
    };
    let admit = storm::admit(args, &private, &state, &output_type, &internal("__retry_circuit_open"));
    let sleep = match retry_fn.flavor {
        Flavor::Sync => quote!(#state.sleep_blocking(#delay)),
        Flavor::Async => quote!(if #state.must_sleep(#delay) { #state.sleep(#delay).await }),
    };

    let site = call_site(args, &private_at_output, output_span, &function_name);
    let site_arg = if site.is_some() {
        let site_name = site_ident(output_span);
        quote_spanned!(output_span=> ::core::option::Option::Some(&#site_name))
    } else {
        quote_spanned!(output_span=> ::core::option::Option::None)
    };
    let turn = Turn {
        step: step(args, &private_at_output, output_span, [&policy, &site_arg], [&state, &result, &delay]),
        state,
        result,
        delay,
        clones,
        attempt,
        sleep,
    };
    let call = Call {
        private: private_at_output,
        span: output_span,
        flavor: retry_fn.flavor,
        clock,
        bind_policy,
        policy,
        function_name,
        site_arg,
    };
    // The first attempt is written out before the loop, so a first-try
    // success runs the body and returns: no state is built and no policy
    // copied. The body appears twice in the expansion for it. A breaker or a
    // timeout needs the state before the first attempt, and an `impl Trait`
    // in the return type must be defined by one body only.
    let body = if admit.is_none() && args.timeout.is_none() && !item::returns_impl_trait(&sig.output) {
        first_attempt_apart(args, &call, &turn, site, &internal)
    } else {
        one_loop(&call, &turn, site.as_ref(), admit.as_ref())
    };
    quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

/// What both shapes of the expansion know of the call, located on the
/// return type.
struct Call {
    private: TokenStream,
    span: Span,
    flavor: Flavor,
    clock: TokenStream,
    /// `let __retry_policy = …;` for `policy = expr`, else nothing.
    bind_policy: TokenStream,
    /// The constant policy, or the variable bound by `bind_policy`.
    policy: TokenStream,
    function_name: TokenStream,
    /// `Some(&SITE)` when the call has a call site, else `None`.
    site_arg: TokenStream,
}

/// What one turn of the loop is made of.
struct Turn {
    state: Ident,
    result: Ident,
    delay: Ident,
    /// `let arg = Clone::clone(&arg);` for each `clone = [...]` argument.
    clones: TokenStream,
    /// One run of the body, to its result.
    attempt: TokenStream,
    sleep: TokenStream,
    /// `match state.step(…) { Return(r) => return r, Sleep(d) => d }`.
    step: TokenStream,
}

/// The first attempt, then the loop only if it failed.
fn first_attempt_apart(
    args: &Args,
    call: &Call,
    turn: &Turn,
    site: Option<TokenStream>,
    internal: &impl Fn(&str) -> Ident,
) -> TokenStream {
    let Call { private, span, clock, bind_policy, policy, function_name, site_arg, .. } = call;
    let Turn { state, result, delay, clones, attempt, sleep, step } = turn;
    let span = *span;
    // A deadline starts its clock before the first attempt. Nothing else
    // is kept across it.
    let (start, started) = if args.policy.is_none() && args.deadline.is_none() {
        (TokenStream::new(), quote!(::core::option::Option::None))
    } else {
        let started = internal("__retry_started");
        let start = quote_spanned! {span=>
            #bind_policy
            let #started = #private::started::<#clock>(&#policy);
        };
        (start, started.into_token_stream())
    };
    // With nothing to record on the first attempt, nothing is kept for it
    // either: the loop's state is made from constants after a failure.
    let first_name = internal("__retry_first");
    let site_name = site_ident(span);
    let recorded = site.is_some();
    let (first, settle, resume) = if let Some(site) = site {
        (
            quote_spanned!(span=> #site let #first_name = #private::FirstAttempt::at(&#site_name);),
            quote_spanned! {span=>
                let (#first_name, #result) = match #first_name.after(&#site_name, #result, &#policy) {
                    #private::First::Done(#result) => return #result,
                    #private::First::Failed(#first_name, #result) => (#first_name, #result),
                };
            },
            quote_spanned!(span=> #first_name.into_resumed::<#clock>(&#site_name, &#policy, #started)),
        )
    } else {
        (
            TokenStream::new(),
            quote_spanned! {span=>
                let #result = match #private::after_first_attempt(#result, &#policy, #function_name) {
                    #private::First::Done(#result) => return #result,
                    #private::First::Failed((), #result) => #result,
                };
            },
            quote_spanned!(span=> #private::State::<#clock>::resume(&#policy, #function_name, #started)),
        )
    };
    // Each result is bound inside one turn of the loop, so none is held
    // across a sleep (a non-`Send` error keeps the future `Send`), and each
    // attempt's clones are scoped to it: the next attempt clones again.
    let rest_of_loop = quote_spanned! {span=>
        loop {
            #sleep;
            let #result = { #clones #attempt };
            #delay = #step;
        }
    };
    match call.flavor {
        // The retries are a closure the runtime calls out of line: a
        // first-try success is one test after the body, and the function
        // stays small enough to be inlined where it is called.
        Flavor::Sync => {
            let (head, runtime, handed) = if recorded {
                (quote_spanned!(span=> #first_name.), quote_spanned!(span=> ), quote_spanned!(span=> #first_name,))
            } else {
                (quote_spanned!(span=> #private::), quote_spanned!(span=> #function_name,), TokenStream::new())
            };
            // `::<_>` makes a non-`Result` return type one error, at the
            // return type (without it, a second one points at the attribute).
            quote_spanned! {span=>
                #start
                #first
                let #result = { #clones #attempt };
                #head or_retry::<_>(#result, &#policy, #runtime |#handed #result| {
                    let mut #state = #resume;
                    let mut #delay = #step;
                    #rest_of_loop
                })
            }
        }
        // The retries are a future of their own, awaited only after a
        // failure: the function's future stays small enough for the
        // optimiser to see through on a first-try success (its drop, in
        // particular, folds away). The step after the first attempt runs
        // before that future, so the failed result is never part of it.
        Flavor::Async => {
            let handover = internal("__retry_handover");
            quote_spanned! {span=>
                #start
                #first
                let #result = { #clones #attempt };
                #settle
                let (#handover, #delay) = {
                    let mut #state = #resume;
                    let #delay = #step;
                    (#state.hand_over(), #delay)
                };
                async move {
                    let mut #state = #handover.into_state(&#policy, #function_name, #site_arg);
                    let mut #delay = #delay;
                    #rest_of_loop
                }
                .await
            }
        }
    }
}

/// Every attempt inside the loop, each admitted by the breaker first.
fn one_loop(call: &Call, turn: &Turn, site: Option<&TokenStream>, admit: Option<&TokenStream>) -> TokenStream {
    let Call { private, span, clock, bind_policy, policy, function_name, .. } = call;
    let Turn { state, result, delay, clones, attempt, sleep, step } = turn;
    let site_name = site_ident(*span);
    let start = if site.is_some() {
        quote_spanned!(*span=> #private::FirstAttempt::at(&#site_name).into_state::<#clock>(&#policy))
    } else {
        quote_spanned!(*span=> #private::State::<#clock>::new(&#policy, #function_name))
    };
    quote_spanned! {*span=>
        #site
        #bind_policy
        let mut #state = #start;
        loop {
            #clones
            #admit
            let #result = #attempt;
            #state.attempted();
            let #delay = #step;
            #sleep;
        }
    }
}

/// The name of the call site's `static`, invisible to the body.
fn site_ident(span: Span) -> Ident {
    Ident::new("__RETRY_SITE", Span::mixed_site().located_at(span))
}

/// `static SITE: CallSite = …`: what the call records (its statistics, its
/// budget) and the breaker it asks; `None` when it has none of them.
fn call_site(args: &Args, private: &TokenStream, span: Span, function_name: &TokenStream) -> Option<TokenStream> {
    let stats = stats(args, private, span, function_name);
    let budget = storm::budget(args).unwrap_or_default();
    let breaker = storm::breaker(args).unwrap_or_default();
    if stats.is_empty() && budget.is_empty() && breaker.is_empty() {
        return None;
    }
    let site = site_ident(span);
    Some(quote_spanned! {span=>
        static #site: #private::CallSite = #private::CallSite::new(#function_name) #stats #budget #breaker;
    })
}

/// `match state.step(result, on, on_retry, describe) { Return(r) => return r, Sleep(d) => d }`.
fn step(
    args: &Args,
    private_at_output: &TokenStream,
    output_span: Span,
    [policy, site]: [&TokenStream; 2],
    [state, result, delay]: [&Ident; 3],
) -> TokenStream {
    let internal = |name: &str| Ident::new(name, Span::mixed_site().located_at(output_span));
    let classify = args.on.as_ref().map_or_else(
        || quote_spanned!(output_span=> #private_at_output::retry_every_error),
        |on| on.value.to_token_stream(),
    );
    let on_retry = args.on_retry.as_ref().map_or_else(
        || quote_spanned!(output_span=> #private_at_output::ignore_event),
        |hook| hook.value.to_token_stream(),
    );
    // `step` checks that the return type is a `Result` (through the attempt's
    // result) and that the classifier returns a verdict (through the method's
    // bounds): locating those tokens on the return type and on the `on`
    // expression puts each error where the user can fix it.
    let step_span = args.on.as_ref().map_or(output_span, |on| on.value.span());
    let step = Ident::new("step_described", step_span);
    let error = internal("__retry_error");
    let formatter = internal("__retry_formatter");
    // Autoref specialisation: `Display` if the error has it, else `Debug`,
    // else its type name; an error type needs neither to be retried. Only
    // the trait that applies is used, hence the scoped `allow`.
    let describe = quote_spanned! {output_span=>
        |#error, #formatter| {
            #[allow(unused_imports)]
            use #private_at_output::{DescribeAny as _, DescribeDebug as _, DescribeDisplay as _};
            (&&&#private_at_output::Describe(#error)).describe_error(#formatter)
        }
    };
    let step_call =
        quote_spanned!(output_span=> #state.#step(&#policy, #site, { #result }, #classify, #on_retry, #describe));
    quote_spanned! {output_span=>
        match #step_call {
            #private_at_output::Step::Return(#result) => return #result,
            #private_at_output::Step::Sleep(#delay) => #delay,
        }
    }
}

/// `.with_stats(…)` on the call site: the function's own `static` (declared
/// inside the body, so each function has one), a user's, or nothing.
fn stats(args: &Args, private: &TokenStream, span: Span, function_name: &TokenStream) -> TokenStream {
    match args.stats.as_ref().map_or(&StatsTarget::Own, |s| &s.value) {
        StatsTarget::Off => TokenStream::new(),
        StatsTarget::Own => {
            let own = Ident::new("__RETRY_STATS", Span::mixed_site().located_at(span));
            quote_spanned! {span=>
                .with_stats({
                    static #own: #private::Stats = #private::Stats::new();
                    &#own
                }, #function_name)
            }
        }
        StatsTarget::Static(path) => {
            let written = path_text(path);
            let name = if path.segments.len() == 1 && path.leading_colon.is_none() {
                quote!(::core::concat!(::core::module_path!(), "::", #written))
            } else {
                quote!(#written)
            };
            // Located on the path: a wrong type is reported there.
            let with_stats = Ident::new("with_stats", path.span());
            quote_spanned!(path.span()=> .#with_stats(&#path, #name))
        }
    }
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
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
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

/// The policy expression: `policy = expr` converted once per call, or a
/// constant built from the literal arguments (evaluated at compile time).
fn policy(args: &Args, private: &TokenStream) -> TokenStream {
    if let Some(policy) = &args.policy {
        let expr = &policy.value;
        // The whole call is located on the expression, so an error about its
        // type underlines only what the user wrote.
        let private = respan(private.clone(), expr.span());
        return quote_spanned!(expr.span()=> #private::policy_of(&(#expr)));
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
    let deadline = if let Some(deadline) = &args.deadline {
        let deadline = duration(deadline.value, private);
        quote!(::core::option::Option::Some(#deadline))
    } else {
        quote!(::core::option::Option::None)
    };
    let constant = Ident::new("__RETRY_POLICY", Span::mixed_site());
    quote! {{
        const #constant: #private::RetryPolicy =
            #private::policy(#max, #base, #cap, #multiplier, #backoff, #jitter, #deadline);
        #constant
    }}
}

pub(crate) fn duration(duration: Duration, private: &TokenStream) -> TokenStream {
    let secs = duration.as_secs();
    let nanos = duration.subsec_nanos();
    quote!(#private::StdDuration::new(#secs, #nanos))
}
