//! gRPC through `tonic`: status codes, a configurable retryable set, and
//! server pushback.
//!
//! | `tonic::Code` | transient by default? |
//! |---|---|
//! | `Unavailable`, `DeadlineExceeded`, `ResourceExhausted`, `Aborted` | yes |
//! | `Internal` | no; add it with [`RetryableCodes::with`] |
//! | `Cancelled`, `Unknown`, `InvalidArgument`, `NotFound`, `AlreadyExists`, `PermissionDenied`, `FailedPrecondition`, `OutOfRange`, `Unimplemented`, `DataLoss`, `Unauthenticated` | no |
//!
//! The default set is the one the gRPC retry design (gRFC A6) and the
//! status-code guide name as safe to retry; `Internal` is listed there too,
//! but it also covers bugs that fail the same way every time, so it is
//! opt-in here.
//!
//! **Server pushback** (gRFC A6): a `grpc-retry-pushback-ms` trailer on a
//! status whose code is retryable decides the delay. A non-negative integer
//! means "retry after this many milliseconds"
//! ([`Verdict::RetryAfter`]); a negative or malformed value means "do not
//! retry" ([`Verdict::Stop`]). Whitespace around the value is ignored, as in
//! `Retry-After`. Pushback never makes a non-retryable code retryable.
//!
//! ```
//! use std::time::Duration;
//! use tonic::{metadata::MetadataMap, Code, Status};
//! use retry_runtime::classify::grpc::RetryableCodes;
//! use retry_runtime::classify::is_transient;
//! use retry_runtime::{retry, Verdict};
//!
//! let mut trailers = MetadataMap::new();
//! trailers.insert("grpc-retry-pushback-ms", "250".parse().unwrap());
//! let overloaded = Status::with_metadata(Code::ResourceExhausted, "slow down", trailers);
//! assert_eq!(is_transient(&overloaded), Verdict::RetryAfter(Duration::from_millis(250)));
//! assert_eq!(is_transient(&Status::internal("oops")), Verdict::Stop);
//!
//! // A client that also retries `Internal`.
//! #[retry(max = 3, base = "1ms", on = RetryableCodes::DEFAULT.with(Code::Internal).classifier())]
//! fn call(replies: &mut Vec<Status>) -> Result<(), Status> {
//!     replies.pop().map_or(Ok(()), Err)
//! }
//! assert!(call(&mut vec![Status::internal("oops")]).is_ok());
//! ```

use std::time::Duration;

use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::Transient;
use crate::Verdict;

/// The trailer a server sets to say when (or whether) to retry.
pub const PUSHBACK_TRAILER: &str = "grpc-retry-pushback-ms";

/// A set of gRPC status codes to retry; [`DEFAULT`](Self::DEFAULT) is
/// `Unavailable`, `DeadlineExceeded`, `ResourceExhausted` and `Aborted`.
///
/// ```
/// use tonic::Code;
/// use retry_runtime::classify::grpc::RetryableCodes;
///
/// const CODES: RetryableCodes = RetryableCodes::DEFAULT.with(Code::Internal).without(Code::Aborted);
/// assert!(CODES.contains(Code::Internal));
/// assert!(!CODES.contains(Code::Aborted));
/// assert!(CODES.contains(Code::Unavailable));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetryableCodes {
    /// Bit `n` set: the code whose value is `n` is retried.
    bits: u32,
}

impl RetryableCodes {
    /// No code at all: build a set of your own with [`with`](Self::with).
    ///
    /// ```
    /// use tonic::Code;
    /// use retry_runtime::classify::grpc::RetryableCodes;
    ///
    /// let only_unavailable = RetryableCodes::NONE.with(Code::Unavailable);
    /// assert!(!only_unavailable.contains(Code::DeadlineExceeded));
    /// ```
    pub const NONE: Self = RetryableCodes { bits: 0 };

    /// `Unavailable`, `DeadlineExceeded`, `ResourceExhausted`, `Aborted`.
    ///
    /// ```
    /// use tonic::Code;
    /// use retry_runtime::classify::grpc::RetryableCodes;
    ///
    /// assert!(RetryableCodes::DEFAULT.contains(Code::DeadlineExceeded));
    /// assert!(!RetryableCodes::DEFAULT.contains(Code::Internal));
    /// assert_eq!(RetryableCodes::default(), RetryableCodes::DEFAULT);
    /// ```
    pub const DEFAULT: Self = Self::NONE
        .with(Code::Unavailable)
        .with(Code::DeadlineExceeded)
        .with(Code::ResourceExhausted)
        .with(Code::Aborted);

    const fn bit(code: Code) -> u32 {
        // Codes are 0 ..= 16.
        1 << (code as u32)
    }

    /// This set and `code`.
    ///
    /// See [`RetryableCodes`] for an example.
    #[must_use]
    pub const fn with(self, code: Code) -> Self {
        RetryableCodes { bits: self.bits | Self::bit(code) }
    }

    /// This set without `code`.
    ///
    /// See [`RetryableCodes`] for an example.
    #[must_use]
    pub const fn without(self, code: Code) -> Self {
        RetryableCodes { bits: self.bits & !Self::bit(code) }
    }

    /// Whether `code` is in the set.
    ///
    /// See [`RetryableCodes`] for an example.
    pub const fn contains(self, code: Code) -> bool {
        self.bits & Self::bit(code) != 0
    }

    /// The verdict for `status`: [`Verdict::Stop`] when its code is not in
    /// the set or the server's pushback says not to retry,
    /// [`Verdict::RetryAfter`] when the pushback gives a delay,
    /// [`Verdict::Retry`] otherwise.
    ///
    /// ```
    /// use tonic::{metadata::MetadataMap, Code, Status};
    /// use retry_runtime::classify::grpc::RetryableCodes;
    /// use retry_runtime::Verdict;
    ///
    /// let mut trailers = MetadataMap::new();
    /// trailers.insert("grpc-retry-pushback-ms", "-1".parse().unwrap());
    /// let go_away = Status::with_metadata(Code::Unavailable, "draining", trailers);
    /// assert_eq!(RetryableCodes::DEFAULT.verdict(&go_away), Verdict::Stop);
    /// assert_eq!(RetryableCodes::DEFAULT.verdict(&Status::unavailable("down")), Verdict::Retry);
    /// ```
    pub fn verdict(self, status: &Status) -> Verdict {
        if !self.contains(status.code()) {
            return Verdict::Stop;
        }
        match pushback(status.metadata()) {
            None => Verdict::Retry,
            Some(Pushback::RetryAfter(delay)) => Verdict::RetryAfter(delay),
            Some(Pushback::DoNotRetry) => Verdict::Stop,
        }
    }

    /// This set as a classifier of `tonic::Status`, for `on = …`.
    ///
    /// See the [module docs](self) for an example.
    pub fn classifier(self) -> impl Fn(&Status) -> Verdict + Copy {
        move |status: &Status| self.verdict(status)
    }
}

/// A classifier of `tonic::Status` for `on = …` that retries the codes the
/// installed configuration lists for `operation` (its entry's
/// `retryable_codes`, else the default's, else [`RetryableCodes::DEFAULT`]),
/// honouring server pushback like [`RetryableCodes::verdict`]. The list is
/// read when a call fails, so a reload applies to the next failure.
///
/// ```
/// use tonic::Status;
/// use retry_runtime::classify::grpc::codes_from_config;
/// use retry_runtime::{Verdict, config::Policies, retry};
///
/// let policies: Policies = toml::from_str("[operations.get_product]\nretryable_codes = [\"internal\"]")?;
/// policies.install();
/// let classify = codes_from_config("get_product");
/// assert_eq!(classify(&Status::internal("oops")), Verdict::Retry);
/// assert_eq!(classify(&Status::unavailable("down")), Verdict::Stop);
///
/// #[retry(config = "get_product", base = "1ms", on = codes_from_config("get_product"))]
/// fn get_product(replies: &mut Vec<Status>) -> Result<(), Status> {
///     replies.pop().map_or(Ok(()), Err)
/// }
/// assert!(get_product(&mut vec![Status::internal("oops")]).is_ok());
/// # Ok::<(), toml::de::Error>(())
/// ```
#[cfg(feature = "config")]
#[cfg_attr(docsrs, doc(cfg(feature = "config")))]
pub fn codes_from_config(operation: &'static str) -> impl Fn(&Status) -> Verdict + Copy {
    move |status: &Status| {
        let listed = crate::config::installed().and_then(|policies| policies.retryable_codes(operation));
        listed.unwrap_or(RetryableCodes::DEFAULT).verdict(status)
    }
}

impl Default for RetryableCodes {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What a server's `grpc-retry-pushback-ms` trailer asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pushback {
    /// Retry after this delay.
    RetryAfter(Duration),
    /// Do not retry at all: the value was negative or malformed.
    DoNotRetry,
}

/// Reads the server's pushback from a status's metadata (its trailers);
/// `None` when there is none.
///
/// ```
/// use std::time::Duration;
/// use tonic::metadata::MetadataMap;
/// use retry_runtime::classify::grpc::{pushback, Pushback};
///
/// let mut trailers = MetadataMap::new();
/// assert_eq!(pushback(&trailers), None);
/// trailers.insert("grpc-retry-pushback-ms", "1500".parse().unwrap());
/// assert_eq!(pushback(&trailers), Some(Pushback::RetryAfter(Duration::from_millis(1500))));
/// trailers.insert("grpc-retry-pushback-ms", "soon".parse().unwrap());
/// assert_eq!(pushback(&trailers), Some(Pushback::DoNotRetry));
/// ```
pub fn pushback(metadata: &MetadataMap) -> Option<Pushback> {
    let value = metadata.get(PUSHBACK_TRAILER)?;
    // gRFC A6: an ASCII signed 32-bit integer; negative or unparseable
    // means "do not retry". Surrounding whitespace is not part of the value,
    // as for `Retry-After` (HTTP's optional whitespace around a field value).
    let millis = value.to_str().ok().and_then(|text| text.trim().parse::<i32>().ok());
    Some(match millis.and_then(|millis| u64::try_from(millis).ok()) {
        Some(millis) => Pushback::RetryAfter(Duration::from_millis(millis)),
        None => Pushback::DoNotRetry,
    })
}

impl Transient for Code {
    fn is_transient(&self) -> bool {
        RetryableCodes::DEFAULT.contains(*self)
    }
}

impl Transient for Status {
    fn is_transient(&self) -> bool {
        RetryableCodes::DEFAULT.verdict(self) != Verdict::Stop
    }

    fn retry_after(&self) -> Option<Duration> {
        match RetryableCodes::DEFAULT.verdict(self) {
            Verdict::RetryAfter(delay) => Some(delay),
            Verdict::Retry | Verdict::Stop => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::classify::is_transient;

    const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// A status as a tonic client sees it: the server's status, sent as
    /// trailers-only response headers, parsed back by tonic.
    fn received(code: Code, pushback: Option<&str>) -> Status {
        let mut metadata = MetadataMap::new();
        if let Some(value) = pushback {
            metadata.insert(PUSHBACK_TRAILER, value.parse().unwrap());
        }
        let sent = Status::with_metadata(code, "from the server", metadata);
        let response = sent.into_http::<()>();
        Status::from_header_map(response.headers()).unwrap()
    }

    #[test]
    fn default_set() {
        let transient: Vec<Code> = ALL.into_iter().filter(Transient::is_transient).collect();
        assert_eq!(transient, [Code::DeadlineExceeded, Code::ResourceExhausted, Code::Aborted, Code::Unavailable]);
        for code in ALL {
            assert_eq!(received(code, None).is_transient(), code.is_transient(), "{code:?}");
        }
    }

    #[test]
    fn internal_is_opt_in() {
        assert_eq!(is_transient(&received(Code::Internal, None)), Verdict::Stop);
        let codes = RetryableCodes::DEFAULT.with(Code::Internal);
        assert_eq!(codes.verdict(&received(Code::Internal, None)), Verdict::Retry);
        assert_eq!(codes.classifier()(&received(Code::Internal, None)), Verdict::Retry);
    }

    #[test]
    fn the_set_is_configurable() {
        let codes = RetryableCodes::NONE.with(Code::Unavailable).with(Code::Unknown);
        assert_eq!(codes.verdict(&received(Code::Unknown, None)), Verdict::Retry);
        assert_eq!(codes.verdict(&received(Code::DeadlineExceeded, None)), Verdict::Stop);
        let codes = RetryableCodes::DEFAULT.without(Code::Unavailable);
        assert_eq!(codes.verdict(&received(Code::Unavailable, None)), Verdict::Stop);
        for code in ALL {
            assert!(!RetryableCodes::NONE.contains(code));
            assert!(RetryableCodes::NONE.with(code).contains(code));
        }
    }

    #[test]
    fn pushback_gives_the_delay() {
        let status = received(Code::Unavailable, Some("1500"));
        assert_eq!(is_transient(&status), Verdict::RetryAfter(Duration::from_millis(1500)));
        assert_eq!(status.retry_after(), Some(Duration::from_millis(1500)));
        assert_eq!(is_transient(&received(Code::ResourceExhausted, Some("0"))), Verdict::RetryAfter(Duration::ZERO));
    }

    #[test]
    fn negative_or_malformed_pushback_means_do_not_retry() {
        for value in ["-1", "-2147483648", "soon", "1.5", "", "2147483648", "12ms"] {
            let status = received(Code::Unavailable, Some(value));
            assert_eq!(pushback(status.metadata()), Some(Pushback::DoNotRetry), "{value:?}");
            assert_eq!(is_transient(&status), Verdict::Stop, "{value:?}");
            assert!(!status.is_transient());
        }
    }

    /// `" 5"` meant "do not retry" while `Retry-After: " 5"` is trimmed and
    /// means 5 seconds: surrounding whitespace is now ignored in both.
    #[test]
    fn pushback_with_surrounding_whitespace_is_trimmed() {
        for value in [" 5", "5 ", "\t5\t", "  5  "] {
            let status = received(Code::Unavailable, Some(value));
            assert_eq!(pushback(status.metadata()), Some(Pushback::RetryAfter(Duration::from_millis(5))), "{value:?}");
            assert_eq!(is_transient(&status), Verdict::RetryAfter(Duration::from_millis(5)), "{value:?}");
        }
        for value in [" -1", "5 5", " "] {
            let status = received(Code::Unavailable, Some(value));
            assert_eq!(pushback(status.metadata()), Some(Pushback::DoNotRetry), "{value:?}");
        }
    }

    #[test]
    fn pushback_does_not_make_a_permanent_code_retryable() {
        assert_eq!(is_transient(&received(Code::InvalidArgument, Some("100"))), Verdict::Stop);
    }

    #[test]
    fn non_ascii_pushback_means_do_not_retry() {
        let mut metadata = MetadataMap::new();
        metadata.insert(PUSHBACK_TRAILER, tonic::metadata::MetadataValue::try_from(&b"\xff"[..]).unwrap());
        assert_eq!(pushback(&metadata), Some(Pushback::DoNotRetry));
    }
}
