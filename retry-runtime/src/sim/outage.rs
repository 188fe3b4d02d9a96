//! The outage scenario: many clients fail together, then the server recovers
//! with a limited admission rate.

use std::time::Duration;

use super::events::Queue;
use super::{Strategy, mix};

/// The width of one load bucket: load is counted in calls per 10 ms.
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
/// use retry_runtime::sim::{Outage, Strategy};
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

/// What one [`Outage::run`] measured.
///
/// ```
/// use std::time::Duration;
/// use retry_runtime::sim::{Outage, Strategy};
/// let outage = Outage { clients: 10, outage: Duration::from_millis(100), admitted_per_bucket: 10, round_trip: Duration::from_millis(20) };
/// let run = outage.run(&Strategy::study()[2], 3);
/// assert_eq!(run.load.iter().map(|&n| u64::from(n)).sum::<u64>(), run.calls);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutageRun {
    /// Calls made by all clients, the failed ones at time zero included.
    pub calls: u64,
    /// When the last client learnt it succeeded.
    pub completion: Duration,
    /// Calls arriving in each 10 ms bucket, from time zero (one entry per
    /// bucket up to the last call: a policy whose delays run into days makes
    /// this long).
    pub load: Vec<u32>,
    /// The most calls in any bucket that starts at or after the end of the outage.
    pub peak_after_recovery: u32,
}

impl Outage {
    /// Runs the scenario with each client retrying on its own
    /// `strategy.policy.schedule_seeded(…)`, until every client has succeeded.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::sim::{Outage, Strategy};
    /// let outage = Outage { clients: 20, outage: Duration::from_millis(200), admitted_per_bucket: 4, round_trip: Duration::from_millis(20) };
    /// let run = outage.run(&Strategy::study()[3], 9);
    /// assert!(run.completion > Duration::from_millis(200));
    /// ```
    pub fn run(&self, strategy: &Strategy, seed: u64) -> OutageRun {
        let mut schedules: Vec<_> =
            (0u64..).take(self.clients).map(|i| strategy.policy.schedule_seeded(mix(seed, i))).collect();
        let mut queue = Queue::new();
        for client in 0..self.clients {
            queue.push(Duration::ZERO, client);
        }
        let mut load: Vec<u32> = Vec::new();
        let mut admitted: Vec<u32> = Vec::new();
        let mut calls = 0u64;
        let mut completion = Duration::ZERO;
        while let Some((now, client)) = queue.pop() {
            calls += 1;
            let bucket = bucket_of(now);
            if load.len() <= bucket {
                load.resize(bucket + 1, 0);
                admitted.resize(bucket + 1, 0);
            }
            load[bucket] += 1;
            let learnt = now.saturating_add(self.round_trip);
            if now >= self.outage && admitted[bucket] < self.admitted_per_bucket {
                admitted[bucket] += 1;
                completion = completion.max(learnt);
            } else if let Some(delay) = schedules[client].next() {
                queue.push(learnt.saturating_add(delay), client);
            }
        }
        // The first bucket that starts at or after the end of the outage.
        let recovered = usize::try_from(self.outage.as_nanos().div_ceil(BUCKET.as_nanos())).unwrap_or(usize::MAX);
        let peak_after_recovery = load.iter().skip(recovered).copied().max().unwrap_or(0);
        OutageRun { calls, completion, load, peak_after_recovery }
    }
}

/// The index of the 10 ms bucket holding `at`.
fn bucket_of(at: Duration) -> usize {
    usize::try_from(at.as_nanos() / BUCKET.as_nanos()).unwrap_or(usize::MAX)
}
