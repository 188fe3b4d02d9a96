//! The `fleet` example's scenario, with assertions: against a loopback
//! server that fails for its first 800 ms, a budget keeps the retries of a
//! fleet of callers within its bound, while the same fleet without one
//! multiplies its load by the attempts allowed.

#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "../examples/fleet.rs"]
mod fleet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_holds_the_fleet_near_one_request_per_call_during_an_outage() {
    let (without, with) = fleet::run().await.unwrap();

    // Without a budget, every call in the outage is tried four times.
    assert!(without.outage_amplification() > 3.0, "{without:?}");
    assert_eq!(without.budget_refusals, 0);

    // With one: calls·(1 + ratio) + capacity/2 + floor·(⌈seconds⌉ + 1),
    // the retries after the outage included.
    let bound = with.calls + with.calls / 10 + 10 + 10 * 3;
    assert!(with.requests <= bound, "{with:?}, bound {bound}");
    assert!(with.outage_amplification() < 1.5, "{with:?}");
    assert!(with.budget_refusals > with.calls_in_outage / 2, "{with:?}");

    // Once the server is back, both fleets get through.
    assert!(without.successes >= without.calls - without.calls_in_outage, "{without:?}");
    assert!(with.successes >= with.calls - with.calls_in_outage, "{with:?}");
}
