//! A deterministic thundering-herd simulator that drives the real delay schedule.
//!
//! Three scenarios, all in virtual time (an event queue, no sleeping) with
//! seeded randomness, so a run is reproducible to the nanosecond:
//!
//! - [`contention`]: the optimistic-concurrency model of the AWS Architecture
//!   Blog study "Exponential Backoff and Jitter" (Marc Brooker, 2015). `N`
//!   clients each read a row's version, then write with the version they
//!   read; a write succeeds only if the version is still current. Work =
//!   writes; completion = when the last client learnt its write succeeded.
//! - [`Outage`]: `M` clients fail together, the server rejects everything for
//!   a while, then admits a fixed number of calls per 10 ms. It reports the
//!   attempts, their amplification, the load per 10 ms bucket, and the peak
//!   after recovery. [`Outage::run_with_budget`] runs it with every retry
//!   paid from one shared [`RetryBudget`](retry_runtime::RetryBudget), as the
//!   `#[retry]` loop pays it, so a refused client gives up.
//! - [`TailLatency`]: the setting of "The Tail at Scale" (Dean and Barroso,
//!   2013). A server answers most requests fast and a few very slowly; each
//!   call either waits, or hedges ([`Hedge`]): after a delay without an
//!   answer it sends another copy, the first answer wins and the rest are
//!   cancelled. It reports the completion-time percentiles, the load (copies
//!   per call) and the server time, optionally with the extra copies paid
//!   from a shared [`RetryBudget`](retry_runtime::RetryBudget).
//!
//! In the retry scenarios each simulated client owns one
//! [`RetryPolicy::schedule_seeded`] iterator: the same code that computes the
//! sleeps of a `#[retry]` function, not a copy of the formulas; likewise the
//! budget, in all three, is the real one, asked with the virtual time.
//!
//! A run allocates only its per-client state and queue up front, and handles
//! each event with one pass down a binary heap; network delays and service
//! times come from a ziggurat sampler. The 6 000 trials of the example's
//! contention grid take well under a second in release, the six 100 000-call
//! tail-latency runs about 0.15 s.
//!
//! # Mapping to the study
//!
//! The study's exponential is `min(cap, base·2^attempt)` with attempt counted
//! from 1 and `base` = 5 ms, so its first sleep is 10 ms; ours is
//! `min(cap, base·multiplier^(retry−1))`, so the same curve is `base` = 10 ms,
//! `multiplier` = 2, `cap` = 2000 ms. Its decorrelated jitter is
//! `min(cap, uniform[base, prev·3])` with `base` = 5 ms, which is exactly
//! [`Jitter::Decorrelated`] with `base` = 5 ms. "No backoff" is a policy whose
//! every delay is zero.
//!
//! | strategy | policy |
//! |---|---|
//! | no backoff | `base` 0, `cap` 0, no jitter |
//! | exponential | `base` 10 ms, ×2, `cap` 2 s, [`Jitter::None`] |
//! | full | same curve, [`Jitter::Full`] |
//! | equal | same curve, [`Jitter::Equal`] |
//! | decorrelated | `base` 5 ms, `cap` 2 s, [`Jitter::Decorrelated`] |
//! | proportional | same curve, [`Jitter::Proportional(0.5)`](Jitter::Proportional) |
//!
//! ```
//! use std::time::Duration;
//! use retry_runtime::RetryBudget;
//! use retry_sim::{Hedge, Outage, Strategy, TailLatency, contention_mean};
//!
//! let [_, exponential, full, ..] = Strategy::study();
//! let slow = contention_mean(&exponential, 20, 5, 1);
//! let fast = contention_mean(&full, 20, 5, 1);
//! assert!(fast.calls < slow.calls);
//!
//! let outage = Outage { clients: 500, outage: Duration::from_secs(5), admitted_per_bucket: 10, round_trip: Duration::from_millis(20) };
//! let budgeted = outage.run_with_budget(&full, 1, &RetryBudget::new());
//! assert!(budgeted.amplification() < 1.5 && outage.run(&full, 1).amplification() > 5.0);
//!
//! let server = TailLatency { calls: 10_000, ..TailLatency::PAPER };
//! let plain = server.run(Hedge::NONE, 1);
//! let hedged = server.run(Hedge::after(plain.percentile(95.0)), 1);
//! assert!(hedged.percentile(99.0) * 10 < plain.percentile(99.0) && hedged.load() < 1.06);
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod contention;
mod events;
mod latency;
mod outage;

use std::time::Duration;

use retry_runtime::{Backoff, Jitter, RetryPolicy};

pub use contention::{Mean, Run, contention, contention_mean};
pub use latency::{Hedge, LatencyRun, LatencyTable, TailLatency};
pub use outage::{BUCKET, Outage, OutageRun};

/// A named retry policy, as one row of the study.
///
/// ```
/// let full = retry_sim::Strategy::study()[2];
/// assert_eq!(full.name, "full");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Strategy {
    /// The study's name for it: `"no backoff"`, `"exponential"`, `"full"`, ….
    pub name: &'static str,
    /// The policy each simulated client draws its delays from.
    pub policy: RetryPolicy,
}

impl Strategy {
    /// The six strategies compared: no backoff, exponential without jitter,
    /// full, equal, decorrelated and proportional (factor 0.5) jitter.
    ///
    /// ```
    /// let names = retry_sim::Strategy::study().map(|s| s.name);
    /// assert_eq!(names, ["no backoff", "exponential", "full", "equal", "decorrelated", "proportional"]);
    /// ```
    pub fn study() -> [Strategy; 6] {
        let ms = Duration::from_millis;
        let curve = RetryPolicy::new()
            .max_attempts(u32::MAX)
            .base(ms(10))
            .multiplier(2.0)
            .cap(ms(2000))
            .backoff(Backoff::Exponential);
        let named = |name, policy| Strategy { name, policy };
        [
            named("no backoff", curve.base(Duration::ZERO).cap(Duration::ZERO).jitter(Jitter::None)),
            named("exponential", curve.jitter(Jitter::None)),
            named("full", curve.jitter(Jitter::Full)),
            named("equal", curve.jitter(Jitter::Equal)),
            named("decorrelated", curve.base(ms(5)).jitter(Jitter::Decorrelated)),
            named("proportional", curve.jitter(Jitter::Proportional(0.5))),
        ]
    }
}

/// The ids of `clients` simulated clients: `u32`s, which keep the queued
/// events small. Beyond four billion clients (which no memory would hold)
/// the rest are left out.
fn client_ids(clients: usize) -> std::ops::Range<u32> {
    0..u32::try_from(clients).unwrap_or(u32::MAX)
}

/// A seed for client `index` of the trial seeded with `seed` (`SplitMix64`).
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0x6A09_E667_F3BC_C909);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
