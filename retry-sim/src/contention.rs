//! The study's model: clients contend on one row with optimistic concurrency.

use std::time::Duration;

use super::events::{Nanos, Network, Queue, nanos};
use super::{Strategy, client_ids, mix};

/// One trial of [`contention`].
///
/// ```
/// let full = retry_sim::Strategy::study()[2];
/// let run = retry_sim::contention(&full, 10, 7);
/// assert!(run.calls >= 10); // every client writes at least once
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Writes sent, by all clients together (the study's "work").
    pub calls: u64,
    /// Virtual time when the last client learnt it succeeded.
    pub completion: Duration,
}

/// The average of [`contention`] over several trials.
///
/// ```
/// let full = retry_sim::Strategy::study()[2];
/// let mean = retry_sim::contention_mean(&full, 10, 3, 7);
/// assert!(mean.calls >= 10.0 && mean.completion_ms > 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mean {
    /// Mean writes per trial.
    pub calls: f64,
    /// Mean completion time per trial, in milliseconds.
    pub completion_ms: f64,
}

/// What reaches the server. The client's side needs no events of its own: it
/// sends its write the moment the read's answer arrives, and decides to retry
/// the moment its write's answer arrives, so the times of those answers are
/// simply added on.
#[derive(Clone, Copy, Debug)]
enum Arrival {
    /// A read: the server answers with the current version.
    Read,
    /// A write made with the version the client read: it succeeds only if
    /// that version is still current.
    Write { version: u32 },
}

/// Runs one trial: `clients` clients all start at time zero, each retrying
/// with its own `strategy.policy.schedule_seeded(…)` until its first
/// successful write.
///
/// Every message (read, its answer, write, its answer) takes its own network
/// delay; the server's version is read and written when a message arrives
/// there, which is the only order that matters.
///
/// ```
/// use retry_sim::{Strategy, contention};
/// let exponential = Strategy::study()[1];
/// // Same seed, same run.
/// assert_eq!(contention(&exponential, 10, 3), contention(&exponential, 10, 3));
/// ```
pub fn contention(strategy: &Strategy, clients: usize, seed: u64) -> Run {
    let mut network = Network::study(mix(seed, u64::MAX));
    let clients = client_ids(clients);
    let mut schedules: Vec<_> =
        clients.clone().map(|i| strategy.policy.schedule_seeded(mix(seed, u64::from(i)))).collect();
    // Each client has one message on its way to the server at any time.
    let mut queue = Queue::with_capacity(schedules.len());
    for client in clients {
        queue.push(network.delay(), (client, Arrival::Read));
    }
    // At most one write per client succeeds, so the version fits a client id.
    let mut version = 0u32;
    let mut calls = 0u64;
    let mut completion: Nanos = 0;
    queue.serve(|now, (client, arrival)| match arrival {
        Arrival::Read => {
            // The answer travels back, and the write goes out as soon as it lands.
            calls += 1;
            let write_arrives = now.saturating_add(network.delay()).saturating_add(network.delay());
            Some((write_arrives, (client, Arrival::Write { version })))
        }
        Arrival::Write { version: read } => {
            let ok = read == version;
            if ok {
                version += 1;
            }
            let learnt = now.saturating_add(network.delay());
            // A schedule of `u32::MAX` attempts does not run out in a simulation;
            // if it did, the client would give up like `#[retry]` does.
            let retry = if ok { None } else { schedules[client as usize].next() };
            if retry.is_none() {
                completion = completion.max(learnt);
            }
            retry.map(|delay| {
                let read_arrives = learnt.saturating_add(nanos(delay)).saturating_add(network.delay());
                (read_arrives, (client, Arrival::Read))
            })
        }
    });
    Run { calls, completion: Duration::from_nanos(completion) }
}

/// [`contention`] averaged over `trials` trials (seeds derived from `seed`).
///
/// ```
/// use retry_sim::{Strategy, contention_mean};
/// let [none, ..] = Strategy::study();
/// let mean = contention_mean(&none, 5, 4, 1);
/// assert!(mean.calls >= 5.0);
/// ```
#[allow(clippy::cast_precision_loss, reason = "counts and nanoseconds far below 2^52")]
pub fn contention_mean(strategy: &Strategy, clients: usize, trials: u32, seed: u64) -> Mean {
    let (mut calls, mut nanos) = (0u64, 0u128);
    for trial in 0..trials {
        let run = contention(strategy, clients, mix(seed, u64::from(trial)));
        calls += run.calls;
        nanos += run.completion.as_nanos();
    }
    let trials = f64::from(trials.max(1));
    Mean { calls: calls as f64 / trials, completion_ms: nanos as f64 / 1e6 / trials }
}
