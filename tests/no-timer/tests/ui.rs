//! `#[retry]` with retry-runtime built without its timer features: what an
//! async fn that names no sleeper is told. A crate of its own, because
//! trybuild builds the cases with this crate's dependencies and features.
//! Regenerate with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/fail/*.rs");
    t.pass("ui/pass/*.rs");
}
