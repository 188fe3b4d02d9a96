//! Virtual time: a queue of events ordered by time, then by insertion.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Events due at a virtual time; ties are served in insertion order, so a run
/// depends only on its seed.
pub(super) struct Queue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    inserted: u64,
}

/// A queued event, ordered by its key alone: the due time in nanoseconds in
/// the high 64 bits, the insertion number in the low 64 (one integer
/// comparison, where a tuple would compare field by field).
struct Entry<E> {
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl<E> Queue<E> {
    pub(super) fn new() -> Self {
        Queue { heap: BinaryHeap::new(), inserted: 0 }
    }

    pub(super) fn push(&mut self, at: Duration, event: E) {
        // Virtual times beyond 584 years saturate; no scenario comes close.
        let nanos = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX);
        let key = (u128::from(nanos) << 64) | u128::from(self.inserted);
        self.heap.push(Reverse(Entry { key, event }));
        self.inserted += 1;
    }

    pub(super) fn pop(&mut self) -> Option<(Duration, E)> {
        self.heap.pop().map(|Reverse(Entry { key, event })| {
            // The high half of the key is the time in nanoseconds: the cast keeps exactly it.
            #[allow(clippy::cast_possible_truncation, reason = "the shift leaves 64 bits")]
            let nanos = (key >> 64) as u64;
            (Duration::from_nanos(nanos), event)
        })
    }
}

/// The network: every message independently takes |Normal(mean, sd)|.
pub(super) struct Network {
    random: SmallRng,
    mean: f64,
    sd: f64,
}

impl Network {
    /// The study's network: |Normal(10 ms, 2 ms)| per message.
    pub(super) fn study(seed: u64) -> Self {
        Network { random: SmallRng::seed_from_u64(seed), mean: 0.010, sd: 0.002 }
    }

    /// One message's delay (Box–Muller).
    pub(super) fn delay(&mut self) -> Duration {
        // `1 − u` is in (0, 1], so the logarithm is finite.
        let u1: f64 = 1.0 - self.random.random::<f64>();
        let u2: f64 = self.random.random();
        let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        Duration::from_secs_f64((self.mean + self.sd * normal).abs())
    }
}
