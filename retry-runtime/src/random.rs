//! Where jitter draws its randomness: a seeded generator for reproducible
//! schedules, or a fast per-thread one that is only touched when a delay is
//! actually drawn.

use std::cell::RefCell;

use rand::rngs::{SmallRng, SysRng};
use rand::{RngExt, SeedableRng};

/// A source of uniform floats in `[0, 1)`.
pub(crate) trait RandomSource {
    fn unit(&mut self) -> f64;
}

/// A generator seeded by the caller: the same seed gives the same schedule.
#[derive(Clone, Debug)]
pub(crate) struct Seeded(SmallRng);

impl Seeded {
    pub(crate) fn new(seed: u64) -> Self {
        Seeded(SmallRng::seed_from_u64(seed))
    }
}

impl RandomSource for Seeded {
    fn unit(&mut self) -> f64 {
        self.0.random()
    }
}

/// The calling thread's generator.
///
/// A zero-sized handle: it holds no generator, so a future that owns one stays
/// `Send` and nothing is borrowed across an `.await`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PerThread;

thread_local! {
    static THREAD_RNG: RefCell<SmallRng> = RefCell::new(seed_from_os());
}

fn seed_from_os() -> SmallRng {
    // The OS source failing is rare enough (early boot, seccomp) that a
    // weaker seed is better than a panic: jitter is not cryptography.
    SmallRng::try_from_rng(&mut SysRng).unwrap_or_else(|_| SmallRng::seed_from_u64(fallback_seed()))
}

fn fallback_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::thread::current().id())
}

/// Makes the calling thread's generator reproducible from `seed`.
pub(crate) fn reseed_this_thread(seed: u64) {
    THREAD_RNG.with(|rng| *rng.borrow_mut() = SmallRng::seed_from_u64(seed));
}

impl RandomSource for PerThread {
    fn unit(&mut self) -> f64 {
        THREAD_RNG.with(|rng| rng.borrow_mut().random())
    }
}

impl PerThread {
    /// 64 random bits.
    pub(crate) fn next_u64() -> u64 {
        THREAD_RNG.with(|rng| rng.borrow_mut().random())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_in_range() {
        let mut a = Seeded::new(9);
        let mut b = Seeded::new(9);
        for _ in 0..100 {
            let x = a.unit();
            assert_eq!(x.to_bits(), b.unit().to_bits());
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn reseeding_the_thread_generator_repeats_its_draws() {
        reseed_this_thread(5);
        let first: Vec<u64> = (0..5).map(|_| PerThread.unit().to_bits()).collect();
        reseed_this_thread(5);
        let second: Vec<u64> = (0..5).map(|_| PerThread.unit().to_bits()).collect();
        assert_eq!(first, second);
    }
}
