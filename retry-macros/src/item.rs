//! What kind of function the attribute is on, and whether it can be retried.

use proc_macro2::TokenStream;
use syn::visit_mut::VisitMut;
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Signature, TraitItemFn, Type, TypeImplTrait, TypeParamBound};

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
    if let (None, Some(timeout)) = (&sig.asyncness, &args.timeout) {
        errors.spanned(
            &timeout.key,
            "`timeout` needs an `async fn`: a running sync attempt cannot be stopped from outside (a thread cannot be interrupted). Set a timeout on the I/O the body does (a socket or driver timeout), or bound the whole call with `deadline`",
        );
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
    if errors.count() > before {
        return None;
    }
    let flavor = if sig.asyncness.is_some() { Flavor::Async } else { Flavor::Sync };
    Some(RetryFn { item, flavor })
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
