//! Code generation: the body, unchanged and written once, inside a loop
//! that hands each attempt's result to the runtime's engine.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ReturnType};

use crate::args::{Args, BackoffKind, JitterKind, StatsTarget};
use crate::errors::Errors;
use crate::item::{self, Boxed, Flavor, RetryFn};

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
///
/// An async fn binds its sleeper first (`let __retry_sleeper = sleeper(path)`
/// or `default_sleeper::<DefaultSleeper>()`), starts with
/// `Call::asynchronous(&__RETRY_SITE, policy, &__retry_sleeper)`, awaits
/// `attempt_async::<R, _>(async body)` and sleeps with `sleep_on`.
fn expand(args: &Args, retry_fn: &RetryFn) -> TokenStream {
    let syn::ItemFn { attrs, vis, sig, block, .. } = &retry_fn.item;
    // The block each attempt runs, and its result's type: the function's
    // own, or the async block `#[async_trait]` made and its future's output.
    let (block, output_type) = match &retry_fn.boxed {
        Some(boxed) => {
            let attempt = &boxed.attempt;
            (quote!({ #(#attempt)* }), boxed.output.clone())
        }
        None => (block.to_token_stream(), item::annotation_type(&sig.output)),
    };
    let outer_attrs = attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Outer));
    let inner_attrs = attrs.iter().filter(|a| matches!(a.style, syn::AttrStyle::Inner(_)));
    let names = Names::new(args, retry_fn);
    let Names { span, private, call, result, delay, site, .. } = &names;
    let (span, internal) = (*span, |name: &str| names.internal(name));

    let site_item = call_site(args, private, span, site, &internal);
    let (bind_policy, policy) = policy_binding(args, &names);
    let timer = Timer::new(args, retry_fn, &names, &policy);
    let (bind_origin, bind_attempt) = attempt_context(args, &names);
    let fallback = Fallback::new(args, retry_fn.flavor, &names, &output_type);
    let exit = &fallback.exit;
    let clones = args.clone.iter().flat_map(|c| &c.value);
    let clones = quote!(#(let #clones = ::core::clone::Clone::clone(&#clones);)*);
    let admit = args.breaker.as_ref().map(|breaker| {
        // Located on the breaker's path: a missing `From<CircuitOpen>` is reported there.
        let at = breaker.value.span();
        let private = respan(private.clone(), at);
        let output_type = respan(output_type.to_token_stream(), at);
        let refused = internal("__retry_refused");
        quote_spanned! {at=>
            if let ::core::result::Result::Err(#refused) = #call.admit(&#site, <#output_type as #private::RetryOutcome>::circuit_open) {
                #exit #refused;
            }
        }
    });
    let attempt = run_attempt(args, retry_fn.flavor, &names, &block, &output_type);
    let step = step(args, private, span, [call, site, result], &policy);
    let Timer { bind: bind_sleeper, start, sleep } = timer;
    let Fallback { bind_result, finish, .. } = &fallback;
    let body = if let Some(hedge) = &args.hedge {
        // Hedged: no loop; the engine's driver runs the attempts at once.
        let (checks, hedged) = hedged_call(args, retry_fn, &names, &block, &output_type, hedge.value);
        let bind_result =
            if args.fallback.is_some() { quote_spanned!(span=> let #result =) } else { TokenStream::new() };
        quote_spanned! {span=>
            #site_item
            #bind_policy
            #bind_sleeper
            let mut #call = #start;
            #bind_origin
            #checks
            #bind_result #hedged
            #finish
        }
    } else {
        quote_spanned! {span=>
            #site_item
            #bind_policy
            #bind_sleeper
            let mut #call = #start;
            #bind_origin
            #bind_result loop {
                #clones
                #admit
                #bind_attempt
                let #result = #attempt;
                let #delay = match #step {
                    #private::Step::Return(#result) => #exit #result,
                    #private::Step::Sleep(#delay) => #delay,
                };
                #sleep
            }
            #finish
        }
    };
    // After `#[async_trait]`, the loop runs inside its boxed async block,
    // after the arguments are bound.
    let body = match &retry_fn.boxed {
        Some(Boxed { before, pin, capture, bindings, .. }) => quote! {
            #(#before)*
            #pin(async #capture {
                #(#bindings)*
                #body
            })
        },
        None => body,
    };
    quote! {
        #(#outer_attrs)*
        #vis #sig {
            #(#inner_attrs)*
            #body
        }
    }
}

/// The policy each step is passed, and the statement that binds it: the
/// site's constant one, the value of `policy = expr`, or the configuration's
/// entry for `config = "name"`, each evaluated once per call.
fn policy_binding(args: &Args, names: &Names) -> (TokenStream, TokenStream) {
    let Names { span, private, site, .. } = names;
    let (span, internal) = (*span, |name: &str| names.internal(name));
    match (&args.policy, &args.config) {
        // `config = "name"`: the installed configuration's policy and
        // timeout for `name`, over the attribute's own, taken once per call.
        // The merge is the runtime's (`config::resolve`).
        (_, Some(config)) => {
            let (name, value) = (&config.value, internal("__retry_config"));
            let timeout = args.timeout.as_ref().map_or_else(
                || quote!(::core::option::Option::None),
                |timeout| {
                    let limit = duration(timeout.value);
                    quote!(::core::option::Option::Some(#limit))
                },
            );
            let bind = quote_spanned!(span=> let #value = #private::resolve_config(#name, #site.policy(), #timeout););
            (bind, quote_spanned!(span=> &#value.policy))
        }
        (Some(given), None) => {
            let expr = &given.value;
            let value = internal("__retry_policy");
            // Located on the expression, so an error about its type
            // underlines only what the user wrote.
            let at_expr = respan(private.clone(), expr.span());
            let bind = quote_spanned!(expr.span()=> let #value: #at_expr::RetryPolicy = #at_expr::ToPolicy::to_policy(&(#expr)););
            (bind, quote_spanned!(span=> &#value))
        }
        (None, None) => (TokenStream::new(), quote_spanned!(span=> #site.policy())),
    }
}

/// The names and locations the expansion's pieces share.
struct Names {
    /// The return type's span: errors about the loop's types belong there.
    span: Span,
    /// `::retry_runtime::__private`, located on the return type: an error
    /// about it (not a `Result`) is reported there rather than on the
    /// attribute.
    private: TokenStream,
    call: Ident,
    result: Ident,
    delay: Ident,
    site: Ident,
    /// Where the sleeper is written (`sleep`'s value) or implied (`async`).
    sleeper_at: Span,
    sleeper: Ident,
}

impl Names {
    fn new(args: &Args, retry_fn: &RetryFn) -> Self {
        let sig = &retry_fn.item.sig;
        let span = output_span(sig);
        let sleeper_at = match (&args.sleep, &retry_fn.boxed) {
            (Some(given), _) => given.value.span(),
            (None, None) => sig.asyncness.as_ref().map_or(sig.ident.span(), Spanned::span),
            (None, Some(_)) => sig.ident.span(),
        };
        let internal = |name: &str| Ident::new(name, Span::mixed_site().located_at(span));
        Names {
            span,
            private: respan(private_path(args), span),
            call: internal("__retry_call"),
            result: internal("__retry_result"),
            delay: internal("__retry_delay"),
            site: internal("__RETRY_SITE"),
            sleeper_at,
            sleeper: Ident::new("__retry_sleeper", Span::mixed_site().located_at(sleeper_at)),
        }
    }

    /// An internal name: invisible to the body (mixed-site hygiene) and
    /// located on the return type.
    fn internal(&self, name: &str) -> Ident {
        Ident::new(name, Span::mixed_site().located_at(self.span))
    }
}

/// How a call starts and sleeps: on the thread, or on a sleeper.
struct Timer {
    /// `let __retry_sleeper = …;` (async only).
    bind: TokenStream,
    /// `Call::sync(…)` or `Call::asynchronous(…)`.
    start: TokenStream,
    /// The sleep after a failed attempt.
    sleep: TokenStream,
}

impl Timer {
    /// Every use of an async fn's sleeper is located where it is written
    /// (`sleep`'s value) or implied (`async`): a value that is no sleeper,
    /// or a build without a timer, is reported there, once.
    fn new(args: &Args, retry_fn: &RetryFn, names: &Names, policy: &TokenStream) -> Self {
        let Names { span, call, delay, site, sleeper_at: at, sleeper, .. } = names;
        let (span, at) = (*span, *at);
        if retry_fn.flavor == Flavor::Sync {
            let private = &names.private;
            return Timer {
                bind: TokenStream::new(),
                start: quote_spanned!(span=> #private::Call::sync(&#site, #policy)),
                sleep: quote_spanned!(span=> #call.sleep_blocking(#delay);),
            };
        }
        let private = respan(names.private.clone(), at);
        let bind = if let Some(given) = &args.sleep {
            let value = &given.value;
            quote_spanned!(at=> let #sleeper = #private::sleeper(#value);)
        } else {
            quote_spanned!(at=> let #sleeper = #private::default_sleeper::<#private::DefaultSleeper>();)
        };
        // A sync attempt cannot be stopped, so only an async call takes the
        // configuration's timeout.
        let with_timeout = args.config.as_ref().map(|_| {
            let config = names.internal("__retry_config");
            quote_spanned!(span=> .with_timeout(#config.timeout))
        });
        Timer {
            bind,
            start: quote_spanned!(at=> #private::Call::asynchronous(&#site, #policy, &#sleeper) #with_timeout),
            // The delay is bound apart from the sleep: a result held across
            // the sleep would make the future non-`Send` for a non-`Send` error.
            sleep: quote_spanned!(at=> if !#delay.is_zero() { #call.sleep_on(&#sleeper, #delay).await; }),
        }
    }
}

/// A hedged call: the engine's driver (`hedged`) given an attempt factory,
/// a non-move closure whose `async move` block copies what the body uses
/// (`&self`, references, `Copy` arguments, the clones of `clone(…)`), so
/// that several attempts can run at once. The body is still quoted once.
/// Returns the checks that each by-value argument is `Copy` (statements),
/// and the call (an expression).
fn hedged_call(
    args: &Args,
    retry_fn: &RetryFn,
    names: &Names,
    block: &TokenStream,
    output_type: &syn::Type,
    hedge: Duration,
) -> (TokenStream, TokenStream) {
    let Names { span, private, call, site, result, sleeper_at, sleeper, .. } = names;
    let span = *span;
    let internal = |name: &str| names.internal(name);
    let per_attempt: Vec<&Ident> = args.clone.iter().flat_map(|c| &c.value).collect();
    let clones = quote!(#(let #per_attempt = ::core::clone::Clone::clone(&#per_attempt);)*);
    let (_, bind_attempt) = attempt_context(args, names);
    // Each by-value argument not cloned must be `Copy`: checked where it is
    // written, with a message saying why.
    let checks = retry_fn.item.sig.inputs.iter().filter_map(|input| {
        let syn::FnArg::Typed(typed) = input else { return None };
        let syn::Pat::Ident(pat) = &*typed.pat else { return None };
        if matches!(&*typed.ty, syn::Type::Reference(_)) || per_attempt.contains(&&pat.ident) {
            return None;
        }
        let name = &pat.ident;
        let at_arg = respan(private.clone(), typed.span());
        Some(quote_spanned!(typed.span()=> #at_arg::hedged_argument(&#name);))
    });
    let checks: TokenStream = if retry_fn.boxed.is_some() { TokenStream::new() } else { checks.collect() };
    let attempt = quote_spanned!(span=> #private::attempt_async::<#output_type, _>(async move #block));
    let sleeper_ref = quote_spanned!(*sleeper_at=> &#sleeper);
    let attempt = if let Some(timeout) = &args.timeout {
        let at = timeout.key.span();
        let (private, output_type) = (respan(private.clone(), at), respan(output_type.to_token_stream(), at));
        quote_spanned!(at=> #private::hedged_within(#sleeper_ref, #call.attempt_limit(), #attempt, <#output_type as #private::RetryOutcome>::timed_out))
    } else {
        attempt
    };
    // The deadline drops the attempts in flight with `E::from(TimedOut)`:
    // asked for only when the attribute sets one (located on `deadline`).
    let timed_out = if let Some(deadline) = &args.deadline {
        let at = deadline.key.span();
        let (private, output_type) = (respan(private.clone(), at), respan(output_type.to_token_stream(), at));
        quote_spanned!(at=> ::core::option::Option::Some(<#output_type as #private::RetryOutcome>::timed_out))
    } else {
        quote_spanned!(span=> ::core::option::Option::None)
    };
    let unused = internal("__retry_unused");
    let error = internal("__retry_error");
    let classify = args.on.as_ref().map_or_else(
        || quote_spanned!(span=> |#unused| #private::Verdict::Retry),
        |on| {
            let on = &on.value;
            quote_spanned!(on.span()=> |#error| #private::IntoVerdict::into_verdict((#on)(#error)))
        },
    );
    let on_retry =
        args.on_retry.as_ref().map_or_else(|| quote_spanned!(span=> |#unused| {}), |hook| hook.value.to_token_stream());
    let describe = describe(private, span);
    let hedge = duration(hedge);
    let run = quote_spanned! {span=>
        #private::hedged::<_, #output_type, _, _, _, _, _>(
            &mut #call,
            #sleeper_ref,
            #hedge,
            |#call: &#private::Call<'_>| {
                #clones
                #bind_attempt
                #attempt
            },
            #classify,
            #on_retry,
            #describe,
            #timed_out,
        ).await
    };
    let admit = args.breaker.as_ref().map(|breaker| {
        let at = breaker.value.span();
        let private = respan(private.clone(), at);
        let output_type = respan(output_type.to_token_stream(), at);
        quote_spanned!(at=> #call.admit(&#site, <#output_type as #private::RetryOutcome>::circuit_open))
    });
    let run = match admit {
        Some(admit) => quote_spanned! {span=>
            match #admit {
                ::core::result::Result::Err(#result) => #result,
                ::core::result::Result::Ok(()) => #run,
            }
        },
        None => run,
    };
    (checks, run)
}

/// How the loop hands back the call's result. Without `fallback`, each end
/// (a refused admission, a `Step::Return`) is `return result`, as it always
/// was. With it, each end `break`s out of the loop with its result, and one
/// place after the loop asks the engine (`Call::fall_back`) whether the
/// result is an error to hand to the fallback: every way a call can end
/// goes through it, and the user's expression is quoted once.
struct Fallback {
    /// `return` or `break`.
    exit: TokenStream,
    /// `let __retry_result =` before the loop, with a fallback.
    bind_result: TokenStream,
    /// The `match` after the loop, with a fallback.
    finish: TokenStream,
}

impl Fallback {
    fn new(args: &Args, flavor: Flavor, names: &Names, output_type: &syn::Type) -> Self {
        let Names { span, call, result, .. } = names;
        let span = *span;
        let Some(given) = &args.fallback else {
            return Fallback {
                exit: quote_spanned!(span=> return),
                bind_result: TokenStream::new(),
                finish: TokenStream::new(),
            };
        };
        let expr = &given.value;
        // Located on the expression: a fallback of the wrong signature is
        // reported there, once (the helper's bound names the return type).
        let at = expr.span();
        let private = respan(names.private.clone(), at);
        let output_type = respan(output_type.to_token_stream(), at);
        let error = names.internal("__retry_error");
        let fall_back = if flavor == Flavor::Sync {
            quote_spanned!(at=> #private::fallback::<#output_type, _>(#expr, #error))
        } else {
            quote_spanned!(at=> #private::fallback_async::<#output_type, _, _>(#expr, #error).await)
        };
        Fallback {
            exit: quote_spanned!(span=> break),
            bind_result: quote_spanned!(span=> let #result =),
            finish: quote_spanned! {span=>
                ;
                match #call.fall_back(#result) {
                    ::core::result::Result::Ok(#result) => #result,
                    ::core::result::Result::Err(#error) => #fall_back,
                }
            },
        }
    }
}

/// `attempt = name`: what the attempts share is made once, before the first
/// (`let __retry_origin = …`), and each attempt binds `name`. Without the
/// key, nothing is made: no clock read, no random draw.
fn attempt_context(args: &Args, names: &Names) -> (TokenStream, TokenStream) {
    let Some(given) = &args.attempt else { return (TokenStream::new(), TokenStream::new()) };
    let Names { span, private, call, .. } = names;
    let (origin, name) = (names.internal("__retry_origin"), &given.value);
    (
        quote_spanned!(*span=> let #origin = #call.origin();),
        quote_spanned!(*span=> let #name: #private::Attempt = #call.context(#origin);),
    )
}

/// One attempt of the body, typed with the function's result: a closure
/// called, or an async block awaited (within the `timeout`, if any).
fn run_attempt(
    args: &Args,
    flavor: Flavor,
    names: &Names,
    block: &TokenStream,
    output_type: &syn::Type,
) -> TokenStream {
    let Names { span, private, call, sleeper_at, sleeper, .. } = names;
    let span = *span;
    // The attempt is run by the call (`Call::attempt`/`attempt_async`), which
    // enters the attempt's span (feature `tracing`) around it.
    if flavor == Flavor::Sync {
        return quote_spanned!(span=> #call.attempt::<#output_type, _>(|| #block));
    }
    let attempt = quote_spanned!(span=> #call.attempt_async::<#output_type, _>(async #block));
    // Located on `timeout` (or `config`, whose file may give one): a missing
    // `From<TimedOut>` is reported there.
    let limited = args.timeout.as_ref().map(|t| &t.key).or(args.config.as_ref().map(|c| &c.key));
    if let Some(key) = limited {
        let at = key.span();
        let (private, output_type) = (respan(private.clone(), at), respan(output_type.to_token_stream(), at));
        let timed_out = quote_spanned!(at=> <#output_type as #private::RetryOutcome>::timed_out);
        let sleeper_ref = quote_spanned!(*sleeper_at=> &#sleeper);
        // Bound first: the attempt borrows the call only while it is made.
        let bound = names.internal("__retry_attempt");
        quote_spanned!(at=> { let #bound = #attempt; #call.within_timeout(#sleeper_ref, #bound, #timed_out).await })
    } else {
        quote_spanned!(span=> #attempt.await)
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
    let describe = describe(private, span);
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

/// How an error is written in logs. Autoref specialisation: `Display` if
/// the error has it, else `Debug`, else its type name; an error type needs
/// neither to be retried. Only the trait that applies is used, hence the
/// scoped `allow`.
fn describe(private: &TokenStream, span: Span) -> TokenStream {
    let internal = |name: &str| Ident::new(name, Span::mixed_site().located_at(span));
    let (error, formatter) = (internal("__retry_error"), internal("__retry_formatter"));
    quote_spanned! {span=>
        |#error, #formatter| {
            #[allow(unused_imports)]
            use #private::{DescribeAny as _, DescribeDebug as _, DescribeDisplay as _};
            (&&&#private::Describe(#error)).describe_error(#formatter)
        }
    }
}
