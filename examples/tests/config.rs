//! The `config` example's scenario, with assertions: the first file's
//! policies fail both operations (two attempts; a 50 ms timeout on a
//! 150 ms reply), the rewritten file, reloaded while the program runs,
//! lets the same calls through, and the named breaker is listed.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/config.rs"]
mod config;

#[tokio::test]
async fn a_reloaded_file_changes_the_next_calls_policy() {
    let (first, second) = config::run().await.unwrap();

    assert_eq!(first.get_product, Err("unavailable".to_owned()));
    assert_eq!(first.list_products, Err("timed out".to_owned()));
    assert_eq!(first.hits, (2, 3), "get_product: the operation's 2 attempts; list_products: the default's 3");
    assert_eq!(first.breaker, Some(("closed".to_owned(), 2, 0)));

    assert_eq!(second.get_product, Ok("product 42: widget".to_owned()));
    assert_eq!(second.list_products, Ok("42 products".to_owned()));
    assert_eq!(second.hits, (4, 1), "three failures then a success; one reply within 500 ms");
    assert_eq!(second.breaker, Some(("closed".to_owned(), 0, 0)), "the success closed the count");
}
