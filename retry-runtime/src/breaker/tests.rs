//! The atomic layer: what `acquire_at`, `record_at` and `release` return and
//! count, on top of the transitions tested in `word`.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use super::word::Word;
use super::{BreakerError, CircuitBreaker, CircuitOpen, CircuitState};

const COOL_DOWN: Duration = Duration::from_secs(10);

fn breaker() -> CircuitBreaker {
    CircuitBreaker::new().failure_threshold(2).success_threshold(2).half_open_trials(1).cool_down(COOL_DOWN)
}

fn at(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[test]
fn a_whole_cycle_reports_each_state_change_once() {
    let breaker = breaker();
    let first = breaker.acquire_at(at(0)).unwrap();
    let second = breaker.acquire_at(at(0)).unwrap();
    assert_eq!(breaker.record_at(first, true, at(1)), None);
    assert_eq!(breaker.record_at(second, true, at(2)), Some(CircuitState::Open));
    assert_eq!((breaker.state(), breaker.times_opened()), (CircuitState::Open, 1));
    assert!(breaker.is_open());

    assert_eq!(breaker.acquire_at(at(10_001)), Err(CircuitOpen));
    assert_eq!(breaker.rejections(), 1);
    let trial = breaker.acquire_at(at(2) + COOL_DOWN).unwrap();
    assert!(trial.is_trial());
    assert_eq!(breaker.state(), CircuitState::HalfOpen);
    assert!(!breaker.is_open());
    // The only trial slot is taken.
    assert_eq!(breaker.acquire_at(at(1_000_000)), Err(CircuitOpen));
    assert_eq!(breaker.rejections(), 2);

    assert_eq!(breaker.record_at(trial, false, at(20_000)), None);
    let trial = breaker.acquire_at(at(20_000)).unwrap();
    assert_eq!(breaker.record_at(trial, false, at(20_001)), Some(CircuitState::Closed));
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.times_opened(), 1);
}

#[test]
fn a_failed_trial_opens_again_and_is_counted() {
    let breaker = breaker().failure_threshold(1);
    let call = breaker.acquire_at(at(0)).unwrap();
    assert_eq!(breaker.record_at(call, true, at(0)), Some(CircuitState::Open));
    let trial = breaker.acquire_at(COOL_DOWN).unwrap();
    assert_eq!(breaker.record_at(trial, true, COOL_DOWN), Some(CircuitState::Open));
    assert_eq!(breaker.times_opened(), 2);
    // The cool-down starts again from the failed trial.
    assert_eq!(breaker.acquire_at(at(19_999)), Err(CircuitOpen));
    assert!(breaker.acquire_at(COOL_DOWN + COOL_DOWN).is_ok());
}

#[test]
fn happy_path_writes_nothing() {
    let breaker = breaker();
    let before = breaker.load();
    for _ in 0..3 {
        let permit = breaker.acquire_at(at(5)).unwrap();
        assert_eq!(breaker.record_at(permit, false, at(6)), None);
    }
    assert_eq!(breaker.load(), before);
}

#[test]
fn stale_outcomes_change_nothing() {
    let breaker = breaker();
    let slow = breaker.acquire_at(at(0)).unwrap();
    let first = breaker.acquire_at(at(0)).unwrap();
    let second = breaker.acquire_at(at(0)).unwrap();
    breaker.record_at(first, true, at(0));
    breaker.record_at(second, true, at(0));
    let trial = breaker.acquire_at(COOL_DOWN).unwrap();
    let half_open = breaker.load();
    // The slow call started in Closed: its outcome neither closes, nor
    // reopens, nor frees the trial's slot.
    assert_eq!(breaker.record_at(slow, false, COOL_DOWN), None);
    assert_eq!(breaker.record_at(slow, true, COOL_DOWN), None);
    breaker.release(slow);
    assert_eq!(breaker.load(), half_open);
    breaker.release(trial);
    assert_eq!(breaker.load(), Word::half_open(half_open.generation(), 0, 0));
}

#[test]
fn release_gives_the_trial_slot_back_without_counting() {
    let breaker = breaker().failure_threshold(1);
    let call = breaker.acquire_at(at(0)).unwrap();
    breaker.record_at(call, true, at(0));
    let trial = breaker.acquire_at(COOL_DOWN).unwrap();
    breaker.release(trial);
    // Released twice (a bug in a caller) does not free a slot it no longer holds.
    breaker.release(trial);
    let again = breaker.acquire_at(COOL_DOWN).unwrap();
    assert_eq!(breaker.acquire_at(COOL_DOWN), Err(CircuitOpen));
    assert_eq!(breaker.record_at(again, false, COOL_DOWN), None);
    assert_eq!(breaker.load().successes(), 1);
}

#[test]
fn reset_closes_and_orphans_calls_in_flight() {
    let breaker = breaker().failure_threshold(1);
    let call = breaker.acquire_at(at(0)).unwrap();
    breaker.record_at(call, true, at(0));
    let trial = breaker.acquire_at(COOL_DOWN).unwrap();
    breaker.reset();
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.record_at(trial, true, COOL_DOWN), None);
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert_eq!(breaker.times_opened(), 1);
}

#[test]
fn validate_names_the_first_setting_out_of_range() {
    assert_eq!(CircuitBreaker::new().validate(), Ok(()));
    assert_eq!(CircuitBreaker::new().failure_threshold(0).validate(), Err(BreakerError::ZeroFailureThreshold));
    assert_eq!(CircuitBreaker::new().failure_threshold(u32::MAX).validate(), Ok(()));
    assert_eq!(CircuitBreaker::new().success_threshold(0).validate(), Err(BreakerError::SuccessThresholdOutOfRange(0)));
    let max = CircuitBreaker::MAX_HALF_OPEN_TRIALS;
    assert_eq!(CircuitBreaker::new().half_open_trials(max).success_threshold(max).validate(), Ok(()));
    assert_eq!(
        CircuitBreaker::new().half_open_trials(max + 1).validate(),
        Err(BreakerError::HalfOpenTrialsOutOfRange(max + 1))
    );
    assert_eq!(
        BreakerError::SuccessThresholdOutOfRange(0).to_string(),
        "success_threshold must be from 1 to 16777215, got 0"
    );
}

#[test]
fn out_of_range_settings_are_clamped_not_panicking() {
    let breaker = CircuitBreaker::new().failure_threshold(0).success_threshold(0).half_open_trials(0);
    let call = breaker.acquire_at(at(0)).unwrap();
    assert_eq!(breaker.record_at(call, true, at(0)), Some(CircuitState::Open));
    let trial = breaker.acquire_at(Duration::from_secs(30)).unwrap();
    assert_eq!(breaker.acquire_at(Duration::from_secs(30)), Err(CircuitOpen));
    assert_eq!(breaker.record_at(trial, false, Duration::from_secs(30)), Some(CircuitState::Closed));
}

#[test]
fn the_public_permit_releases_on_drop_and_reports_once() {
    let breaker = CircuitBreaker::new().failure_threshold(1).cool_down(Duration::ZERO);
    assert_eq!(breaker.try_acquire().unwrap().failure(), Some(CircuitState::Open));
    let trial = breaker.try_acquire().unwrap();
    assert!(trial.is_trial());
    assert!(breaker.try_acquire().is_err());
    drop(trial);
    assert_eq!(breaker.load().in_flight(), 0);
    let trial = breaker.try_acquire().unwrap();
    assert_eq!(trial.success(), Some(CircuitState::Closed));
}

#[test]
fn debug_shows_state_settings_and_counters() {
    let shown = format!("{:?}", CircuitBreaker::new());
    assert_eq!(
        shown,
        "CircuitBreaker { state: Closed, failure_threshold: 5, cool_down: 30s, success_threshold: 1, \
         half_open_trials: 1, times_opened: 0, rejections: 0, .. }"
    );
    assert_eq!(CircuitState::Closed.to_string(), "closed");
    assert_eq!(CircuitState::Open.to_string(), "open");
}
