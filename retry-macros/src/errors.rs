//! Collects every error of one expansion, so the user sees them all at once.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// How many errors were pushed, to tell whether a check added one.
    pub(crate) fn count(&self) -> usize {
        self.combined.as_ref().map_or(0, |e| e.into_iter().count())
    }

    /// `Ok(())` if nothing was pushed, or every error as one.
    pub(crate) fn finish(self) -> Result<(), syn::Error> {
        self.combined.map_or(Ok(()), Err)
    }

    pub(crate) fn into_compile_errors(self) -> TokenStream {
        self.combined.map(|e| e.to_compile_error()).unwrap_or_default()
    }
}
