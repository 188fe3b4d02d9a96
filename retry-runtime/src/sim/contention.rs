//! The study's model: clients contend on one row with optimistic concurrency.

use std::time::Duration;

use super::events::{Network, Queue};
use super::{Strategy, mix};

/// One trial of [`contention`].
///
/// ```
/// let full = retry_runtime::sim::Strategy::study()[2];
/// let run = retry_runtime::sim::contention(&full, 10, 7);
/// assert!(run.calls >= 10); // every client writes at least once
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Writes sent, by all clients together (the study's "work").
    pub calls: u64,
    /// Virtual time of the last event: when the last client learnt it succeeded.
    pub completion: Duration,
}

/// The average of [`contention`] over several trials.
///
/// ```
/// let full = retry_runtime::sim::Strategy::study()[2];
/// let mean = retry_runtime::sim::contention_mean(&full, 10, 3, 7);
/// assert!(mean.calls >= 10.0 && mean.completion_ms > 0.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mean {
    /// Mean writes per trial.
    pub calls: f64,
    /// Mean completion time per trial, in milliseconds.
    pub completion_ms: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// The client sends its read.
    Start,
    /// The read reaches the server, which answers with the current version.
    ReadAtServer,
    /// The client has the version and sends its write.
    ReadReply { version: u64 },
    /// The write reaches the server: it succeeds only if `version` is current.
    WriteAtServer { version: u64 },
    /// The client learns the outcome of its write.
    WriteReply { ok: bool },
}

/// Runs one trial: `clients` clients all start at time zero, each retrying
/// with its own `strategy.policy.schedule_seeded(…)` until its first
/// successful write.
///
/// ```
/// use retry_runtime::sim::{Strategy, contention};
/// let exponential = Strategy::study()[1];
/// // Same seed, same run.
/// assert_eq!(contention(&exponential, 10, 3), contention(&exponential, 10, 3));
/// ```
pub fn contention(strategy: &Strategy, clients: usize, seed: u64) -> Run {
    let mut network = Network::study(mix(seed, u64::MAX));
    let mut schedules: Vec<_> = (0u64..).take(clients).map(|i| strategy.policy.schedule_seeded(mix(seed, i))).collect();
    let mut queue = Queue::new();
    for client in 0..clients {
        queue.push(Duration::ZERO, (client, Step::Start));
    }
    let mut version = 0u64;
    let mut calls = 0u64;
    let mut completion = Duration::ZERO;
    while let Some((now, (client, step))) = queue.pop() {
        completion = now;
        match step {
            Step::Start => queue.push(now.saturating_add(network.delay()), (client, Step::ReadAtServer)),
            Step::ReadAtServer => {
                queue.push(now.saturating_add(network.delay()), (client, Step::ReadReply { version }));
            }
            Step::ReadReply { version: read } => {
                calls += 1;
                queue.push(now.saturating_add(network.delay()), (client, Step::WriteAtServer { version: read }));
            }
            Step::WriteAtServer { version: written } => {
                let ok = written == version;
                if ok {
                    version += 1;
                }
                queue.push(now.saturating_add(network.delay()), (client, Step::WriteReply { ok }));
            }
            Step::WriteReply { ok: true } => {}
            Step::WriteReply { ok: false } => {
                // A schedule of `u32::MAX` attempts does not run out in a simulation;
                // if it did, the client would give up like `#[retry]` does.
                if let Some(delay) = schedules[client].next() {
                    queue.push(now.saturating_add(delay), (client, Step::Start));
                }
            }
        }
    }
    Run { calls, completion }
}

/// [`contention`] averaged over `trials` trials (seeds derived from `seed`).
///
/// ```
/// use retry_runtime::sim::{Strategy, contention_mean};
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
