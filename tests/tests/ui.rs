//! Compile-fail and pass cases for `#[retry]`: the `.stderr` files are the
//! diagnostics a user sees. Regenerate with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
