//! When the stream's events reach the page: at once while they come slower than the screen
//! can show them, otherwise gathered and applied together — a frame ([`FRAME_MS`]) after the
//! last application, [`FLOOD_FRAME_MS`] while they keep coming faster than that, and in any
//! case as soon as the stream goes quiet for [`QUIET_MS`].
//!
//! Why: each applied event runs the effects of what it changed (a ticker row's cells, the
//! badge) in its own task, and each change is a frame to lay out, paint and composite. At
//! 1,000 events/s most of that work was for DOM states no one could read; applied together,
//! a row that moved several times is drawn once. A table of numbers updated 20 times a second
//! reads the same as at 60. Events that come one at a time (50/s is one per 20 ms) are
//! applied the moment they arrive, and the end of a burst is on screen within [`QUIET_MS`], so
//! neither a quiet stream nor the last tick of a flood waits for a batch.
//!
//! A queue is applied by the first of: its timer, or an event that arrives after it is due
//! (so a flood's flushes do not depend on how promptly a busy page runs its timers). One
//! timer runs at a time.
//!
//! [`Pace`] is the rule, pure and tested here; `source` keeps the queue and the timer.

/// The shortest time between two applications: about one frame at 60 Hz.
pub const FRAME_MS: f64 = 16.0;
/// The time between applications while events keep coming faster than [`FRAME_MS`]: 20 Hz.
pub const FLOOD_FRAME_MS: f64 = 50.0;
/// A queue is applied once no event has come for this long: the burst is over.
pub const QUIET_MS: f64 = 8.0;

/// What to do with an event that just arrived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Apply it now (nothing applied within the last frame).
    ApplyNow,
    /// Queue it behind the others; `timer_in`: start the timer for this many ms (`None`: it
    /// is already running).
    Queue { timer_in: Option<f64> },
    /// Queue it, then apply the queue now: it is due.
    FlushNow,
}

/// What the timer should do when it fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Timer {
    /// Apply the queue now.
    Flush,
    /// Not yet: fire again in this many ms.
    Again(f64),
    /// Nothing queued (an arrival applied it).
    Idle,
}

/// The clock of the last application and the queue's times (ms, one clock).
#[derive(Debug, Default)]
pub struct Pace {
    last_applied: Option<f64>,
    /// When the queue must be applied at the latest; `None` while nothing is queued.
    due: Option<f64>,
    last_arrival: f64,
    timer_running: bool,
    /// The last flush applied more than one event: the stream is flooding.
    flooding: bool,
}

impl Pace {
    pub fn arrive(&mut self, now: f64) -> Arrival {
        if let Some(due) = self.due {
            self.last_arrival = now;
            return if now >= due {
                Arrival::FlushNow
            } else {
                Arrival::Queue { timer_in: None }
            };
        }
        match self.last_applied {
            Some(at) if now - at < FRAME_MS && now >= at => {
                let gap = if self.flooding {
                    FLOOD_FRAME_MS
                } else {
                    FRAME_MS
                };
                let due = at + gap;
                self.due = Some(due);
                self.last_arrival = now;
                let timer_in = (!self.timer_running).then(|| (now + QUIET_MS).min(due) - now);
                self.timer_running = true;
                Arrival::Queue { timer_in }
            }
            _ => {
                self.last_applied = Some(now);
                self.flooding = false;
                Arrival::ApplyNow
            }
        }
    }

    /// The timer fired at `now`.
    pub fn timer(&mut self, now: f64) -> Timer {
        self.timer_running = false;
        let Some(due) = self.due else {
            return Timer::Idle;
        };
        if now >= due || now - self.last_arrival >= QUIET_MS {
            return Timer::Flush;
        }
        self.timer_running = true;
        Timer::Again((self.last_arrival + QUIET_MS).min(due) - now)
    }

    /// The queue (`applied` events, at least one) was applied at `now`.
    pub fn flushed(&mut self, now: f64, applied: usize) {
        self.due = None;
        self.last_applied = Some(now);
        self.flooding = applied > 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queued, starting the timer for `ms`.
    fn timer_in(ms: f64) -> Arrival {
        Arrival::Queue { timer_in: Some(ms) }
    }

    /// Queued behind a running timer.
    const BEHIND: Arrival = Arrival::Queue { timer_in: None };

    #[test]
    fn events_a_frame_apart_apply_at_once() {
        let mut pace = Pace::default();
        for i in 0..5 {
            assert_eq!(pace.arrive(i as f64 * 20.0), Arrival::ApplyNow);
        }
    }

    #[test]
    fn a_short_burst_is_applied_once_it_goes_quiet() {
        let mut pace = Pace::default();
        assert_eq!(pace.arrive(100.0), Arrival::ApplyNow);
        assert_eq!(pace.arrive(101.0), timer_in(8.0));
        assert_eq!(pace.arrive(103.0), BEHIND);
        // The timer finds the last arrival 6 ms old: not quiet yet, again in 2 ms.
        assert_eq!(pace.timer(109.0), Timer::Again(2.0));
        assert_eq!(pace.timer(111.0), Timer::Flush);
        pace.flushed(111.0, 2);
        // Quiet: the next event, a frame later, at once.
        assert_eq!(pace.arrive(130.0), Arrival::ApplyNow);
    }

    #[test]
    fn a_flood_is_applied_twenty_times_a_second() {
        let mut pace = Pace::default();
        assert_eq!(pace.arrive(0.0), Arrival::ApplyNow);
        let mut t = 1.0;
        let mut flushes = Vec::new();
        let mut timer_at = None;
        // An event every millisecond for a second; the timer fires when asked.
        while t < 1_000.0 {
            if timer_at.is_some_and(|at| at <= t) {
                timer_at = None;
                match pace.timer(t) {
                    Timer::Flush => {
                        flushes.push(t);
                        pace.flushed(t, 2);
                    }
                    Timer::Again(ms) => timer_at = Some(t + ms),
                    Timer::Idle => {}
                }
            }
            match pace.arrive(t) {
                Arrival::ApplyNow => flushes.push(t),
                Arrival::FlushNow => {
                    flushes.push(t);
                    pace.flushed(t, 2);
                }
                Arrival::Queue { timer_in: Some(ms) } => timer_at = Some(t + ms),
                Arrival::Queue { timer_in: None } => {}
            }
            t += 1.0;
        }
        // The first flush a frame in, then one per 50 ms.
        assert_eq!(flushes[..3], [16.0, 66.0, 116.0]);
        assert!((19..=21).contains(&flushes.len()), "{flushes:?}");
    }

    #[test]
    fn the_end_of_a_flood_waits_only_for_quiet() {
        let mut pace = Pace::default();
        assert_eq!(pace.arrive(0.0), Arrival::ApplyNow);
        assert_eq!(pace.arrive(1.0), timer_in(8.0));
        assert_eq!(pace.arrive(5.0), BEHIND);
        assert_eq!(pace.timer(9.0), Timer::Again(4.0));
        assert_eq!(pace.timer(13.0), Timer::Flush);
        pace.flushed(13.0, 2);
        // Flooding: due 50 ms after that flush, but the stream stops at 20.
        assert_eq!(pace.arrive(20.0), timer_in(8.0));
        assert_eq!(pace.timer(28.0), Timer::Flush);
    }

    #[test]
    fn a_late_timer_is_overtaken_by_the_next_arrival() {
        let mut pace = Pace::default();
        assert_eq!(pace.arrive(0.0), Arrival::ApplyNow);
        assert_eq!(pace.arrive(5.0), timer_in(8.0));
        assert_eq!(pace.arrive(12.0), BEHIND);
        assert_eq!(pace.arrive(16.0), Arrival::FlushNow);
        pace.flushed(16.0, 3);
        // The old timer finds nothing queued; the next queue starts its own.
        assert_eq!(pace.timer(17.0), Timer::Idle);
        assert_eq!(pace.arrive(18.0), timer_in(8.0));
    }

    #[test]
    fn a_clock_that_goes_back_never_holds_events() {
        let mut pace = Pace::default();
        assert_eq!(pace.arrive(1_000.0), Arrival::ApplyNow);
        assert_eq!(pace.arrive(10.0), Arrival::ApplyNow);
    }
}
