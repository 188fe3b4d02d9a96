//! What kind of function the attribute is on, and whether it can be retried.

use proc_macro2::TokenStream;
use syn::visit_mut::VisitMut;
use syn::{
    Expr, FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, ReturnType, Signature, Stmt, TraitItemFn, Type,
    TypeImplTrait, TypeParamBound,
};

use crate::args::Args;
use crate::errors::Errors;

/// How the body is awaited and how the loop sleeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Sync,
    Async,
}

/// A function the attribute can rewrite.
pub(crate) struct RetryFn {
    pub(crate) item: ItemFn,
    pub(crate) flavor: Flavor,
    /// Set when the function is an `async fn` that `#[async_trait]` has
    /// already rewritten into one returning a boxed future.
    pub(crate) boxed: Option<Boxed>,
}

/// An `async fn` as `#[async_trait]` leaves it (above `#[retry]` on an impl
/// or trait, it runs first):
///
/// ```text
/// fn load<'life0, 'async_trait>(&'life0 self, id: u64)
///     -> Pin<Box<dyn Future<Output = Result<u64, E>> + Send + 'async_trait>>
/// {
///     Box::pin(async move {
///         if let Some(__ret) = None::<Result<u64, E>> { return __ret; }
///         let __self = self;
///         let id = id;
///         let __ret: Result<u64, E> = { body };
///         __ret
///     })
/// }
/// ```
///
/// The retry loop goes inside the async block, around what follows the
/// argument bindings, which run once: that way `&mut self` (bound to
/// `__self`) is reborrowed by each attempt rather than moved into the first.
/// tracing-attributes recognises the same shape for `#[instrument]`.
pub(crate) struct Boxed {
    /// What comes before `Box::pin(…)`, kept as it is (older async-trait
    /// versions bound the arguments there).
    pub(crate) before: Vec<Stmt>,
    /// `Box::pin` as written.
    pub(crate) pin: Expr,
    /// `move`, if the async block has it.
    pub(crate) capture: Option<syn::Token![move]>,
    /// The type hint and the argument bindings: run once per call.
    pub(crate) bindings: Vec<Stmt>,
    /// The rest of the async block: one attempt.
    pub(crate) attempt: Vec<Stmt>,
    /// The future's `Output`: the `Result` each attempt returns.
    pub(crate) output: Type,
}

/// Parses the annotated item; a function without a body or anything that is
/// not a function is an error.
pub(crate) fn parse(tokens: &TokenStream) -> syn::Result<ItemFn> {
    match syn::parse2::<ItemFn>(tokens.clone()) {
        Ok(item) => Ok(item),
        Err(not_a_function) => match syn::parse2::<TraitItemFn>(tokens.clone()) {
            Ok(declaration) if declaration.default.is_none() => Err(syn::Error::new_spanned(
                &declaration.sig,
                "#[retry] needs a function with a body: put it on the implementation, not on the declaration",
            )),
            _ => {
                Err(syn::Error::new(not_a_function.span(), format!("#[retry] applies to functions: {not_a_function}")))
            }
        },
    }
}

/// Refuses what cannot be retried, or cannot be retried with these
/// arguments, reporting each reason in `errors`.
pub(crate) fn classify(item: ItemFn, args: &Args, errors: &mut Errors) -> Option<RetryFn> {
    let sig = &item.sig;
    let before = errors.count();
    let boxed = boxed_async(&item);
    let is_async = sig.asyncness.is_some() || boxed.is_some();
    if let (false, Some(timeout)) = (is_async, &args.timeout) {
        errors.spanned(
            &timeout.key,
            "`timeout` needs an `async fn`: a running sync attempt cannot be stopped from outside (a thread cannot be interrupted). Set a timeout on the I/O the body does (a socket or driver timeout), or bound the whole call with `deadline`",
        );
    }
    if let (false, Some(sleep)) = (is_async, &args.sleep) {
        errors.spanned(
            &sleep.key,
            "`sleep` needs an `async fn`: a sync fn sleeps its thread between attempts (`std::thread::sleep`), and needs no timer",
        );
    }
    if let Some(hedge) = &args.hedge {
        check_hedge(sig, is_async, hedge, errors);
    }
    if let Some(constness) = &sig.constness {
        errors.spanned(constness, "#[retry] cannot be used on a `const fn`: retrying sleeps between attempts, which a const context cannot do");
    }
    if let Some(abi) = &sig.abi {
        errors.spanned(abi, "#[retry] cannot be used on an `extern` function: its callers expect one call, not a loop; wrap it in a Rust function and retry that");
    }
    if let (None, Some(future)) = (&sig.asyncness, returned_future(&sig.output)) {
        errors.spanned(
            future,
            "#[retry] cannot retry a future returned by a non-async fn: write it as `async fn` returning the `Result`",
        );
    }
    if let ReturnType::Default = sig.output {
        errors.spanned(
            &sig.ident,
            format!("`{}` returns nothing: #[retry] needs a function returning `Result<T, E>`, so it can tell a failed attempt from a success", sig.ident),
        );
    }
    for name in args.clone.iter().flat_map(|clone| &clone.value) {
        check_clone_argument(sig, name, errors);
    }
    if let Some(attempt) = &args.attempt
        && argument_names(sig).any(|argument| *argument == attempt.value)
    {
        errors.spanned(
            &attempt.value,
            format!(
                "`{}` is already an argument of `{}`: give the attempt a name of its own, such as `attempt = attempt`",
                attempt.value, sig.ident
            ),
        );
    }
    if errors.count() > before {
        return None;
    }
    let flavor = if is_async { Flavor::Async } else { Flavor::Sync };
    Some(RetryFn { item, flavor, boxed })
}

/// `hedge` runs the body several times at once: only an async fn can, and
/// only if the body borrows `self` shared (each attempt reborrows it).
fn check_hedge(sig: &Signature, is_async: bool, hedge: &crate::args::Given<std::time::Duration>, errors: &mut Errors) {
    if !is_async {
        errors.spanned(
            &hedge.key,
            "`hedge` needs an `async fn`: hedged attempts run at the same time, which a sync fn can only do on other threads; make the function `async`, or drop `hedge`",
        );
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        let (exclusive, by_value) = match &receiver.kind {
            syn::ReceiverKind::Reference(_, _, mutability) => (mutability.is_some(), false),
            syn::ReceiverKind::Typed(_, ty) => match &**ty {
                Type::Reference(reference) => (reference.mutability.is_some(), false),
                _ => (false, true),
            },
            _ => (false, true),
        };
        if exclusive {
            errors.spanned(
                receiver,
                "`hedge` runs attempts at the same time, and only one can hold `&mut self`: take `&self` (with interior mutability where the body writes), or drop `hedge`",
            );
        } else if by_value {
            errors.spanned(
                receiver,
                "`hedge` runs attempts at the same time, and each would need its own `self`: take `&self`, or drop `hedge`",
            );
        }
    }
}

/// The names the arguments bind, as far as a plain `name: T` goes.
fn argument_names(sig: &Signature) -> impl Iterator<Item = &Ident> {
    sig.inputs.iter().filter_map(|input| match input {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(p) => Some(&p.ident),
            _ => None,
        },
        FnArg::Receiver(_) => None,
    })
}

/// The function as `#[async_trait]` rewrote it (see [`Boxed`]), if it is one:
/// not `async`, returning `Pin<Box<dyn Future<Output = T> …>>`, its body
/// ending in `Box::pin(async move { … })`.
fn boxed_async(item: &ItemFn) -> Option<Boxed> {
    if item.sig.asyncness.is_some() {
        return None;
    }
    let output = boxed_future_output(&item.sig.output)?;
    let (last, before) = item.block.stmts.split_last()?;
    let Stmt::Expr(Expr::Call(call), None) = last else { return None };
    let Expr::Path(pin) = &*call.func else { return None };
    let segments: Vec<String> = pin.path.segments.iter().map(|s| s.ident.to_string()).collect();
    if !segments.ends_with(&["Box".to_owned(), "pin".to_owned()]) || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Async(block)) = call.args.first() else { return None };
    let stmts = &block.block.stmts;
    let bound = stmts.iter().take_while(|stmt| is_type_hint(stmt) || is_argument_binding(stmt)).count();
    Some(Boxed {
        before: before.to_vec(),
        pin: (*call.func).clone(),
        capture: block.capture,
        bindings: stmts[..bound].to_vec(),
        attempt: stmts[bound..].to_vec(),
        output,
    })
}

/// `T` in `Pin<Box<dyn Future<Output = T> + …>>`.
fn boxed_future_output(output: &ReturnType) -> Option<Type> {
    let ReturnType::Type(_, ty) = output else { return None };
    let pinned = last_generic_argument(ty, "Pin")?;
    let boxed = last_generic_argument(pinned, "Box")?;
    let Type::TraitObject(object) = boxed else { return None };
    object.bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else { return None };
        let future = bound.path.segments.last().filter(|s| s.ident == "Future")?;
        let PathArguments::AngleBracketed(arguments) = &future.arguments else { return None };
        arguments.args.iter().find_map(|argument| match argument {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        })
    })
}

/// The one type argument of `ty` if `ty` is `name<…>`.
fn last_generic_argument<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last().filter(|s| s.ident == name)?;
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else { return None };
    arguments.args.iter().find_map(|argument| match argument {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// async-trait's `if let Some(__ret) = None::<T> { return __ret; }`, which
/// types the block.
fn is_type_hint(stmt: &Stmt) -> bool {
    let Stmt::Expr(Expr::If(branch), _) = stmt else { return false };
    let Expr::Let(binding) = &*branch.cond else { return false };
    let Pat::TupleStruct(pattern) = &*binding.pat else { return false };
    pattern.elems.iter().any(|element| matches!(element, Pat::Ident(p) if p.ident == "__ret"))
}

/// `let name = name;`, `let mut __self = self;`: an argument moved into the
/// async block.
fn is_argument_binding(stmt: &Stmt) -> bool {
    let Stmt::Local(local) = stmt else { return false };
    let Some(init) = &local.init else { return false };
    if init.diverge.is_some() {
        return false;
    }
    matches!(&*init.expr, Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some())
}

fn returned_future(output: &ReturnType) -> Option<&TypeImplTrait> {
    let ReturnType::Type(_, ty) = output else { return None };
    let Type::ImplTrait(impl_trait) = &**ty else { return None };
    impl_trait
        .bounds
        .iter()
        .any(|bound| match bound {
            TypeParamBound::Trait(t) => {
                t.path.segments.last().is_some_and(|s| s.ident == "Future" || s.ident == "IntoFuture")
            }
            _ => false,
        })
        .then_some(impl_trait)
}

fn check_clone_argument(sig: &Signature, name: &Ident, errors: &mut Errors) {
    if name == "self" {
        errors.spanned(name, "`self` cannot be cloned for each attempt: take `&self`, or clone inside the body");
        return;
    }
    let is_argument = sig.inputs.iter().any(|input| match input {
        FnArg::Typed(typed) => matches!(&*typed.pat, Pat::Ident(p) if p.ident == *name),
        FnArg::Receiver(_) => false,
    });
    if !is_argument {
        errors.spanned(
            name,
            format!(
                "`{name}` is not an argument of `{}`: `clone(…)` lists by-value arguments to clone for each attempt",
                sig.ident
            ),
        );
    }
}

/// The declared return type, with `impl Trait` replaced by `_` so it can
/// annotate an expression; `()` when there is none.
pub(crate) fn annotation_type(output: &ReturnType) -> Type {
    struct InferImplTrait;
    impl VisitMut for InferImplTrait {
        fn visit_type_mut(&mut self, ty: &mut Type) {
            if let Type::ImplTrait(impl_trait) = ty {
                *ty = Type::Infer(syn::TypeInfer {
                    attrs: Vec::new(),
                    underscore_token: syn::Token![_](syn::spanned::Spanned::span(impl_trait)),
                });
            } else {
                syn::visit_mut::visit_type_mut(self, ty);
            }
        }
    }
    match output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            InferImplTrait.visit_type_mut(&mut ty);
            ty
        }
    }
}
