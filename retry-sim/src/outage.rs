//! The outage scenario: many clients fail together, then the server recovers
//! with a limited admission rate.

use std::time::Duration;

use super::events::{Nanos, Queue, nanos};
use super::{Strategy, client_ids, mix};
use retry_runtime::RetryBudget;

/// The width of one load bucket: load is counted in attempts per 10 ms.
pub const BUCKET: Duration = Duration::from_millis(10);

/// An outage: `clients` clients each make a call at time zero and fail; the
/// server rejects every call until `outage`, then admits at most
/// `admitted_per_bucket` calls per 10 ms [`BUCKET`] and rejects the rest.
///
/// Every call takes a fixed `round_trip` before its client learns the
/// outcome, so clients that do not jitter stay in lock-step (the point of the
/// scenario) and the only spreading comes from the strategy.
///
/// ```
/// use std::time::Duration;
/// use retry_sim::{Outage, Strategy};
///
/// let outage = Outage { clients: 100, outage: Duration::from_millis(500), admitted_per_bucket: 5, round_trip: Duration::from_millis(20) };
/// let [_, exponential, full, ..] = Strategy::study();
/// assert_eq!(outage.run(&exponential, 1).peak_after_recovery, 100);
/// assert!(outage.run(&full, 1).peak_after_recovery <= 10);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Outage {
    /// How many clients fail at time zero (`M`).
    pub clients: usize,
    /// How long the server rejects everything (`T`).
    pub outage: Duration,
    /// Calls admitted per 10 ms once the outage is over.
    pub admitted_per_bucket: u32,
    /// Time from sending a call to learning its outcome. Keep it positive:
    /// with a zero round trip, a zero-delay strategy ("no backoff") retries
    /// forever at the same instant and the outage never ends.
    pub round_trip: Duration,
}

/// What one [`Outage::run`] (or [`Outage::run_with_budget`]) measured.
///
/// ```
/// use std::time::Duration;
/// use retry_sim::{Outage, Strategy};
/// let outage = Outage { clients: 10, outage: Duration::from_millis(100), admitted_per_bucket: 10, round_trip: Duration::from_millis(20) };
/// let run = outage.run(&Strategy::study()[2], 3);
/// assert_eq!(run.load.iter().map(|&n| u64::from(n)).sum::<u64>(), run.attempts);
/// assert_eq!((run.clients, run.gave_up), (10, 0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutageRun {
    /// The clients, each making one call: [`Outage::clients`].
    pub clients: u64,
    /// Attempts made by all clients, the failed first attempts at time zero
    /// included: every call the server saw.
    pub attempts: u64,
    /// Clients that stopped without succeeding: the retry budget refused
    /// their next retry, or their policy's attempts ran out.
    pub gave_up: u64,
    /// When the last client finished: learnt it succeeded, or gave up.
    pub completion: Duration,
    /// Attempts arriving in each 10 ms bucket, from time zero (one entry per
    /// bucket up to the last attempt: a policy whose delays run into days
    /// makes this long).
    pub load: Vec<u32>,
    /// The most attempts in any bucket that starts at or after the end of the outage.
    pub peak_after_recovery: u32,
}

impl OutageRun {
    /// Attempts per client (1.0: nobody retried): how much the retries
    /// multiplied the load.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_sim::{Outage, Strategy};
    /// let outage = Outage { clients: 10, outage: Duration::ZERO, admitted_per_bucket: 10, round_trip: Duration::from_millis(20) };
    /// assert_eq!(outage.run(&Strategy::study()[2], 3).amplification(), 1.0);
    /// ```
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    pub fn amplification(&self) -> f64 {
        self.attempts as f64 / self.clients.max(1) as f64
    }
}

impl Outage {
    /// Runs the scenario with each client retrying on its own
    /// `strategy.policy.schedule_seeded(…)`, until every client has succeeded
    /// (or its policy's attempts ran out).
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_sim::{Outage, Strategy};
    /// let outage = Outage { clients: 20, outage: Duration::from_millis(200), admitted_per_bucket: 4, round_trip: Duration::from_millis(20) };
    /// let run = outage.run(&Strategy::study()[3], 9);
    /// assert!(run.completion > Duration::from_millis(200));
    /// ```
    pub fn run(&self, strategy: &Strategy, seed: u64) -> OutageRun {
        self.simulate(strategy, seed, None)
    }

    /// Runs the scenario with every retry paid from `budget`, one
    /// [`RetryBudget`] shared by all the clients, as the `#[retry]` loop uses
    /// it: each client's call deposits once, when its first attempt's outcome
    /// arrives, and each retry must be granted before it is scheduled; a
    /// client whose retry is refused gives up (see [`OutageRun::gave_up`]).
    ///
    /// The budget reads the run's virtual time (its per-second floor counts
    /// virtual seconds from time zero), so the run stays deterministic. Pass
    /// a fresh budget to each run: the budget keeps its balance, floor and
    /// refusals, which the caller can read afterwards.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::RetryBudget;
    /// use retry_sim::{Outage, Strategy};
    ///
    /// let outage = Outage { clients: 1000, outage: Duration::from_secs(10), admitted_per_bucket: 10, round_trip: Duration::from_millis(20) };
    /// let full = Strategy::study()[2];
    /// let unbudgeted = outage.run(&full, 1);
    /// let budget = RetryBudget::new();
    /// let budgeted = outage.run_with_budget(&full, 1, &budget);
    /// assert!(budgeted.attempts * 5 < unbudgeted.attempts);
    /// assert_eq!(budgeted.gave_up, budget.refusals());
    /// ```
    pub fn run_with_budget(&self, strategy: &Strategy, seed: u64, budget: &RetryBudget) -> OutageRun {
        self.simulate(strategy, seed, Some(budget))
    }

    fn simulate(&self, strategy: &Strategy, seed: u64, budget: Option<&RetryBudget>) -> OutageRun {
        let clients = client_ids(self.clients);
        let mut schedules: Vec<_> =
            clients.clone().map(|i| strategy.policy.schedule_seeded(mix(seed, u64::from(i)))).collect();
        let (outage, round_trip) = (nanos(self.outage), nanos(self.round_trip));
        // Each client has one attempt in flight at any time: its first, at
        // zero, then each retry. The flag says which is the first.
        let mut queue = Queue::with_capacity(schedules.len());
        for client in clients {
            queue.push(0, (client, true));
        }
        let mut load: Vec<u32> = Vec::new();
        let mut admitted: Vec<u32> = Vec::new();
        let (mut attempts, mut gave_up) = (0u64, 0u64);
        let mut completion: Nanos = 0;
        queue.serve(|now, (client, first)| {
            attempts += 1;
            let bucket = bucket_of(now);
            if load.len() <= bucket {
                load.resize(bucket + 1, 0);
                admitted.resize(bucket + 1, 0);
            }
            load[bucket] += 1;
            let learnt = now.saturating_add(round_trip);
            if first && let Some(budget) = budget {
                budget.record_call();
            }
            if now >= outage && admitted[bucket] < self.admitted_per_bucket {
                admitted[bucket] += 1;
                completion = completion.max(learnt);
                return None;
            }
            // As in the retry loop: the delay first, the budget paid last.
            let retry = schedules[client as usize]
                .next()
                .filter(|_| budget.is_none_or(|budget| budget.try_retry_at(Duration::from_nanos(learnt))));
            if retry.is_none() {
                gave_up += 1;
                completion = completion.max(learnt);
            }
            retry.map(|delay| (learnt.saturating_add(nanos(delay)), (client, false)))
        });
        // The first bucket that starts at or after the end of the outage.
        let recovered = usize::try_from(outage.div_ceil(nanos(BUCKET))).unwrap_or(usize::MAX);
        let peak_after_recovery = load.iter().skip(recovered).copied().max().unwrap_or(0);
        OutageRun {
            clients: u64::try_from(schedules.len()).unwrap_or(u64::MAX),
            attempts,
            gave_up,
            completion: Duration::from_nanos(completion),
            load,
            peak_after_recovery,
        }
    }
}

/// The index of the 10 ms bucket holding `at`.
fn bucket_of(at: Nanos) -> usize {
    usize::try_from(at / nanos(BUCKET)).unwrap_or(usize::MAX)
}
