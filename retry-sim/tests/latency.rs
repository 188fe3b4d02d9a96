//! The tail-latency scenario reproduces the shape of "The Tail at Scale"
//! (Dean and Barroso, 2013): hedging at the p95 cuts the p99 sharply for
//! about 5 % more load, and a shared retry budget bounds the extra copies.

use std::time::Duration;

use retry_runtime::RetryBudget;
use retry_sim::{Hedge, LatencyRun, TailLatency};

const SERVER: TailLatency = TailLatency::PAPER;

fn extra_copies(run: &LatencyRun) -> u64 {
    run.attempts - run.calls
}

#[test]
fn hedging_at_the_p95_cuts_the_p99_for_about_five_percent_more_load() {
    for seed in [1, 2] {
        let plain = SERVER.run(Hedge::NONE, seed);
        let p95 = plain.percentile(95.0);
        // The premise: a fast mode around 10 ms, a slow one around 500 ms.
        assert!(p95 > Duration::from_millis(12) && p95 < Duration::from_millis(20), "p95 {p95:?}");
        assert!(plain.percentile(99.0) > Duration::from_millis(400), "{:?}", plain.percentile(99.0));
        assert_eq!(plain.attempts, plain.calls);

        let hedged = SERVER.run(Hedge::after(p95), seed);
        let (before, after) = (plain.percentile(99.0), hedged.percentile(99.0));
        assert!(after * 10 < before, "p99 {before:?} → {after:?}");
        // A slow first copy is answered by its hedge: about p95 + a fast copy.
        assert!(after < p95 * 2 + Duration::from_millis(5), "p99 {after:?}, p95 {p95:?}");
        // The copies sent are the calls still unanswered at the p95: 5 %.
        assert!(hedged.load() > 1.04 && hedged.load() < 1.06, "load {}", hedged.load());
        // The median call never waits for the delay, so it is unchanged.
        assert_eq!(hedged.percentile(50.0), plain.percentile(50.0));
        // Cancelling the slow copies saves more server time than the hedges cost.
        assert!(hedged.work < plain.work, "{:?} vs {:?}", hedged.work, plain.work);
    }
}

#[test]
fn two_copies_leave_the_p99_9_to_calls_whose_both_copies_are_slow_and_a_third_cuts_it() {
    let plain = SERVER.run(Hedge::NONE, 3);
    let p95 = plain.percentile(95.0);
    let two = SERVER.run(Hedge::after(p95), 3);
    let three = SERVER.run(Hedge::after(p95).max_attempts(3), 3);
    // 4 % × 4 % = 0.16 % of calls have both copies slow: more than 0.1 %.
    assert!(two.percentile(99.9) > Duration::from_millis(300), "{:?}", two.percentile(99.9));
    assert!(three.percentile(99.9) < p95 * 3, "{:?}", three.percentile(99.9));
    // The third copy is sent for those 0.16 % and the few fast copies past the p95 again.
    assert!(three.attempts - two.attempts < two.calls / 200, "{} vs {}", three.attempts, two.attempts);
}

#[test]
fn a_shared_budget_bounds_the_extra_copies_to_its_capacity_ratio_and_floor() {
    let plain = SERVER.run(Hedge::NONE, 4);
    let seconds = SERVER.interval.saturating_mul(u32::try_from(SERVER.calls).unwrap_or(u32::MAX)).as_secs();
    // Hedging at the p50 wants a copy for half the calls.
    let eager = Hedge::after(plain.percentile(50.0));
    let unbounded = SERVER.run(eager, 4);
    assert!(extra_copies(&unbounded) > plain.calls * 45 / 100, "{}", extra_copies(&unbounded));
    for (capacity, ratio_milli, floor) in [(100_u32, 100_u32, 10_u32), (100, 20, 0), (10, 0, 5), (1000, 300, 0)] {
        let budget =
            RetryBudget::new().capacity(capacity).ratio(f64::from(ratio_milli) / 1000.0).min_retries_per_second(floor);
        let run = SERVER.run_with_budget(eager, 4, &budget);
        // The bucket's upper half, the ratio's share of the calls, the floor of every second.
        let bound =
            u64::from(capacity) / 2 + plain.calls * u64::from(ratio_milli) / 1000 + u64::from(floor) * (seconds + 1);
        let extra = extra_copies(&run);
        assert!(extra <= bound, "budget {capacity}/{ratio_milli}‰/{floor}: {extra} copies, bound {bound}");
        // The budget, not the demand, is what limits them: it is spent.
        assert!(extra * 10 >= bound * 9, "budget {capacity}/{ratio_milli}‰/{floor}: {extra} copies, bound {bound}");
        // Every copy wanted was either sent or refused.
        assert_eq!(extra + run.refused, extra_copies(&unbounded), "budget {capacity}/{ratio_milli}‰/{floor}");
        assert_eq!(run.refused, budget.refusals());
    }
}

#[test]
fn hedging_at_the_p95_stays_within_the_default_budget() {
    let plain = SERVER.run(Hedge::NONE, 5);
    let hedge = Hedge::after(plain.percentile(95.0));
    let budget = RetryBudget::new();
    let budgeted = SERVER.run_with_budget(hedge, 5, &budget);
    // 5 % extra copies against a ratio of 10 %: nothing refused, nothing changed.
    assert_eq!(budget.refusals(), 0);
    assert_eq!(budgeted, SERVER.run(hedge, 5));
}

#[test]
fn a_run_depends_only_on_its_seed() {
    let server = TailLatency { calls: 20_000, ..SERVER };
    let hedge = Hedge::after(Duration::from_millis(15)).max_attempts(3);
    let run = |seed| server.run_with_budget(hedge, seed, &RetryBudget::new().ratio(0.02));
    assert_eq!(run(6), run(6));
    assert_ne!(run(6).completions, run(7).completions);
    // The strategies are compared on the same draws: an unhedged call takes its first copy's time.
    let plain = server.run(Hedge::NONE, 6);
    let hedged = server.run(hedge, 6);
    assert!(hedged.completions.iter().zip(&plain.completions).all(|(h, p)| h <= p));
}
