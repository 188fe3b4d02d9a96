//! The same policy as a `reqwest-middleware` middleware: [`RetryMiddleware`]
//! retries every request of a `ClientWithMiddleware` on the engine
//! `#[retry]` runs on.
//!
//! By default it retries what the `reqwest` classifier calls transient
//! ([`RetryTransient`]): connection failures and timeouts, and responses
//! with a status of 408, 429, 500, 502, 503 or 504, after their
//! `Retry-After` when they have one (capped by the policy's `cap`). When the
//! retries run out on such a response, the caller gets that last response.
//! Other 4xx and 5xx responses are returned at once, counted as failures.
//! Statistics, a shared [`RetryBudget`], a [`CircuitBreaker`] and an
//! `on_retry` hook are set as on [`RetryLayer`](crate::tower::RetryLayer)
//! (feature `tower`). A request whose body is a stream (`try_clone` gives
//! `None`) is sent once and not retried.
//!
//! ```no_run
//! use std::time::Duration;
//! use retry_runtime::reqwest_middleware::RetryMiddleware;
//! use retry_runtime::{RetryPolicy, Stats};
//!
//! static API: Stats = Stats::new();
//!
//! # async fn run() -> Result<(), reqwest_middleware::Error> {
//! let policy = RetryPolicy::new().max_attempts(4).base(Duration::from_millis(200)).cap(Duration::from_secs(10));
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(RetryMiddleware::new(policy).named("api").stats(&API))
//!     .build();
//! let response = client.get("http://127.0.0.1:8080/orders").send().await?;
//! println!("{} after {} attempts in all", response.status(), API.snapshot().attempts);
//! # Ok(())
//! # }
//! # let _ = run;
//! ```
//!
//! Compared with `reqwest-retry`, this adds typed classifiers, statistics
//! per client, a retry budget shared with `#[retry]` functions and tower
//! layers, a circuit breaker, and the policy's `deadline`.

use std::fmt;

use ::reqwest_middleware::{Error, Middleware, Next};
use http::Extensions;
use reqwest::{Request, Response};

use crate::breaker::CircuitBreaker;
use crate::budget::RetryBudget;
use crate::classify::is_transient;
use crate::closure::{Notify, Silent};
use crate::engine::{Call, CallSite};
use crate::middleware::{self, Tried};
pub use crate::middleware::{AttemptOutcome, ClassifyResult};
use crate::policy_source::ToPolicy;
use crate::sleep::Tokio;
use crate::stats::Stats;
use crate::verdict::Verdict;

/// The default classifier of [`RetryMiddleware`]: what the `reqwest`
/// classifier calls transient, response or error, with `Retry-After`; a
/// middleware's own error is not retried.
///
/// ```
/// use retry_runtime::reqwest_middleware::{ClassifyResult, RetryTransient};
/// use retry_runtime::Verdict;
///
/// let refused = reqwest_middleware::Error::middleware(std::io::Error::other("no"));
/// assert_eq!(RetryTransient.verdict(&Err(refused)), Verdict::Stop);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct RetryTransient;

impl ClassifyResult<Response, Error> for RetryTransient {
    fn verdict(&self, result: &Result<Response, Error>) -> Verdict {
        match result {
            Ok(response) => is_transient(response),
            Err(Error::Reqwest(error)) => is_transient(error),
            Err(Error::Middleware(_)) => Verdict::Stop,
        }
    }

    /// An `Err`, or a response with a 4xx or 5xx status.
    fn is_failure(&self, result: &Result<Response, Error>, _: Verdict) -> bool {
        result
            .as_ref()
            .ok()
            .is_none_or(|response| response.status().is_client_error() || response.status().is_server_error())
    }
}

/// Retries the requests of a `reqwest_middleware::ClientWithMiddleware`
/// under a [`RetryPolicy`](crate::RetryPolicy); see the [module docs](self).
#[must_use = "a middleware does nothing until a client is built with it"]
pub struct RetryMiddleware<C = RetryTransient, N = Silent> {
    /// Made from the settings below each time one changes, so that the
    /// order of the setters does not matter.
    site: CallSite,
    name: &'static str,
    stats: Option<&'static Stats>,
    budget: Option<&'static RetryBudget>,
    breaker: Option<&'static CircuitBreaker>,
    classify: C,
    notify: N,
}

impl<C, N> fmt::Debug for RetryMiddleware<C, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryMiddleware").field("site", &self.site).finish_non_exhaustive()
    }
}

impl RetryMiddleware {
    /// A middleware retrying under `policy` (a `RetryPolicy` or a
    /// reference, `Box`, `Rc`, `Arc` of one) what [`RetryTransient`] calls
    /// transient, named `"reqwest"`, recording no statistics.
    ///
    /// See the [module docs](self) for an example.
    pub fn new(policy: impl ToPolicy) -> Self {
        let policy = policy.to_policy();
        RetryMiddleware {
            site: CallSite::new("reqwest", policy),
            name: "reqwest",
            stats: None,
            budget: None,
            breaker: None,
            classify: RetryTransient,
            notify: Silent,
        }
    }
}

impl<C, N> RetryMiddleware<C, N> {
    /// The call site every request is retried at, from the settings.
    fn rebuilt(mut self) -> Self {
        let mut site = CallSite::new(self.name, *self.site.policy());
        if let Some(stats) = self.stats {
            site = site.with_stats(stats, None);
        }
        if let Some(budget) = self.budget {
            site = site.with_budget(budget);
        }
        if let Some(breaker) = self.breaker {
            site = site.with_breaker(breaker, self.name);
        }
        self.site = site;
        self
    }

    /// Names the requests in statistics, logs, metrics and
    /// [`RetryEvent::function`](crate::RetryEvent::function).
    ///
    /// See the [module docs](self) for an example.
    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self.rebuilt()
    }

    /// Counts the requests into `stats`, listed under the middleware's name.
    ///
    /// See the [module docs](self) for an example.
    pub fn stats(mut self, stats: &'static Stats) -> Self {
        self.stats = Some(stats);
        self.rebuilt()
    }

    /// Pays for each retry from `budget`, which `#[retry(budget = …)]`
    /// functions and tower layers may share.
    ///
    /// ```
    /// # use retry_runtime::{reqwest_middleware::RetryMiddleware, RetryBudget, RetryPolicy};
    /// static BUDGET: RetryBudget = RetryBudget::new();
    /// let middleware = RetryMiddleware::new(RetryPolicy::new()).budget(&BUDGET);
    /// # let _ = middleware;
    /// ```
    pub fn budget(mut self, budget: &'static RetryBudget) -> Self {
        self.budget = Some(budget);
        self.rebuilt()
    }

    /// Asks `breaker` before each attempt and tells it each outcome; a
    /// refused request fails at once with `Error::Middleware` holding
    /// [`CircuitOpen`](crate::CircuitOpen).
    ///
    /// ```
    /// # use retry_runtime::{reqwest_middleware::RetryMiddleware, CircuitBreaker, RetryPolicy};
    /// static BREAKER: CircuitBreaker = CircuitBreaker::new();
    /// let middleware = RetryMiddleware::new(RetryPolicy::new()).breaker(&BREAKER);
    /// # let _ = middleware;
    /// ```
    pub fn breaker(mut self, breaker: &'static CircuitBreaker) -> Self {
        self.breaker = Some(breaker);
        self.rebuilt()
    }

    /// Retries the results `classify` calls transient: a [`ClassifyResult`],
    /// such as any `Fn(&Result<reqwest::Response, reqwest_middleware::Error>)`
    /// returning `bool` or [`Verdict`].
    ///
    /// ```
    /// # use retry_runtime::{reqwest_middleware::RetryMiddleware, RetryPolicy};
    /// // Only 503s.
    /// let middleware = RetryMiddleware::new(RetryPolicy::new()).when(
    ///     |result: &Result<reqwest::Response, reqwest_middleware::Error>| {
    ///         result.as_ref().is_ok_and(|response| response.status() == 503)
    ///     },
    /// );
    /// # let _ = middleware;
    /// ```
    pub fn when<C2>(self, classify: C2) -> RetryMiddleware<C2, N> {
        let RetryMiddleware { site, name, stats, budget, breaker, classify: _, notify } = self;
        RetryMiddleware { site, name, stats, budget, breaker, classify, notify }
    }

    /// Calls `hook` before each sleep, with the failed [`AttemptOutcome`].
    ///
    /// ```
    /// # use retry_runtime::{reqwest_middleware::{AttemptOutcome, RetryMiddleware}, RetryEvent, RetryPolicy};
    /// type Failed = AttemptOutcome<reqwest::Response, reqwest_middleware::Error>;
    /// let middleware = RetryMiddleware::new(RetryPolicy::new())
    ///     .on_retry(|event: &RetryEvent<'_, Failed>| eprintln!("retrying: {}", event.error()));
    /// # let _ = middleware;
    /// ```
    pub fn on_retry<N2>(self, hook: N2) -> RetryMiddleware<C, N2> {
        let RetryMiddleware { site, name, stats, budget, breaker, classify, notify: _ } = self;
        RetryMiddleware { site, name, stats, budget, breaker, classify, notify: hook }
    }
}

#[async_trait::async_trait]
impl<C, N> Middleware for RetryMiddleware<C, N>
where
    C: ClassifyResult<Response, Error> + Send + Sync + 'static,
    N: Notify<AttemptOutcome<Response, Error>> + Send + Sync + 'static,
{
    async fn handle(&self, request: Request, extensions: &mut Extensions, next: Next<'_>) -> Result<Response, Error> {
        let site = &self.site;
        let mut call = Call::asynchronous(site, site.policy(), &Tokio);
        if let Err(open) = call.admit(site, std::convert::identity) {
            return Err(Error::middleware(open));
        }
        if request.try_clone().is_none() {
            // A streaming body: sent once; a failure is final, but counted.
            let attempt = AttemptOutcome::Returned(next.run(request, extensions).await);
            let tried = Tried::new(attempt, &self.classify, false);
            return into_result(middleware::step_last(&mut call, site, tried, &self.notify));
        }
        loop {
            // `try_clone` gave a copy above, and gives one for each attempt:
            // the body is in memory.
            let Some(copy) = request.try_clone() else { return Err(Error::middleware(NotReplayable)) };
            let attempt = AttemptOutcome::Returned(next.clone().run(copy, extensions).await);
            let tried = Tried::new(attempt, &self.classify, true);
            let delay = match middleware::step(&mut call, site, tried, &self.notify) {
                Ok(attempt) => return into_result(attempt),
                Err(delay) => delay,
            };
            if !delay.is_zero() {
                call.sleep_on(&Tokio, delay).await;
            }
        }
    }
}

/// A request whose body could be copied once could not be copied again.
#[derive(Debug, thiserror::Error)]
#[error("the request body could not be copied for another attempt")]
struct NotReplayable;

fn into_result(attempt: AttemptOutcome<Response, Error>) -> Result<Response, Error> {
    match attempt {
        AttemptOutcome::Returned(result) => result,
        AttemptOutcome::TimedOut(timed_out) => Err(Error::middleware(timed_out)),
    }
}
