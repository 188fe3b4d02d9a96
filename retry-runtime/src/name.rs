//! A retried function's name, as statistics, logs, metrics and hooks show it.

/// A function's name: given, or read from where the function is.
#[derive(Clone, Copy, Debug)]
pub(crate) enum FunctionName {
    /// As written (the closure API's `named`, a test).
    Given(&'static str),
    /// The type name of an item nested in the function
    /// (`app::Repo::load::marker`), whose path names the function, its
    /// module and the `Self` type of a method. Read only when shown.
    Inside(fn() -> &'static str),
}

impl FunctionName {
    /// The name: `app::repo::load`, `app::Repo::load`, `<app::Repo as app::Load>::load`.
    pub(crate) fn get(self) -> &'static str {
        match self {
            FunctionName::Given(name) => name,
            FunctionName::Inside(marker) => {
                let mut path = parent(marker());
                // The body of an `async fn` is a closure of the function.
                while path.ends_with("::{{closure}}") {
                    path = parent(path);
                }
                path
            }
        }
    }
}

/// `a::b` of `a::b::c` (a path without `::` is its own parent).
fn parent(path: &'static str) -> &'static str {
    // `::` never appears inside a segment of a type name but in generic
    // arguments (`Repo<a::B>::load`), which the last segment has none of.
    let bytes = path.as_bytes();
    (1..bytes.len()).rev().find(|&i| bytes[i] == b':' && bytes[i - 1] == b':').map_or(path, |i| &path[..i - 1])
}

#[cfg(test)]
mod tests {
    use super::FunctionName;

    struct Repo;

    impl Repo {
        fn marker_path() -> &'static str {
            fn marker() -> &'static str {
                std::any::type_name_of_val(&marker)
            }
            FunctionName::Inside(marker).get()
        }
    }

    #[allow(clippy::unused_async, reason = "the name of an async fn's body is under test")]
    async fn in_an_async_fn() -> &'static str {
        fn marker() -> &'static str {
            std::any::type_name_of_val(&marker)
        }
        FunctionName::Inside(marker).get()
    }

    #[test]
    fn an_async_fn_is_named_as_a_sync_one() {
        let mut future = std::pin::pin!(in_an_async_fn());
        let std::task::Poll::Ready(name) =
            future.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        else {
            unreachable!("nothing to wait for")
        };
        assert!(name.ends_with("::name::tests::in_an_async_fn"), "{name}");
    }

    #[test]
    fn a_method_is_named_with_its_self_type() {
        assert!(Repo::marker_path().ends_with("::Repo::marker_path"), "{}", Repo::marker_path());
        assert_eq!(FunctionName::Given("billing::charge").get(), "billing::charge");
    }
}
