//! placeholder
use proc_macro::TokenStream;
/// x
#[proc_macro_attribute]
pub fn retry(_args: TokenStream, item: TokenStream) -> TokenStream { item }
