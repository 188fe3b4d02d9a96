#![deny(missing_docs)]
//! Docs on the retried functions survive the rewrite: `missing_docs` stays quiet.

/// Public API.
pub mod api {
    use retry_runtime::retry;

    /// Fetches one value (documented: `missing_docs` would fire otherwise).
    #[retry(max = 2, base = "1ms")]
    pub fn fetch() -> Result<u32, String> {
        Ok(1)
    }

    /// Visible in the crate only; `main` calls it from outside this module.
    #[retry(max = 2, base = "1ms")]
    pub(crate) fn fetch_internal() -> Result<u32, String> {
        Ok(2)
    }
}

fn main() {
    assert_eq!(api::fetch(), Ok(1));
    assert_eq!(api::fetch_internal(), Ok(2));
}
