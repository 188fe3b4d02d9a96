//! An exhaustive model test of the breaker under two concurrent callers.
//!
//! # Why enumerating interleavings of whole operations is complete
//!
//! Every operation on the breaker (acquire, report an outcome, release) is
//! one compare-and-swap loop over the single atomic word, whose new value is
//! computed by the pure [`next_word`] from the value it replaces; an
//! operation that changes nothing only loads. A failed compare-and-swap
//! writes nothing and retries on the fresh value, so each operation takes
//! effect atomically at one point (its successful swap, or its last load):
//! operations are linearizable. Every execution on real hardware, with any
//! memory ordering, is therefore equivalent to some sequential interleaving
//! of whole operations, and enumerating all of them, from every starting
//! state, checks every execution. No weak-memory model (loom) is needed,
//! because the word publishes no other memory.
//!
//! The one input an operation takes besides the word is the time, which a
//! caller reads *before* its compare-and-swap and may then hold while others
//! act; so reading the clock is a step of its own, and the clock advancing is
//! a third actor that may step between any two operations.
//!
//! # What is enumerated
//!
//! - Limits: failure threshold 2, success threshold 1 and 2, half-open
//!   trials 1 and 2, cool-down 10 ms. The clock advances by 9, 1 and 10 ms,
//!   so a cool-down can end exactly on its boundary, and end again after the
//!   breaker reopens.
//! - Two callers, each making two calls, each call `acquire`, then (if
//!   granted) `fail`, `succeed` or `cancel`, chosen at the step: every script
//!   of every length up to two calls, in every interleaving. A refused
//!   acquire ends the call.
//! - Starting states, in generation 5 and in the last generation (so that
//!   the next state change wraps to 0): Closed with 0 and 1 failures; Open
//!   just opened, and Open exactly cooled down; half-open with every count of
//!   successes below the threshold and every count of trials in flight, those
//!   trials held by outside calls that fail, succeed or cancel at any point;
//!   and each of these again with one more outside call holding a stale
//!   permit (of the previous generation, a trial or not) that reports at any
//!   point. A call that never returns is covered too: every state before its
//!   report is checked.
//!
//! `reset` is not modelled: it is one unconditional swap to a new
//! generation, which the stale-permit starting states already cover.
//!
//! # What is checked
//!
//! In every state: Closed's count below the failure threshold; half-open's
//! successes below the success threshold and trials in flight at most
//! `half_open_trials`, and *equal* to the trial permits of the current
//! generation still held (so no slot leaks and none is given back twice,
//! whatever order calls end in); no permit of the current generation in
//! Open, none but trials in half-open, no trial in Closed.
//!
//! At every step: a report with a permit of another generation changes
//! nothing; the generation moves on by one exactly when the state changes;
//! the only state changes are Closed → Open on the failure that reaches the
//! threshold, Open → half-open on an acquire at or after the cool-down (which
//! then holds the only slot taken), half-open → Closed on the success that
//! reaches the threshold, half-open → Open on a trial's failure, each opening
//! dated by the failing caller's clock reading; an acquire is refused only in
//! Open before the cool-down or in half-open with every slot taken; and each
//! report changes the counts as specified.
//!
//! The search is depth-first, memoised on the whole model state, so each
//! distinct state is checked once, and the number of complete interleavings
//! (about 2.8 · 10¹³) is counted by summing over the memo rather than by
//! walking them. The checker can fail: the `the_checker_catches_*` tests run
//! it over deliberately broken transition functions.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use super::CircuitState;
use super::word::{Event, GENERATION_MASK, Limits, Permit, Word, next_word};

/// The transition function under test: [`next_word`], or a broken one to
/// show that the checker can fail.
type Transition = fn(Limits, Word, Event, u64) -> Option<Word>;

const COOL_DOWN_MS: u64 = 10;
/// How the clock advances, one step at a time.
const CLOCK_STEPS: [u64; 3] = [COOL_DOWN_MS - 1, 1, COOL_DOWN_MS];
const START_MS: u64 = 1_000;
/// How many calls each caller makes.
const CALLS_PER_CALLER: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Outcome {
    Fail,
    Succeed,
    Cancel,
}

const OUTCOMES: [Outcome; 3] = [Outcome::Fail, Outcome::Succeed, Outcome::Cancel];

/// One caller: how many calls it has made, the permit it holds, and the
/// time it read for its next operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Caller {
    calls_done: usize,
    holding: Option<Permit>,
    /// While holding a permit, a reading means the call is failing: only an
    /// acquire and a failure use the time.
    clock_reading: Option<u64>,
}

const IDLE: Caller = Caller { calls_done: 0, holding: None, clock_reading: None };

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct ModelState {
    word: Word,
    now_ms: u64,
    clock_steps: usize,
    callers: [Caller; 2],
    /// Calls admitted before the model starts, holding these permits until
    /// they report.
    outsiders: [Option<Permit>; 3],
}

impl ModelState {
    /// Every permit still held, by the callers and by the outsiders.
    fn outstanding(&self) -> impl Iterator<Item = Permit> + '_ {
        self.callers.iter().filter_map(|caller| caller.holding).chain(self.outsiders.iter().flatten().copied())
    }
}

/// What a step was, for the trace of a violation (cheap: traces are only
/// printed when a check fails, with `Debug`).
#[derive(Clone, Copy, Debug)]
#[allow(dead_code, reason = "the fields are read by `Debug`, in traces")]
enum Label {
    Clock { advance: u64 },
    ReadsClock { caller: usize, now_ms: u64 },
    Acquires { caller: usize, now_ms: u64 },
    Reports { caller: Option<usize>, event: Event, now_ms: u64 },
}

#[derive(Debug)]
struct Violation {
    message: String,
    /// The steps from the starting state, first first.
    trace: Vec<Label>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    starting_states: u64,
    distinct_states: u64,
    steps_checked: u64,
    interleavings: u64,
}

impl Totals {
    fn add(&mut self, other: &Totals) {
        self.starting_states += other.starting_states;
        self.distinct_states += other.distinct_states;
        self.steps_checked += other.steps_checked;
        self.interleavings = self.interleavings.saturating_add(other.interleavings);
    }
}

/// One step: the state after it, or why it is wrong; and what it was.
type Step = (Result<ModelState, String>, Label);

struct Explorer {
    limits: Limits,
    transition: Transition,
    /// Complete interleavings from each state already checked.
    memo: HashMap<ModelState, u64, BuildHasherDefault<MixHasher>>,
    steps_checked: u64,
}

impl Explorer {
    fn new(limits: Limits, transition: Transition) -> Self {
        Explorer { limits, transition, memo: HashMap::default(), steps_checked: 0 }
    }

    /// Checks every state reachable from `state`; returns the number of
    /// complete interleavings from it.
    fn explore(&mut self, state: ModelState) -> Result<u64, Violation> {
        if let Some(&interleavings) = self.memo.get(&state) {
            return Ok(interleavings);
        }
        check_state(self.limits, &state).map_err(|message| Violation { message, trace: Vec::new() })?;
        let steps = self.steps(&state);
        // A state where nobody can step ends one complete interleaving.
        let mut interleavings = u64::from(steps.is_empty());
        for (next, label) in steps {
            self.steps_checked += 1;
            let next = next.map_err(|message| Violation { message, trace: vec![label] })?;
            let from_next = self.explore(next).map_err(|mut violation| {
                violation.trace.insert(0, label);
                violation
            })?;
            interleavings = interleavings.saturating_add(from_next);
        }
        self.memo.insert(state, interleavings);
        Ok(interleavings)
    }

    /// Every step any actor can take from `state`.
    fn steps(&self, state: &ModelState) -> Vec<Step> {
        let mut steps = Vec::new();
        if let Some(advance) = CLOCK_STEPS.get(state.clock_steps) {
            let now_ms = state.now_ms + advance;
            let next = ModelState { now_ms, clock_steps: state.clock_steps + 1, ..*state };
            steps.push((Ok(next), Label::Clock { advance: *advance }));
        }
        for (index, outsider) in state.outsiders.iter().enumerate() {
            let Some(permit) = *outsider else { continue };
            let mut next = *state;
            next.outsiders[index] = None;
            for outcome in OUTCOMES {
                let event = report(outcome, permit);
                let label = Label::Reports { caller: None, event, now_ms: state.now_ms };
                steps
                    .push((self.apply(state.word, event, state.now_ms).map(|word| ModelState { word, ..next }), label));
            }
        }
        for index in 0..state.callers.len() {
            self.caller_steps(state, index, &mut steps);
        }
        steps
    }

    fn caller_steps(&self, state: &ModelState, index: usize, steps: &mut Vec<Step>) {
        let caller = state.callers[index];
        let mut next = *state;
        let read_clock = |mut next: ModelState| {
            next.callers[index].clock_reading = Some(state.now_ms);
            (Ok(next), Label::ReadsClock { caller: index, now_ms: state.now_ms })
        };
        if let Some(permit) = caller.holding {
            next.callers[index] = Caller { calls_done: caller.calls_done + 1, holding: None, clock_reading: None };
            let mut report_at = |outcome: Outcome, now_ms: u64| {
                let event = report(outcome, permit);
                let label = Label::Reports { caller: Some(index), event, now_ms };
                steps.push((self.apply(state.word, event, now_ms).map(|word| ModelState { word, ..next }), label));
            };
            if let Some(now_ms) = caller.clock_reading {
                report_at(Outcome::Fail, now_ms);
            } else {
                // A success or a cancellation uses no time; a failure reads
                // it first, a step of its own.
                report_at(Outcome::Succeed, state.now_ms);
                report_at(Outcome::Cancel, state.now_ms);
                steps.push(read_clock(*state));
            }
            return;
        }
        if caller.calls_done == CALLS_PER_CALLER {
            return;
        }
        let Some(now_ms) = caller.clock_reading else {
            steps.push(read_clock(*state));
            return;
        };
        let label = Label::Acquires { caller: index, now_ms };
        let before = state.word;
        let after = (self.transition)(self.limits, before, Event::Acquire, now_ms);
        if let Err(message) = check_acquire(self.limits, before, after, now_ms) {
            steps.push((Err(message), label));
            return;
        }
        next.callers[index].clock_reading = None;
        if let Some(word) = after {
            next.word = word;
            next.callers[index].holding = Some(Permit::issued_in(word));
        } else {
            // Refused: this call is over.
            next.callers[index].calls_done += 1;
        }
        steps.push((Ok(next), label));
    }

    /// The word after reporting `event`, checked.
    fn apply(&self, before: Word, event: Event, now_ms: u64) -> Result<Word, String> {
        let after = (self.transition)(self.limits, before, event, now_ms);
        check_report(self.limits, before, event, after, now_ms)?;
        Ok(after.unwrap_or(before))
    }
}

/// A fast, non-cryptographic hasher for the memo (`SipHash` made the
/// search several times slower; nothing here is adversarial).
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

fn report(outcome: Outcome, permit: Permit) -> Event {
    match outcome {
        Outcome::Fail => Event::Failure(permit),
        Outcome::Succeed => Event::Success(permit),
        Outcome::Cancel => Event::Release(permit),
    }
}

fn permit_generation(permit: Permit) -> u64 {
    u64::from(permit.generation)
}

/// The invariants of every reachable state.
fn check_state(limits: Limits, state: &ModelState) -> Result<(), String> {
    let word = state.word;
    let current = || state.outstanding().filter(|permit| permit_generation(*permit) == word.generation());
    match word.state() {
        CircuitState::Closed => {
            if word.failures() >= limits.failure_threshold {
                return Err(format!(
                    "Closed with {} failures, threshold {}",
                    word.failures(),
                    limits.failure_threshold
                ));
            }
            if current().any(|permit| permit.trial) {
                return Err("a trial permit of the current generation while Closed".into());
            }
        }
        CircuitState::Open => {
            if current().next().is_some() {
                return Err("a permit of the current generation while Open".into());
            }
        }
        CircuitState::HalfOpen => {
            if word.successes() >= limits.success_threshold {
                return Err(format!(
                    "half-open with {} successes, threshold {}",
                    word.successes(),
                    limits.success_threshold
                ));
            }
            if word.in_flight() > limits.half_open_trials {
                return Err(format!("{} trials in flight, at most {}", word.in_flight(), limits.half_open_trials));
            }
            if current().any(|permit| !permit.trial) {
                return Err("a non-trial permit of the current generation while half-open".into());
            }
            // Exact slot accounting: no slot leaked, none given back twice.
            let held = u64::try_from(current().count()).unwrap_or(u64::MAX);
            if word.in_flight() != held {
                return Err(format!("{} trials in flight but {held} trial permits held", word.in_flight()));
            }
        }
    }
    Ok(())
}

/// The generation must change exactly when the state does, by one.
fn check_generation(before: Word, after: Word) -> Result<(), String> {
    let expected = if before.state() == after.state() { before.generation() } else { before.next_generation() };
    if after.generation() == expected {
        Ok(())
    } else {
        Err(format!("{before:?} → {after:?}: generation {} instead of {expected}", after.generation()))
    }
}

fn check_acquire(limits: Limits, before: Word, after: Option<Word>, now_ms: u64) -> Result<(), String> {
    let cooled_down = now_ms.saturating_sub(before.opened_at_ms()) >= limits.cool_down_ms();
    match (before.state(), after) {
        (CircuitState::Closed, Some(after)) if after == before => Ok(()),
        (CircuitState::Closed, _) => Err(format!("acquire in Closed gave {after:?}")),
        (CircuitState::Open, None) if !cooled_down => Ok(()),
        (CircuitState::Open, None) => Err("refused in Open after the cool-down".into()),
        (CircuitState::Open, Some(_)) if !cooled_down => {
            Err(format!("granted in Open {} ms after opening, before the cool-down", now_ms - before.opened_at_ms()))
        }
        (CircuitState::Open, Some(after)) => {
            check_generation(before, after)?;
            if after == Word::half_open(before.next_generation(), 0, 1) {
                Ok(())
            } else {
                Err(format!("Open → {after:?}: the first trial must hold the only slot taken"))
            }
        }
        (CircuitState::HalfOpen, None) if before.in_flight() >= limits.half_open_trials => Ok(()),
        (CircuitState::HalfOpen, None) => Err("refused in half-open with a trial slot free".into()),
        (CircuitState::HalfOpen, Some(after)) => {
            if after == Word::half_open(before.generation(), before.successes(), before.in_flight() + 1)
                && before.in_flight() < limits.half_open_trials
            {
                Ok(())
            } else {
                Err(format!("half-open acquire {before:?} → {after:?}"))
            }
        }
    }
}

fn check_report(limits: Limits, before: Word, event: Event, after: Option<Word>, now_ms: u64) -> Result<(), String> {
    let (Event::Success(permit) | Event::Failure(permit) | Event::Release(permit)) = event else {
        return Err(format!("{event:?} is not a report"));
    };
    let after_word = after.unwrap_or(before);
    if permit_generation(permit) != before.generation() {
        return if after_word == before {
            Ok(())
        } else {
            Err(format!("stale {event:?} changed {before:?} to {after_word:?}"))
        };
    }
    check_generation(before, after_word)?;
    let expected = match (before.state(), event) {
        (CircuitState::Closed, Event::Success(_)) => Word::closed(before.generation(), 0),
        (CircuitState::Closed, Event::Failure(_)) if before.failures() + 1 >= limits.failure_threshold => {
            Word::open(before.next_generation(), now_ms)
        }
        (CircuitState::Closed, Event::Failure(_)) => Word::closed(before.generation(), before.failures() + 1),
        (CircuitState::HalfOpen, Event::Success(_)) if before.successes() + 1 >= limits.success_threshold => {
            Word::closed(before.next_generation(), 0)
        }
        (CircuitState::HalfOpen, Event::Success(_)) => {
            Word::half_open(before.generation(), before.successes() + 1, before.in_flight() - 1)
        }
        (CircuitState::HalfOpen, Event::Failure(_)) => Word::open(before.next_generation(), now_ms),
        (CircuitState::HalfOpen, Event::Release(_)) => {
            Word::half_open(before.generation(), before.successes(), before.in_flight() - 1)
        }
        // A release in Closed holds nothing to give back; nothing is ever
        // issued in Open (`check_state` makes sure).
        (CircuitState::Closed | CircuitState::Open, _) | (CircuitState::HalfOpen, Event::Acquire | Event::Reset) => {
            before
        }
    };
    if after_word == expected {
        Ok(())
    } else {
        Err(format!("{event:?} on {before:?} gave {after_word:?}, expected {expected:?}"))
    }
}

fn permit(generation: u64, trial: bool) -> Permit {
    Permit { generation: u16::try_from(generation).unwrap_or(u16::MAX), trial }
}

/// Every starting state under `limits`.
fn starting_states(limits: Limits) -> Vec<ModelState> {
    let mut starts = Vec::new();
    for generation in [5, GENERATION_MASK] {
        let previous = (generation + GENERATION_MASK) & GENERATION_MASK;
        let mut words = Vec::new();
        for failures in 0..limits.failure_threshold {
            words.push(Word::closed(generation, failures));
        }
        words.push(Word::open(generation, START_MS));
        words.push(Word::open(generation, START_MS - COOL_DOWN_MS));
        for successes in 0..limits.success_threshold {
            for in_flight in 0..=limits.half_open_trials {
                words.push(Word::half_open(generation, successes, in_flight));
            }
        }
        for word in words {
            // The trials in flight are held by outside calls.
            let mut outsiders = [None; 3];
            let in_flight = if word.state() == CircuitState::HalfOpen { word.in_flight() } else { 0 };
            for slot in outsiders.iter_mut().take(usize::try_from(in_flight).unwrap_or(0)) {
                *slot = Some(permit(generation, true));
            }
            let start = ModelState { word, now_ms: START_MS, clock_steps: 0, callers: [IDLE; 2], outsiders };
            starts.push(start);
            // And a slow call from before the last state change.
            for trial in [false, true] {
                let mut with_stale = start;
                if let Some(free) = with_stale.outsiders.iter_mut().find(|slot| slot.is_none()) {
                    *free = Some(permit(previous, trial));
                }
                starts.push(with_stale);
            }
        }
    }
    starts
}

/// Explores every starting state under `limits`.
fn explore_all(limits: Limits, transition: Transition) -> Result<Totals, Box<(Violation, ModelState)>> {
    let mut explorer = Explorer::new(limits, transition);
    let mut totals = Totals::default();
    for start in starting_states(limits) {
        let interleavings = explorer.explore(start).map_err(|violation| Box::new((violation, start)))?;
        totals.starting_states += 1;
        totals.interleavings = totals.interleavings.saturating_add(interleavings);
    }
    totals.distinct_states = u64::try_from(explorer.memo.len()).unwrap_or(u64::MAX);
    totals.steps_checked = explorer.steps_checked;
    Ok(totals)
}

fn limits(success_threshold: u32, half_open_trials: u32) -> Limits {
    Limits::clamped(2, success_threshold, half_open_trials, Duration::from_millis(COOL_DOWN_MS))
}

fn all_limits() -> Vec<Limits> {
    vec![limits(2, 1), limits(2, 2), limits(1, 1), limits(1, 2)]
}

fn describe(violation: &Violation, start: &ModelState) -> String {
    let mut text = format!("{}\nfrom {start:?}\n", violation.message);
    for step in &violation.trace {
        let _ = writeln!(text, "  {step:?}");
    }
    text
}

/// The model check itself: see the module documentation for what is
/// enumerated and checked, and why that is complete.
#[test]
fn every_interleaving_of_two_callers_keeps_the_invariants() {
    let mut grand = Totals::default();
    for limits in all_limits() {
        match explore_all(limits, next_word) {
            Ok(totals) => {
                println!("{limits:?}: {totals:?}");
                grand.add(&totals);
            }
            Err(found) => panic!("{limits:?}: {}", describe(&found.0, &found.1)),
        }
    }
    println!("all: {grand:?}");
    // The search really went through the space (guards against an
    // enumerator that silently stops early).
    assert_eq!(grand.starting_states, 186, "{grand:?}");
    assert!(grand.distinct_states > 500_000, "{grand:?}");
    assert!(grand.interleavings > grand.distinct_states, "{grand:?}");
}

/// Runs the enumerator over a broken transition function and returns the
/// violation it must find.
fn violation_found_in(transition: Transition) -> String {
    for limits in all_limits() {
        if let Err(found) = explore_all(limits, transition) {
            return describe(&found.0, &found.1);
        }
    }
    panic!("the enumerator found nothing wrong with a broken transition function");
}

#[test]
fn the_checker_catches_a_breaker_that_ignores_generations() {
    fn forgets_generation(limits: Limits, word: Word, event: Event, now_ms: u64) -> Option<Word> {
        let restamp = |permit: Permit| Permit { generation: Permit::issued_in(word).generation, ..permit };
        let event = match event {
            Event::Success(permit) => Event::Success(restamp(permit)),
            Event::Failure(permit) => Event::Failure(restamp(permit)),
            Event::Release(permit) => Event::Release(restamp(permit)),
            other => other,
        };
        next_word(limits, word, event, now_ms)
    }
    let found = violation_found_in(forgets_generation);
    assert!(found.contains("stale"), "{found}");
}

#[test]
fn the_checker_catches_a_leaked_trial_slot() {
    fn never_releases(limits: Limits, word: Word, event: Event, now_ms: u64) -> Option<Word> {
        if matches!(event, Event::Release(_)) { None } else { next_word(limits, word, event, now_ms) }
    }
    let found = violation_found_in(never_releases);
    assert!(found.contains("trial permits held") || found.contains("expected"), "{found}");
}

#[test]
fn the_checker_catches_a_trial_before_the_cool_down() {
    fn early_by_a_millisecond(limits: Limits, word: Word, event: Event, now_ms: u64) -> Option<Word> {
        let now_ms = if matches!(event, Event::Acquire) { now_ms + 1 } else { now_ms };
        next_word(limits, word, event, now_ms)
    }
    let found = violation_found_in(early_by_a_millisecond);
    assert!(found.contains("before the cool-down"), "{found}");
}

#[test]
fn the_checker_catches_one_trial_too_many() {
    fn admits_an_extra_trial(limits: Limits, word: Word, event: Event, now_ms: u64) -> Option<Word> {
        let generous = Limits { half_open_trials: limits.half_open_trials + 1, ..limits };
        next_word(if matches!(event, Event::Acquire) { generous } else { limits }, word, event, now_ms)
    }
    let found = violation_found_in(admits_an_extra_trial);
    assert!(found.contains("trials in flight, at most") || found.contains("half-open acquire"), "{found}");
}

#[test]
fn the_checker_catches_a_count_of_all_failures_instead_of_consecutive_ones() {
    fn never_forgets(limits: Limits, word: Word, event: Event, now_ms: u64) -> Option<Word> {
        if matches!(event, Event::Success(_)) && word.state() == CircuitState::Closed {
            None
        } else {
            next_word(limits, word, event, now_ms)
        }
    }
    let found = violation_found_in(never_forgets);
    assert!(found.contains("expected"), "{found}");
}
