//! `retryable_codes = ["unavailable", "aborted"]`: gRPC codes by name.

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use tonic::Code;

use crate::classify::grpc::RetryableCodes;

/// The codes by the names of the gRPC status-code guide, in snake case.
const NAMES: &[(&str, Code)] = &[
    ("ok", Code::Ok),
    ("cancelled", Code::Cancelled),
    ("unknown", Code::Unknown),
    ("invalid_argument", Code::InvalidArgument),
    ("deadline_exceeded", Code::DeadlineExceeded),
    ("not_found", Code::NotFound),
    ("already_exists", Code::AlreadyExists),
    ("permission_denied", Code::PermissionDenied),
    ("resource_exhausted", Code::ResourceExhausted),
    ("failed_precondition", Code::FailedPrecondition),
    ("aborted", Code::Aborted),
    ("out_of_range", Code::OutOfRange),
    ("unimplemented", Code::Unimplemented),
    ("internal", Code::Internal),
    ("unavailable", Code::Unavailable),
    ("data_loss", Code::DataLoss),
    ("unauthenticated", Code::Unauthenticated),
];

impl<'de> Deserialize<'de> for RetryableCodes {
    /// A list of code names: `["unavailable", "deadline_exceeded"]`, in
    /// snake case or as gRPC service configs write them (`"UNAVAILABLE"`).
    ///
    /// ```
    /// use tonic::Code;
    /// use retry_runtime::classify::grpc::RetryableCodes;
    ///
    /// let codes: RetryableCodes = serde_json::from_str(r#"["unavailable", "ABORTED"]"#)?;
    /// assert_eq!(codes, RetryableCodes::NONE.with(Code::Unavailable).with(Code::Aborted));
    /// assert!(serde_json::from_str::<RetryableCodes>(r#"["unavailible"]"#).is_err());
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(CodesVisitor)
    }
}

struct CodesVisitor;

impl<'de> Visitor<'de> for CodesVisitor {
    type Value = RetryableCodes;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a list of gRPC code names such as [\"unavailable\", \"aborted\"]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut names: A) -> Result<RetryableCodes, A::Error> {
        let mut codes = RetryableCodes::NONE;
        while let Some(name) = names.next_element::<std::borrow::Cow<'de, str>>()? {
            let Some(&(_, code)) = NAMES.iter().find(|(known, _)| known.eq_ignore_ascii_case(&name)) else {
                let known: Vec<&str> = NAMES.iter().map(|(known, _)| *known).collect();
                return Err(de::Error::custom(format_args!(
                    "unknown gRPC code `{name}`: expected one of {}",
                    known.join(", ")
                )));
            };
            codes = codes.with(code);
        }
        Ok(codes)
    }
}
