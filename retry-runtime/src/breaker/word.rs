//! The breaker's whole state packed into one `u64`, and the pure function
//! that computes every transition from it.
//!
//! Keeping the state in one word means every transition is one
//! compare-and-swap of a value computed by [`next_word`] from the value it
//! replaces: operations are linearizable, and the state machine can be tested
//! (and model-checked) without threads.
//!
//! Layout, most significant bit first:
//!
//! ```text
//!  63  62 61         48 47                      24 23                       0
//! ┌──────┬─────────────┬──────────────────────────────────────────────────────┐
//! │state │ generation  │ Closed:    consecutive failures                      │
//! │2 bits│ 14 bits,    │ Open:      opened at, ms since the clock origin      │
//! │      │ wrapping    │ Half-open: successes (24 bits) │ in flight (24 bits) │
//! └──────┴─────────────┴──────────────────────────────────────────────────────┘
//! ```

use std::time::Duration;

use super::CircuitState;

const STATE_SHIFT: u32 = 62;
const CLOSED: u64 = 0;
const OPEN: u64 = 1;
const HALF_OPEN: u64 = 2;

const GENERATION_SHIFT: u32 = 48;
/// Generations count state changes modulo 2¹⁴.
pub(super) const GENERATION_MASK: u64 = (1 << 14) - 1;

/// The low 48 bits: failures in Closed, the opening time in Open.
pub(super) const PAYLOAD_MAX: u64 = (1 << 48) - 1;

/// Half-open splits the payload in two 24-bit counters.
const SUCCESSES_SHIFT: u32 = 24;
/// The largest value of either half-open counter: the limit of
/// `success_threshold` and `half_open_trials`.
pub(super) const HALF_OPEN_COUNT_MAX: u64 = (1 << 24) - 1;

/// The packed state. Only the constructors below make one, and each clamps
/// its fields to their widths, so a field never spills into its neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Word(u64);

impl Word {
    /// Closed, counting `failures` consecutive transient failures.
    pub(super) const fn closed(generation: u64, failures: u64) -> Word {
        Word::pack(CLOSED, generation, min(failures, PAYLOAD_MAX))
    }

    /// Open since `opened_at_ms` (clamped to 48 bits: 8,900 years).
    pub(super) const fn open(generation: u64, opened_at_ms: u64) -> Word {
        Word::pack(OPEN, generation, min(opened_at_ms, PAYLOAD_MAX))
    }

    /// Half-open, with `successes` trials succeeded so far and `in_flight`
    /// trials admitted and not yet reported.
    pub(super) const fn half_open(generation: u64, successes: u64, in_flight: u64) -> Word {
        let payload = (min(successes, HALF_OPEN_COUNT_MAX) << SUCCESSES_SHIFT) | min(in_flight, HALF_OPEN_COUNT_MAX);
        Word::pack(HALF_OPEN, generation, payload)
    }

    const fn pack(state: u64, generation: u64, payload: u64) -> Word {
        Word((state << STATE_SHIFT) | ((generation & GENERATION_MASK) << GENERATION_SHIFT) | payload)
    }

    /// The word as stored in the atomic.
    pub(super) const fn bits(self) -> u64 {
        self.0
    }

    /// A word read back from the atomic, which only ever holds words made by
    /// the constructors above.
    pub(super) const fn from_bits(bits: u64) -> Word {
        Word(bits)
    }

    pub(super) const fn state(self) -> CircuitState {
        match self.0 >> STATE_SHIFT {
            CLOSED => CircuitState::Closed,
            OPEN => CircuitState::Open,
            // 3 is never stored (see `from_bits`).
            _ => CircuitState::HalfOpen,
        }
    }

    pub(super) const fn generation(self) -> u64 {
        (self.0 >> GENERATION_SHIFT) & GENERATION_MASK
    }

    /// The generation after this one, wrapping.
    pub(super) const fn next_generation(self) -> u64 {
        (self.generation() + 1) & GENERATION_MASK
    }

    const fn payload(self) -> u64 {
        self.0 & PAYLOAD_MAX
    }

    /// Consecutive failures (meaningful in Closed).
    pub(super) const fn failures(self) -> u64 {
        self.payload()
    }

    /// When it opened, in ms since the clock origin (meaningful in Open).
    pub(super) const fn opened_at_ms(self) -> u64 {
        self.payload()
    }

    /// Trials succeeded so far (meaningful in half-open).
    pub(super) const fn successes(self) -> u64 {
        self.payload() >> SUCCESSES_SHIFT
    }

    /// Trials admitted and not yet reported (meaningful in half-open).
    pub(super) const fn in_flight(self) -> u64 {
        self.payload() & HALF_OPEN_COUNT_MAX
    }

    /// Whether `permit` was issued in this word's generation and state, so
    /// that its outcome still counts. A permit from an older generation
    /// (the call started before the last state change) is stale. Checking the
    /// state and, in half-open, a trial in flight too means that even a permit
    /// whose generation matches after a wrap-around (2¹⁴ state changes during
    /// one call) rarely counts, and can never make a counter underflow.
    pub(super) const fn issued(self, permit: Permit) -> bool {
        if permit.generation as u64 != self.generation() {
            return false;
        }
        match self.state() {
            CircuitState::Closed => !permit.trial,
            CircuitState::Open => false,
            CircuitState::HalfOpen => permit.trial && self.in_flight() > 0,
        }
    }
}

/// The right to make one call, and to report its outcome: the generation it
/// was issued in, and whether it is a half-open trial (holding one of the
/// `half_open_trials` slots, which must be given back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Permit {
    pub(super) generation: u16,
    pub(super) trial: bool,
}

impl Permit {
    /// The permit an `Acquire` that produced `word` grants.
    #[allow(clippy::cast_possible_truncation, reason = "a generation has 14 bits")]
    pub(super) const fn issued_in(word: Word) -> Permit {
        Permit { generation: word.generation() as u16, trial: matches!(word.state(), CircuitState::HalfOpen) }
    }

    /// Whether this permit is a half-open trial.
    pub(crate) const fn is_trial(self) -> bool {
        self.trial
    }
}

/// What happens to the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Event {
    /// A call asks to go ahead.
    Acquire,
    /// The call holding the permit got an answer: a success, or an error the
    /// classifier did not call transient.
    Success(Permit),
    /// The call holding the permit failed transiently.
    Failure(Permit),
    /// The call holding the permit ended without an outcome (cancelled).
    Release(Permit),
    /// Back to Closed, whatever the state.
    Reset,
}

/// The thresholds as [`next_word`] applies them: clamped into the ranges
/// the word can represent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Limits {
    /// At least 1.
    pub(super) failure_threshold: u64,
    /// From 1 to [`HALF_OPEN_COUNT_MAX`].
    pub(super) success_threshold: u64,
    /// From 1 to [`HALF_OPEN_COUNT_MAX`].
    pub(super) half_open_trials: u64,
    pub(super) cool_down: Duration,
}

impl Limits {
    pub(super) const fn clamped(
        failure_threshold: u32,
        success_threshold: u32,
        half_open_trials: u32,
        cool_down: Duration,
    ) -> Limits {
        Limits {
            failure_threshold: max(failure_threshold as u64, 1),
            success_threshold: clamp_count(success_threshold),
            half_open_trials: clamp_count(half_open_trials),
            cool_down,
        }
    }

    /// The cool-down in whole milliseconds, rounded up so that a sub-
    /// millisecond cool-down is not zero; saturating.
    pub(super) fn cool_down_ms(self) -> u64 {
        u64::try_from(self.cool_down.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }
}

/// The word after `event` happens to `word` at `now_ms` (ms since the clock
/// origin), or `None`.
///
/// For [`Event::Acquire`], `None` means the call is refused, and `Some` that
/// it may go ahead with [`Permit::issued_in`] the new word (which in Closed is
/// `word` itself: nothing to write). For the other events, `None` means there
/// is nothing to write: the permit is stale, or the event changes nothing (a
/// success in Closed with no failures to forget).
///
/// Pure: no clock, no atomics, so that every transition can be tested alone,
/// and so that the compare-and-swap loop that applies it is linearizable.
pub(super) fn next_word(limits: Limits, word: Word, event: Event, now_ms: u64) -> Option<Word> {
    let generation = word.generation();
    match event {
        Event::Acquire => match word.state() {
            CircuitState::Closed => Some(word),
            // The caller that sees the cool-down over moves the breaker to
            // half-open, holding its first trial slot.
            CircuitState::Open => {
                if now_ms.saturating_sub(word.opened_at_ms()) >= limits.cool_down_ms() {
                    Some(Word::half_open(word.next_generation(), 0, 1))
                } else {
                    None
                }
            }
            CircuitState::HalfOpen => {
                if word.in_flight() < limits.half_open_trials {
                    Some(Word::half_open(generation, word.successes(), word.in_flight().saturating_add(1)))
                } else {
                    None
                }
            }
        },
        Event::Success(permit) | Event::Failure(permit) | Event::Release(permit) if !word.issued(permit) => None,
        Event::Success(_) => match word.state() {
            // The common case, a success with nothing to forget, writes nothing.
            CircuitState::Closed if word.failures() == 0 => None,
            CircuitState::Closed => Some(Word::closed(generation, 0)),
            CircuitState::HalfOpen if word.successes().saturating_add(1) >= limits.success_threshold => {
                Some(Word::closed(word.next_generation(), 0))
            }
            // `issued` saw a trial in flight, so the subtraction never saturates.
            CircuitState::HalfOpen => Some(Word::half_open(
                generation,
                word.successes().saturating_add(1),
                word.in_flight().saturating_sub(1),
            )),
            // Unreachable: no permit is issued in Open.
            CircuitState::Open => None,
        },
        Event::Failure(_) => match word.state() {
            CircuitState::Closed if word.failures().saturating_add(1) >= limits.failure_threshold => {
                Some(Word::open(word.next_generation(), now_ms))
            }
            CircuitState::Closed => Some(Word::closed(generation, word.failures().saturating_add(1))),
            CircuitState::HalfOpen => Some(Word::open(word.next_generation(), now_ms)),
            CircuitState::Open => None,
        },
        Event::Release(_) => match word.state() {
            // Only a trial holds something to give back.
            CircuitState::HalfOpen => {
                Some(Word::half_open(generation, word.successes(), word.in_flight().saturating_sub(1)))
            }
            CircuitState::Closed | CircuitState::Open => None,
        },
        Event::Reset => Some(Word::closed(word.next_generation(), 0)),
    }
}

/// Milliseconds since the clock origin, saturating.
pub(super) fn millis(since_origin: Duration) -> u64 {
    u64::try_from(since_origin.as_millis()).unwrap_or(u64::MAX)
}

const fn min(a: u64, b: u64) -> u64 {
    if a < b { a } else { b }
}

const fn max(a: u64, b: u64) -> u64 {
    if a > b { a } else { b }
}

const fn clamp_count(count: u32) -> u64 {
    min(max(count as u64, 1), HALF_OPEN_COUNT_MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::{Event, GENERATION_MASK, HALF_OPEN_COUNT_MAX, Limits, PAYLOAD_MAX, Permit, Word, millis, next_word};
    use crate::breaker::CircuitState;

    /// Failure threshold 3, success threshold 2, 2 trials, 100 ms cool-down.
    const LIMITS: Limits = Limits::clamped(3, 2, 2, Duration::from_millis(100));
    const GENERATION: u64 = 7;
    const NOW: u64 = 50_000;

    fn permit(generation: u64, trial: bool) -> Permit {
        Permit { generation: u16::try_from(generation).unwrap_or(u16::MAX), trial }
    }

    fn current(word: Word) -> Permit {
        Permit::issued_in(word)
    }

    fn step(word: Word, event: Event) -> Option<Word> {
        next_word(LIMITS, word, event, NOW)
    }

    #[test]
    fn fields_read_back_what_was_packed() {
        let closed = Word::closed(GENERATION, 2);
        assert_eq!((closed.state(), closed.generation(), closed.failures()), (CircuitState::Closed, GENERATION, 2));
        let open = Word::open(GENERATION, NOW);
        assert_eq!((open.state(), open.generation(), open.opened_at_ms()), (CircuitState::Open, GENERATION, NOW));
        let half_open = Word::half_open(GENERATION, 3, 4);
        assert_eq!(
            (half_open.state(), half_open.generation(), half_open.successes(), half_open.in_flight()),
            (CircuitState::HalfOpen, GENERATION, 3, 4)
        );
        assert_eq!(Word::from_bits(half_open.bits()), half_open);
        // The initial word is all zeros, so that `new` is trivially const.
        assert_eq!(Word::closed(0, 0).bits(), 0);
    }

    #[test]
    fn fields_saturate_at_their_width_without_spilling() {
        let closed = Word::closed(GENERATION, u64::MAX);
        assert_eq!(
            (closed.state(), closed.generation(), closed.failures()),
            (CircuitState::Closed, GENERATION, PAYLOAD_MAX)
        );
        let open = Word::open(GENERATION, u64::MAX);
        assert_eq!(
            (open.state(), open.generation(), open.opened_at_ms()),
            (CircuitState::Open, GENERATION, PAYLOAD_MAX)
        );
        let half_open = Word::half_open(GENERATION, u64::MAX, u64::MAX);
        assert_eq!(
            (half_open.state(), half_open.generation(), half_open.successes(), half_open.in_flight()),
            (CircuitState::HalfOpen, GENERATION, HALF_OPEN_COUNT_MAX, HALF_OPEN_COUNT_MAX)
        );
        let counts_only = Word::half_open(GENERATION, HALF_OPEN_COUNT_MAX + 1, 0);
        assert_eq!((counts_only.successes(), counts_only.in_flight()), (HALF_OPEN_COUNT_MAX, 0));
        // The generation wraps rather than saturating: it only tells generations apart.
        assert_eq!(Word::closed(GENERATION_MASK + 1 + GENERATION, 0).generation(), GENERATION);
        assert_eq!(Word::closed(GENERATION_MASK + 1 + GENERATION, 0).state(), CircuitState::Closed);
    }

    #[test]
    fn limits_clamp_into_what_the_word_can_count() {
        let zeros = Limits::clamped(0, 0, 0, Duration::ZERO);
        assert_eq!((zeros.failure_threshold, zeros.success_threshold, zeros.half_open_trials), (1, 1, 1));
        let huge = Limits::clamped(u32::MAX, u32::MAX, u32::MAX, Duration::MAX);
        assert_eq!(huge.failure_threshold, u64::from(u32::MAX));
        assert_eq!((huge.success_threshold, huge.half_open_trials), (HALF_OPEN_COUNT_MAX, HALF_OPEN_COUNT_MAX));
        assert_eq!(huge.cool_down_ms(), u64::MAX);
        // Rounded up: a sub-millisecond cool-down is not zero.
        assert_eq!(Limits::clamped(1, 1, 1, Duration::from_nanos(1)).cool_down_ms(), 1);
        assert_eq!(Limits::clamped(1, 1, 1, Duration::from_micros(1500)).cool_down_ms(), 2);
        assert_eq!(LIMITS.cool_down_ms(), 100);
    }

    #[test]
    fn closed_admits_every_call_without_writing() {
        for failures in 0..3 {
            let word = Word::closed(GENERATION, failures);
            assert_eq!(step(word, Event::Acquire), Some(word));
            assert_eq!(current(word), permit(GENERATION, false));
        }
    }

    #[test]
    fn closed_counts_consecutive_failures_and_opens_at_the_threshold() {
        let word = Word::closed(GENERATION, 0);
        let once = step(word, Event::Failure(current(word))).unwrap();
        assert_eq!(once, Word::closed(GENERATION, 1));
        let twice = step(once, Event::Failure(current(once))).unwrap();
        assert_eq!(twice, Word::closed(GENERATION, 2));
        let opened = step(twice, Event::Failure(current(twice))).unwrap();
        assert_eq!(opened, Word::open(GENERATION + 1, NOW));
    }

    #[test]
    fn closed_success_forgets_failures_and_writes_nothing_when_there_are_none() {
        let word = Word::closed(GENERATION, 2);
        assert_eq!(step(word, Event::Success(current(word))), Some(Word::closed(GENERATION, 0)));
        let clean = Word::closed(GENERATION, 0);
        assert_eq!(step(clean, Event::Success(current(clean))), None);
        // A cancelled call in Closed holds no slot.
        assert_eq!(step(word, Event::Release(current(word))), None);
    }

    #[test]
    fn open_refuses_until_the_cool_down_is_over_to_the_millisecond() {
        let opened_at = NOW - 100;
        let word = Word::open(GENERATION, opened_at);
        let at = |now_ms| next_word(LIMITS, word, Event::Acquire, now_ms);
        assert_eq!(at(opened_at), None);
        assert_eq!(at(opened_at + 99), None);
        let trial = at(opened_at + 100).unwrap();
        assert_eq!(trial, Word::half_open(GENERATION + 1, 0, 1));
        assert_eq!(current(trial), permit(GENERATION + 1, true));
        assert_eq!(at(opened_at + 1_000_000), Some(trial));
        // A caller whose clock reads earlier than the opening (another thread's
        // clock ran ahead) sees no time elapsed.
        assert_eq!(at(opened_at - 1), None);
        assert_eq!(at(0), None);
    }

    #[test]
    fn open_with_zero_or_endless_cool_down() {
        let word = Word::open(GENERATION, NOW);
        let zero = Limits { cool_down: Duration::ZERO, ..LIMITS };
        assert_eq!(next_word(zero, word, Event::Acquire, NOW), Some(Word::half_open(GENERATION + 1, 0, 1)));
        let endless = Limits { cool_down: Duration::MAX, ..LIMITS };
        assert_eq!(next_word(endless, word, Event::Acquire, u64::MAX), None);
    }

    #[test]
    fn half_open_admits_at_most_the_configured_trials() {
        let word = Word::half_open(GENERATION, 0, 1);
        let second = step(word, Event::Acquire).unwrap();
        assert_eq!(second, Word::half_open(GENERATION, 0, 2));
        assert_eq!(step(second, Event::Acquire), None);
        // Admitting never resets the successes.
        assert_eq!(step(Word::half_open(GENERATION, 1, 1), Event::Acquire), Some(Word::half_open(GENERATION, 1, 2)));
    }

    #[test]
    fn half_open_trial_success_frees_its_slot_and_closes_at_the_threshold() {
        let word = Word::half_open(GENERATION, 0, 2);
        let one = step(word, Event::Success(current(word))).unwrap();
        assert_eq!(one, Word::half_open(GENERATION, 1, 1));
        let closed = step(one, Event::Success(current(one))).unwrap();
        assert_eq!(closed, Word::closed(GENERATION + 1, 0));
    }

    #[test]
    fn half_open_trial_failure_opens_again_from_now() {
        let word = Word::half_open(GENERATION, 1, 2);
        assert_eq!(step(word, Event::Failure(current(word))), Some(Word::open(GENERATION + 1, NOW)));
    }

    #[test]
    fn half_open_release_frees_the_slot_and_counts_nothing() {
        let word = Word::half_open(GENERATION, 1, 2);
        assert_eq!(step(word, Event::Release(current(word))), Some(Word::half_open(GENERATION, 1, 1)));
    }

    #[test]
    fn stale_permits_are_ignored_in_every_state() {
        let words = [
            Word::closed(GENERATION, 0),
            Word::closed(GENERATION, 2),
            Word::open(GENERATION, NOW),
            Word::half_open(GENERATION, 0, 1),
            Word::half_open(GENERATION, 1, 2),
        ];
        for word in words {
            for stale in [permit(GENERATION - 1, false), permit(GENERATION - 1, true), permit(GENERATION + 1, true)] {
                for event in [Event::Success(stale), Event::Failure(stale), Event::Release(stale)] {
                    assert_eq!(step(word, event), None, "{event:?} on {word:?}");
                }
            }
        }
    }

    #[test]
    fn a_permit_of_the_wrong_kind_is_ignored_even_with_the_right_generation() {
        // Only possible after the generation wrapped around during one call.
        let closed = Word::closed(GENERATION, 1);
        let half_open = Word::half_open(GENERATION, 1, 1);
        let open = Word::open(GENERATION, NOW);
        let trial = permit(GENERATION, true);
        let ordinary = permit(GENERATION, false);
        for event in [Event::Success(trial), Event::Failure(trial), Event::Release(trial)] {
            assert_eq!(step(closed, event), None);
            assert_eq!(step(open, event), None);
        }
        for event in [Event::Success(ordinary), Event::Failure(ordinary), Event::Release(ordinary)] {
            assert_eq!(step(half_open, event), None);
        }
        // A trial with no slot in flight cannot take a slot back (no underflow).
        let idle = Word::half_open(GENERATION, 1, 0);
        for event in [Event::Success(trial), Event::Failure(trial), Event::Release(trial)] {
            assert_eq!(step(idle, event), None);
        }
    }

    #[test]
    fn reset_closes_from_every_state_in_a_new_generation() {
        for word in [Word::closed(GENERATION, 2), Word::open(GENERATION, NOW), Word::half_open(GENERATION, 1, 2)] {
            let reset = step(word, Event::Reset).unwrap();
            assert_eq!(reset, Word::closed(GENERATION + 1, 0));
            // Calls admitted before the reset no longer count.
            assert_eq!(step(reset, Event::Failure(permit(GENERATION, word.state() == CircuitState::HalfOpen))), None);
        }
    }

    #[test]
    fn the_generation_wraps_and_still_tells_the_last_one_apart() {
        let last = GENERATION_MASK;
        let word = Word::closed(last, 2);
        let before = current(word);
        let opened = step(word, Event::Failure(before)).unwrap();
        assert_eq!((opened.state(), opened.generation()), (CircuitState::Open, 0));
        let trial_word = next_word(LIMITS, opened, Event::Acquire, NOW + 100).unwrap();
        assert_eq!(trial_word.generation(), 1);
        assert_eq!(step(trial_word, Event::Success(before)), None);
        let trial = current(trial_word);
        assert_eq!(step(trial_word, Event::Success(trial)), Some(Word::half_open(1, 1, 0)));
    }

    #[test]
    fn counters_never_pass_their_width() {
        // The largest failure threshold still fits the failure count.
        let widest = Limits::clamped(u32::MAX, u32::MAX, u32::MAX, Duration::ZERO);
        let almost = Word::closed(GENERATION, u64::from(u32::MAX) - 2);
        let once = next_word(widest, almost, Event::Failure(current(almost)), NOW).unwrap();
        assert_eq!(once.failures(), u64::from(u32::MAX) - 1);
        let opened = next_word(widest, once, Event::Failure(current(once)), NOW).unwrap();
        assert_eq!(opened.state(), CircuitState::Open);
        // All trial slots taken at the maximum: refused, not wrapped.
        let full = Word::half_open(GENERATION, HALF_OPEN_COUNT_MAX - 1, HALF_OPEN_COUNT_MAX);
        assert_eq!(next_word(widest, full, Event::Acquire, NOW), None);
        // The last success needed closes rather than overflowing the count.
        let closed = next_word(widest, full, Event::Success(current(full)), NOW).unwrap();
        assert_eq!(closed, Word::closed(GENERATION + 1, 0));
        // An opening time past 48 bits of milliseconds saturates.
        let late =
            next_word(LIMITS, Word::half_open(GENERATION, 0, 1), Event::Failure(permit(GENERATION, true)), u64::MAX);
        assert_eq!(late, Some(Word::open(GENERATION + 1, PAYLOAD_MAX)));
    }

    #[test]
    fn millis_truncates_and_saturates() {
        assert_eq!(millis(Duration::from_micros(1999)), 1);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }
}
