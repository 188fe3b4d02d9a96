//! One attempt of a call through a middleware (the tower layer, the
//! reqwest middleware), as the engine sees it.
//!
//! A middleware retries a service's `Result<Response, Error>`, where a
//! failure is not only an `Err`: a 503 or a trailers-only gRPC
//! `Unavailable` is an `Ok` to the service. So the classifier sees the whole
//! result, and the outcome handed to [`Call::step`] is a [`Tried`]: the
//! attempt, and whether it failed, decided before the engine is asked. The
//! loops in `tower` and `reqwest_middleware` are then the closure API's loop
//! (`closure.rs`), driving the same [`Call`].

use std::fmt;
use std::time::Duration;

use crate::breaker::CircuitOpen;
use crate::closure::Notify;
use crate::engine::{Call, CallSite, RetryOutcome, Step};
use crate::timeout::TimedOut;
use crate::verdict::{IntoVerdict, Verdict};

/// What one attempt of a call through the middleware returned, as the
/// `on_retry` hook sees it.
///
/// ```
/// use retry_runtime::tower::AttemptOutcome;
///
/// let busy: AttemptOutcome<u16, String> = AttemptOutcome::Returned(Ok(503));
/// assert_eq!(busy.to_string(), "a response the classifier retries");
/// let refused: AttemptOutcome<u16, String> = AttemptOutcome::Returned(Err("connection refused".into()));
/// assert_eq!(refused.to_string(), "connection refused");
/// ```
#[derive(Debug)]
pub enum AttemptOutcome<Res, E> {
    /// The service's answer: an `Err`, or an `Ok` the classifier asked to
    /// retry (a 503, a trailers-only gRPC `Unavailable`).
    Returned(Result<Res, E>),
    /// The layer's per-attempt `timeout` dropped the attempt.
    TimedOut(TimedOut),
}

impl<Res, E: fmt::Display> fmt::Display for AttemptOutcome<Res, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptOutcome::Returned(Ok(_)) => f.write_str("a response the classifier retries"),
            AttemptOutcome::Returned(Err(error)) => fmt::Display::fmt(error, f),
            AttemptOutcome::TimedOut(timed_out) => fmt::Display::fmt(timed_out, f),
        }
    }
}

/// Classifies a service's whole result, where a failure may be an `Ok` (a
/// 503, a gRPC status answered without a body): whether to retry it, and
/// whether it failed.
///
/// Implemented by every `Fn(&Result<Response, Error>)` returning `bool` or
/// [`Verdict`]: for those, an `Err` is a failure, and an `Ok` is a failure
/// exactly when the classifier retries it. The classifiers of the tower and
/// reqwest modules also count the `Ok`s they do not retry (a 404, a
/// `NotFound`) as failures, as `#[retry]` counts the errors it does not
/// retry.
///
/// ```
/// use retry_runtime::tower::ClassifyResult;
/// use retry_runtime::Verdict;
///
/// let busy = |result: &Result<u16, String>| matches!(result, Ok(503));
/// assert_eq!(busy.verdict(&Ok(503)), Verdict::Retry);
/// assert!(busy.is_failure(&Ok(503), Verdict::Retry));
/// assert!(!busy.is_failure(&Ok(404), Verdict::Stop));
/// assert!(busy.is_failure(&Err("reset".into()), Verdict::Stop));
/// ```
pub trait ClassifyResult<Res, E> {
    /// Whether (and when) to retry after `result`; [`Verdict::Stop`] for a
    /// success too.
    fn verdict(&self, result: &Result<Res, E>) -> Verdict;

    /// Whether `result`, whose verdict is `verdict`, is a failure in the
    /// statistics, logs and metrics (and to a circuit breaker). By default:
    /// an `Err`, or an `Ok` that is retried.
    fn is_failure(&self, result: &Result<Res, E>, verdict: Verdict) -> bool {
        result.is_err() || verdict != Verdict::Stop
    }
}

impl<Res, E, F, V> ClassifyResult<Res, E> for F
where
    F: Fn(&Result<Res, E>) -> V,
    V: IntoVerdict,
{
    fn verdict(&self, result: &Result<Res, E>) -> Verdict {
        self(result).into_verdict()
    }
}

/// An attempt, classified: what [`Call::step`] is given.
#[derive(Debug)]
pub(crate) struct Tried<Res, E> {
    attempt: AttemptOutcome<Res, E>,
    verdict: Verdict,
    failed: bool,
}

impl<Res, E> Tried<Res, E> {
    /// Classifies what an attempt returned. When the request cannot
    /// be sent again (`replayable` is false), a failure is final.
    pub(crate) fn new(
        attempt: AttemptOutcome<Res, E>,
        classify: &impl ClassifyResult<Res, E>,
        replayable: bool,
    ) -> Self {
        let (verdict, failed) = match &attempt {
            AttemptOutcome::Returned(result) => {
                let verdict = classify.verdict(result);
                (verdict, classify.is_failure(result, verdict))
            }
            // A timed-out attempt is transient: its request never got an answer.
            AttemptOutcome::TimedOut(_) => (Verdict::Retry, true),
        };
        Tried { attempt, verdict: if replayable { verdict } else { Verdict::Stop }, failed }
    }

    /// Whether the attempt failed (see [`ClassifyResult::is_failure`]).
    #[cfg(feature = "tower")]
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    pub(crate) fn into_attempt(self) -> AttemptOutcome<Res, E> {
        self.attempt
    }
}

impl<Res, E> RetryOutcome for Tried<Res, E> {
    type Error = AttemptOutcome<Res, E>;

    fn failure(&self) -> Option<&AttemptOutcome<Res, E>> {
        self.failed.then_some(&self.attempt)
    }

    fn into_failure(self) -> Result<Self, AttemptOutcome<Res, E>> {
        if self.failed { Err(self.attempt) } else { Ok(self) }
    }

    fn circuit_open(open: CircuitOpen) -> Self
    where
        AttemptOutcome<Res, E>: From<CircuitOpen>,
    {
        Tried { attempt: AttemptOutcome::from(open), verdict: Verdict::Stop, failed: true }
    }

    fn timed_out(timed_out: TimedOut) -> Self
    where
        AttemptOutcome<Res, E>: From<TimedOut>,
    {
        Tried { attempt: AttemptOutcome::from(timed_out), verdict: Verdict::Retry, failed: true }
    }
}

/// Hands one attempt to the engine: `Ok(attempt)` to return, or `Err(delay)`
/// to sleep before the next one (the attempt is already dropped).
#[inline]
pub(crate) fn step<Res, E: fmt::Display>(
    call: &mut Call<'_>,
    site: &CallSite,
    tried: Tried<Res, E>,
    notify: &impl Notify<AttemptOutcome<Res, E>>,
) -> Result<AttemptOutcome<Res, E>, Duration> {
    let verdict = tried.verdict;
    match call.step(site, site.policy(), tried, |_| verdict, |event| notify.notify(event), fmt::Display::fmt) {
        Step::Return(tried) => Ok(tried.into_attempt()),
        Step::Sleep(delay) => Err(delay),
    }
}

/// Hands to the engine an attempt it ends the call on: a success, or a
/// failure whose verdict is [`Verdict::Stop`] (the only attempt of a request
/// that cannot be sent again, see [`Tried::new`]).
#[inline]
pub(crate) fn step_last<Res, E: fmt::Display>(
    call: &mut Call<'_>,
    site: &CallSite,
    tried: Tried<Res, E>,
    notify: &impl Notify<AttemptOutcome<Res, E>>,
) -> AttemptOutcome<Res, E> {
    debug_assert!(!tried.failed || tried.verdict == Verdict::Stop);
    match step(call, site, tried, notify) {
        Ok(attempt) => attempt,
        // The engine returns a success, and never retries a `Stop`: every
        // path that reads a verdict of `Stop` ends the call (`Call::failed`).
        Err(_) => unreachable!("the engine retried a success or an attempt whose verdict was Stop"),
    }
}
