//! The tail-latency scenario: a server whose response time has a heavy tail,
//! and calls that hedge (send another copy after a delay, first answer wins).

use std::fmt;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use retry_runtime::RetryBudget;

use super::events::{Nanos, Queue, Ziggurat, nanos};
use super::{client_ids, mix};

/// A server whose response time has a heavy tail, called at a steady rate.
///
/// Each copy of a request the server starts takes, independently, a time
/// drawn from a mixture: with probability `1 − slow_share` about `fast`
/// (|Normal(fast, fast/5)|), otherwise about `slow` (|Normal(slow, slow/5)|):
/// the "most requests are quick, a few hit a garbage collection, a
/// compaction or a cold cache" shape of "The Tail at Scale" (Dean and
/// Barroso, 2013). A slow draw is a property of that copy, not of the
/// request, so a second copy is likely to be fast: the premise of hedging.
///
/// The server has unlimited capacity (the paper's setting: the extra copies
/// are a few percent of the load, on a fleet sized for more): a copy's time
/// does not depend on the other copies, so hedging can only shorten a call,
/// and its cost shows up as load ([`LatencyRun::attempts`]) and server
/// time ([`LatencyRun::work`]). A server near saturation, where the extra
/// copies would queue and slow everything, is not modelled.
///
/// ```
/// use retry_sim::{Hedge, TailLatency};
///
/// let server = TailLatency { calls: 10_000, ..TailLatency::PAPER };
/// let plain = server.run(Hedge::NONE, 1);
/// let hedged = server.run(Hedge::after(plain.percentile(95.0)), 1);
/// assert!(hedged.percentile(99.0) * 5 < plain.percentile(99.0));
/// assert!(hedged.load() < 1.07);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TailLatency {
    /// How many calls are made, one every `interval` from time zero.
    pub calls: usize,
    /// The time between two calls' arrivals. It matters only to a retry
    /// budget, whose per-second floor counts (virtual) seconds.
    pub interval: Duration,
    /// The centre of the fast mode.
    pub fast: Duration,
    /// The centre of the slow mode.
    pub slow: Duration,
    /// The probability that a copy is slow, from 0 to 1.
    pub slow_share: f64,
}

impl TailLatency {
    /// The scenario of the example and the README: 100 000 calls, one per
    /// millisecond; 96 % of copies take about 10 ms, 4 % about 500 ms.
    ///
    /// With 4 % slow the no-hedging p95 lies in the fast mode (about 15 ms),
    /// so "hedging at the p95" is one well-defined delay; with exactly 5 %
    /// it would fall in the gap between the modes, anywhere from 20 to
    /// 300 ms depending on the sample.
    ///
    /// ```
    /// let server = retry_sim::TailLatency::PAPER;
    /// assert_eq!((server.calls, server.slow_share), (100_000, 0.04));
    /// ```
    pub const PAPER: TailLatency = TailLatency {
        calls: 100_000,
        interval: Duration::from_millis(1),
        fast: Duration::from_millis(10),
        slow: Duration::from_millis(500),
        slow_share: 0.04,
    };

    /// Runs every call with `hedge`.
    ///
    /// ```
    /// use retry_sim::{Hedge, TailLatency};
    /// let server = TailLatency { calls: 1000, ..TailLatency::PAPER };
    /// assert_eq!(server.run(Hedge::NONE, 7).attempts, 1000);
    /// ```
    pub fn run(&self, hedge: Hedge, seed: u64) -> LatencyRun {
        self.simulate(hedge, seed, None)
    }

    /// Runs every call with `hedge`, each extra copy paid from `budget`, one
    /// [`RetryBudget`] shared by all the calls, as the runtime's hedging
    /// pays it: each call deposits once, when it starts, and each copy after
    /// the first must be granted a retry token at the moment it would start.
    /// A refused copy is not sent, and that call sends no more copies: it
    /// waits for the ones already running (counted in
    /// [`LatencyRun::refused`]).
    ///
    /// The budget reads the run's virtual time, so the run stays
    /// deterministic. Pass a fresh budget to each run.
    ///
    /// ```
    /// use std::time::Duration;
    /// use retry_runtime::RetryBudget;
    /// use retry_sim::{Hedge, TailLatency};
    ///
    /// let server = TailLatency { calls: 10_000, ..TailLatency::PAPER };
    /// // Hedging everything at once would double the load; the budget allows a tenth more.
    /// let eager = Hedge::after(Duration::ZERO);
    /// assert_eq!(server.run(eager, 1).load(), 2.0);
    /// assert!(server.run_with_budget(eager, 1, &RetryBudget::new()).load() < 1.12);
    /// ```
    pub fn run_with_budget(&self, hedge: Hedge, seed: u64, budget: &RetryBudget) -> LatencyRun {
        self.simulate(hedge, seed, Some(budget))
    }

    fn simulate(&self, hedge: Hedge, seed: u64, budget: Option<&RetryBudget>) -> LatencyRun {
        let calls = client_ids(self.calls);
        let interval = nanos(self.interval);
        let delay = nanos(hedge.delay);
        let arrival = |call: u32| interval.saturating_mul(u64::from(call));
        let sampler = Sampler::new(self, seed);
        // Per call: when its first answer arrives (so far), and the copies started.
        let mut answered: Vec<Nanos> = vec![Nanos::MAX; calls.len()];
        let mut copies: Vec<u32> = vec![0; calls.len()];
        let mut refused = 0u64;
        // Every arrival is queued up front, in order; an arrival then
        // schedules the call's first hedge, and each hedge the next one, so
        // at most one event per call is ever pending.
        let mut queue = Queue::with_capacity(calls.len());
        for call in calls.clone() {
            queue.push(arrival(call), (call, 0u32));
        }
        queue.serve(|now, (call, copy)| {
            let index = call as usize;
            if copy == 0 {
                if let Some(budget) = budget {
                    budget.record_call();
                }
            } else {
                // Answered already (a tie counts as answered): no copy.
                if answered[index] <= now {
                    return None;
                }
                if budget.is_some_and(|budget| !budget.try_retry_at(Duration::from_nanos(now))) {
                    refused += 1;
                    return None;
                }
            }
            copies[index] += 1;
            answered[index] = answered[index].min(now.saturating_add(sampler.service(call, copy)));
            (copy + 1 < hedge.max_attempts).then(|| (now.saturating_add(delay), (call, copy + 1)))
        });

        let mut work: Nanos = 0;
        let mut completions: Vec<Duration> = Vec::with_capacity(calls.len());
        for call in calls {
            let (start, done) = (arrival(call), answered[call as usize]);
            completions.push(Duration::from_nanos(done.saturating_sub(start)));
            // Each copy works until it answers or until the call is answered
            // and it is cancelled: cancelled work counts up to the cancellation.
            for copy in 0..copies[call as usize] {
                let copy_start = start.saturating_add(delay.saturating_mul(u64::from(copy)));
                let copy_end = copy_start.saturating_add(sampler.service(call, copy)).min(done);
                work = work.saturating_add(copy_end.saturating_sub(copy_start));
            }
        }
        completions.sort_unstable();
        LatencyRun {
            calls: u64::try_from(completions.len()).unwrap_or(u64::MAX),
            attempts: copies.iter().map(|&n| u64::from(n)).sum(),
            refused,
            work: Duration::from_nanos(work),
            completions,
        }
    }
}

/// Draws the service time of each copy. Copy `k` of call `c` always takes
/// the same time for a given seed, whatever the strategy: the strategies are
/// compared on the same draws (common random numbers), so their differences
/// are the strategies', not the sample's.
struct Sampler {
    seed: u64,
    fast: f64,
    slow: f64,
    slow_share: f64,
    ziggurat: &'static Ziggurat,
}

impl Sampler {
    #[allow(clippy::cast_precision_loss, reason = "durations of seconds are exact in an f64")]
    fn new(server: &TailLatency, seed: u64) -> Self {
        Sampler {
            seed,
            fast: nanos(server.fast) as f64,
            slow: nanos(server.slow) as f64,
            slow_share: server.slow_share,
            ziggurat: Ziggurat::normal(),
        }
    }

    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "a non-negative time of milliseconds")]
    fn service(&self, call: u32, copy: u32) -> Nanos {
        let mut random = SmallRng::seed_from_u64(mix(self.seed, (u64::from(call) << 32) | u64::from(copy)));
        let centre = if random.random::<f64>() < self.slow_share { self.slow } else { self.fast };
        (centre + centre / 5.0 * self.ziggurat.sample(&mut random)).abs() as Nanos
    }
}

/// How a call hedges: after `delay` without an answer it starts another copy
/// of the request, and so on, up to `max_attempts` copies; the first answer
/// wins and the other copies are cancelled.
///
/// ```
/// use std::time::Duration;
/// use retry_sim::Hedge;
/// let hedge = Hedge::after(Duration::from_millis(15));
/// assert_eq!(hedge.max_attempts, 2);
/// assert_eq!(Hedge::NONE.max_attempts, 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hedge {
    /// How long to wait for an answer before starting the next copy.
    pub delay: Duration,
    /// The most copies a call starts, the first included (1: no hedging;
    /// 0 counts as 1, since every call sends its first copy).
    pub max_attempts: u32,
}

impl Hedge {
    /// No hedging: one copy per call.
    pub const NONE: Hedge = Hedge { delay: Duration::ZERO, max_attempts: 1 };

    /// One extra copy, after `delay`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let hedge = retry_sim::Hedge::after(Duration::from_millis(15)).max_attempts(3);
    /// assert_eq!(hedge.max_attempts, 3);
    /// ```
    pub const fn after(delay: Duration) -> Hedge {
        Hedge { delay, max_attempts: 2 }
    }

    /// The same delay, up to `max_attempts` copies in all.
    #[must_use]
    pub const fn max_attempts(self, max_attempts: u32) -> Hedge {
        Hedge { max_attempts, ..self }
    }
}

/// What one [`TailLatency::run`] (or [`TailLatency::run_with_budget`]) measured.
///
/// ```
/// use retry_sim::{Hedge, TailLatency};
/// let run = TailLatency { calls: 100, ..TailLatency::PAPER }.run(Hedge::NONE, 2);
/// assert_eq!((run.calls, run.attempts, run.refused), (100, 100, 0));
/// assert!(run.percentile(50.0) <= run.percentile(99.0));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatencyRun {
    /// The calls made: [`TailLatency::calls`].
    pub calls: u64,
    /// Copies the server started, first attempts included: the load.
    pub attempts: u64,
    /// Extra copies the retry budget refused.
    pub refused: u64,
    /// Server time spent on all copies: each works until it answers or is
    /// cancelled (when another copy of its call answered first).
    pub work: Duration,
    /// Every call's completion time (from its start to its first answer), sorted.
    pub completions: Vec<Duration>,
}

impl LatencyRun {
    /// The completion time below which `percent` % of the calls finished
    /// (nearest rank: the smallest completion time with at least that share
    /// of calls at or below it). `percent` is clamped to 0–100.
    ///
    /// ```
    /// use retry_sim::{Hedge, TailLatency};
    /// let run = TailLatency { calls: 1000, ..TailLatency::PAPER }.run(Hedge::NONE, 2);
    /// assert_eq!(run.percentile(100.0), run.completions[999]);
    /// assert_eq!(run.percentile(0.0), run.completions[0]);
    /// ```
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a rank within the number of calls"
    )]
    pub fn percentile(&self, percent: f64) -> Duration {
        let share = (percent / 100.0).clamp(0.0, 1.0);
        let rank = (share * self.completions.len() as f64).ceil() as usize;
        self.completions.get(rank.saturating_sub(1)).copied().unwrap_or_default()
    }

    /// Copies per call (1.0: no call hedged): the load hedging added.
    ///
    /// ```
    /// use retry_sim::{Hedge, TailLatency};
    /// assert_eq!(TailLatency { calls: 10, ..TailLatency::PAPER }.run(Hedge::NONE, 1).load(), 1.0);
    /// ```
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    pub fn load(&self) -> f64 {
        self.attempts as f64 / self.calls.max(1) as f64
    }

    /// Server time per call, in milliseconds.
    ///
    /// ```
    /// use retry_sim::{Hedge, TailLatency};
    /// let run = TailLatency { calls: 1000, ..TailLatency::PAPER }.run(Hedge::NONE, 1);
    /// assert!(run.work_per_call_ms() > 10.0 && run.work_per_call_ms() < 40.0);
    /// ```
    #[allow(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    pub fn work_per_call_ms(&self) -> f64 {
        self.work.as_secs_f64() * 1000.0 / self.calls.max(1) as f64
    }
}

/// Runs compared side by side, printed as a table: one row per strategy with
/// its completion-time percentiles, load and server time.
///
/// ```
/// use retry_sim::{Hedge, LatencyTable, TailLatency};
/// let server = TailLatency { calls: 1000, ..TailLatency::PAPER };
/// let table = LatencyTable { rows: vec![("no hedging".into(), server.run(Hedge::NONE, 1))] };
/// let printed = table.to_string();
/// assert!(printed.starts_with("strategy") && printed.contains("no hedging"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct LatencyTable {
    /// Each strategy's name and run, in the order printed.
    pub rows: Vec<(String, LatencyRun)>,
}

impl fmt::Display for LatencyTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.rows.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0).max(8);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            f,
            "{:<width$} {:>8} {:>8} {:>8} {:>8} {:>9} {:>12} {:>8}",
            "strategy", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "× calls", "work ms/call", "refused"
        )?;
        for (name, run) in &self.rows {
            writeln!(
                f,
                "{name:<width$} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>9.3} {:>12.2} {:>8}",
                ms(run.percentile(50.0)),
                ms(run.percentile(95.0)),
                ms(run.percentile(99.0)),
                ms(run.percentile(99.9)),
                run.load(),
                run.work_per_call_ms(),
                run.refused
            )?;
        }
        Ok(())
    }
}
