//! Virtual time: a queue of events ordered by time, then by insertion, and a
//! network whose delays are drawn from a seeded generator.
//!
//! Times are whole nanoseconds in a `u64` (584 years), not `Duration`s: the
//! simulator adds and compares millions of them, and plain integers keep that
//! to one instruction each.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Nanoseconds of virtual time since the start of a run.
pub(super) type Nanos = u64;

/// `duration` in whole nanoseconds; durations beyond 584 years saturate, and
/// no scenario comes close.
pub(super) fn nanos(duration: Duration) -> Nanos {
    Nanos::try_from(duration.as_nanos()).unwrap_or(Nanos::MAX)
}

/// Events due at a virtual time; ties are served in insertion order, so a run
/// depends only on its seed.
pub(super) struct Queue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    inserted: u64,
}

/// A queued event, ordered by its key alone: the due time in the high 64
/// bits, the insertion number in the low 64 (one integer comparison, where a
/// tuple would compare field by field).
#[derive(Clone, Copy)]
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

impl<E: Copy> Queue<E> {
    /// An empty queue with room for `pending` events: each scenario knows how
    /// many can be pending at once (one per client), so it never grows.
    pub(super) fn with_capacity(pending: usize) -> Self {
        Queue { heap: BinaryHeap::with_capacity(pending), inserted: 0 }
    }

    pub(super) fn push(&mut self, at: Nanos, event: E) {
        let entry = self.entry(at, event);
        self.heap.push(Reverse(entry));
    }

    /// Serves the events in order until none is left: `handle` gets each
    /// one's time and event, and returns the event it schedules in its place,
    /// if any.
    ///
    /// In every scenario an event schedules at most one other (a client's
    /// next step), so the new one overwrites the served one at the top of the
    /// heap and sinks to its place: one pass down the heap, where a pop and a
    /// push would take two. The order is the same: it depends only on the keys.
    pub(super) fn serve(&mut self, mut handle: impl FnMut(Nanos, E) -> Option<(Nanos, E)>) {
        while let Some(top) = self.heap.peek() {
            let Reverse(Entry { key, event }) = *top;
            // The high half of the key is the time: the cast keeps exactly it.
            #[allow(clippy::cast_possible_truncation, reason = "the shift leaves 64 bits")]
            let at = (key >> 64) as Nanos;
            match handle(at, event) {
                Some((next_at, next)) => {
                    let entry = self.entry(next_at, next);
                    if let Some(mut top) = self.heap.peek_mut() {
                        *top = Reverse(entry);
                    }
                }
                None => {
                    self.heap.pop();
                }
            }
        }
    }

    fn entry(&mut self, at: Nanos, event: E) -> Entry<E> {
        let key = (u128::from(at) << 64) | u128::from(self.inserted);
        self.inserted += 1;
        Entry { key, event }
    }
}

/// The network: every message independently takes |Normal(mean, sd)|.
pub(super) struct Network {
    random: SmallRng,
    mean: f64,
    sd: f64,
    ziggurat: &'static Ziggurat,
}

impl Network {
    /// The study's network: |Normal(10 ms, 2 ms)| per message.
    pub(super) fn study(seed: u64) -> Self {
        Network { random: SmallRng::seed_from_u64(seed), mean: 10e6, sd: 2e6, ziggurat: Ziggurat::normal() }
    }

    /// One message's delay, in nanoseconds.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a non-negative delay of milliseconds")]
    pub(super) fn delay(&mut self) -> Nanos {
        (self.mean + self.sd * self.ziggurat.sample(&mut self.random)).abs() as Nanos
    }
}

/// Layers of the ziggurat: a power of two, so a layer is a few bits of a draw.
const LAYERS: usize = 256;

/// Marsaglia and Tsang's ziggurat for Normal(0, 1) ("The Ziggurat Method for
/// Generating Random Variables", 2000): the density is covered by 256 layers
/// of equal area, a layer is picked at random, and a point in it is accepted
/// at once when it lies under the layer above (about 99 % of draws: one
/// random number, one multiplication, one comparison, no logarithm). The rest
/// are decided exactly by the density or, in the base layer, by the tail
/// algorithm, so the result is exactly normal: only cheaper to draw than by
/// Box–Muller, which needs a logarithm, a square root and a cosine each time.
pub(super) struct Ziggurat {
    /// Right edges of the layers, from the base (`x[0]`, the width the base
    /// layer would have as a rectangle) up to the top (`x[256] = 0`).
    x: [f64; LAYERS + 1],
    /// The density at each edge: `f[i] = exp(−x[i]²/2)`.
    f: [f64; LAYERS + 1],
}

/// Where the tail starts, for 256 layers.
const TAIL: f64 = 3.654_152_885_361_009;
/// The area of each layer, for 256 layers.
const LAYER_AREA: f64 = 0.004_928_673_233_99;

fn density(x: f64) -> f64 {
    (-0.5 * x * x).exp()
}

impl Ziggurat {
    /// The tables, computed once per process.
    pub(super) fn normal() -> &'static Ziggurat {
        static TABLES: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
        TABLES.get_or_init(Ziggurat::new)
    }

    fn new() -> Self {
        let mut x = [0.0; LAYERS + 1];
        x[0] = LAYER_AREA / density(TAIL);
        x[1] = TAIL;
        // Each layer's top edge is where its area reaches `LAYER_AREA`.
        for i in 1..LAYERS - 1 {
            x[i + 1] = (-2.0 * (LAYER_AREA / x[i] + density(x[i])).ln()).sqrt();
        }
        x[LAYERS] = 0.0;
        Ziggurat { x, f: x.map(density) }
    }

    /// One draw of Normal(0, 1).
    pub(super) fn sample(&self, random: &mut SmallRng) -> f64 {
        loop {
            let bits: u64 = random.random();
            // The low 8 bits pick the layer, the high 53 the point: independent.
            let layer = usize::from(bits.to_le_bytes()[0]);
            let u = 2.0 * unit_from_high_bits(bits) - 1.0;
            let x = u * self.x[layer];
            if x.abs() < self.x[layer + 1] {
                return x;
            }
            if layer == 0 {
                return Self::tail(random, u < 0.0);
            }
            // Between the layer's rectangle and the one above: under the curve?
            let y = self.f[layer + 1] + (self.f[layer] - self.f[layer + 1]) * random.random::<f64>();
            if y < density(x) {
                return x;
            }
        }
    }

    /// A draw beyond `TAIL` (Marsaglia, 1964), with the given sign.
    fn tail(random: &mut SmallRng, negative: bool) -> f64 {
        loop {
            // `1 − u` is in (0, 1], so the logarithms are finite.
            let x = (1.0 - random.random::<f64>()).ln() / TAIL;
            let y = (1.0 - random.random::<f64>()).ln();
            if -2.0 * y >= x * x {
                return if negative { x - TAIL } else { TAIL - x };
            }
        }
    }
}

/// A uniform float in `[0, 1)` from the high 53 bits of `bits`.
#[allow(clippy::cast_precision_loss, reason = "53 bits are exact in an f64")]
fn unit_from_high_bits(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_are_served_in_insertion_order() {
        let mut queue = Queue::with_capacity(4);
        for (at, event) in [(5, 'a'), (1, 'b'), (5, 'c'), (1, 'd')] {
            queue.push(at, event);
        }
        let mut order = Vec::new();
        queue.serve(|at, event| {
            order.push((at, event));
            // `b` schedules `e` at the time of `a` and `c`: after them, inserted last.
            (event == 'b').then_some((5, 'e'))
        });
        assert_eq!(order, [(1, 'b'), (1, 'd'), (5, 'a'), (5, 'c'), (5, 'e')]);
    }

    #[test]
    #[allow(clippy::cast_precision_loss, reason = "a count of 200 000")]
    fn network_delays_have_the_studys_mean_and_spread() {
        let mut network = Network::study(3);
        let draws: Vec<f64> = (0..200_000).map(|_| network.delay() as f64 / 1e6).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let variance = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 10.0).abs() < 0.02, "mean {mean} ms");
        assert!((variance.sqrt() - 2.0).abs() < 0.02, "sd {} ms", variance.sqrt());
        // Within one sd: 68.3 % of a normal.
        let within = draws.iter().filter(|d| (*d - 10.0).abs() < 2.0).count() as f64 / draws.len() as f64;
        assert!((within - 0.683).abs() < 0.005, "{within}");
    }

    #[test]
    #[allow(clippy::cast_precision_loss, reason = "counts of a million")]
    fn the_ziggurat_is_a_standard_normal_tails_included() {
        let ziggurat = Ziggurat::normal();
        // Every layer above the base has the same area (the base's is that by construction).
        for layer in 1..LAYERS {
            let area = ziggurat.x[layer] * (ziggurat.f[layer + 1] - ziggurat.f[layer]);
            assert!((area / LAYER_AREA - 1.0).abs() < 1e-9, "layer {layer}: {area}");
        }
        let mut random = SmallRng::seed_from_u64(11);
        let draws: Vec<f64> = (0..1_000_000).map(|_| ziggurat.sample(&mut random)).collect();
        let share = |test: fn(f64) -> bool| draws.iter().filter(|&&z| test(z)).count() as f64 / draws.len() as f64;
        // Φ(−1), Φ(0), the mass beyond 2 and beyond 3 (the tail algorithm starts at 3.65).
        assert!((share(|z| z < -1.0) - 0.158_655).abs() < 0.002);
        assert!((share(|z| z < 0.0) - 0.5).abs() < 0.002);
        assert!((share(|z| z.abs() > 2.0) - 0.045_500).abs() < 0.001);
        assert!((share(|z| z.abs() > 3.0) - 0.002_700).abs() < 0.000_3);
        assert!((share(|z| z > 3.8) - 0.000_072).abs() < 0.000_03);
        assert!((share(|z| z < -3.8) - 0.000_072).abs() < 0.000_03);
    }
}
