//! When the stream's events reach the page: at once while they come slower than the screen
//! can show them, otherwise gathered and applied together once per [`FRAME_MS`] — and once
//! per [`BUSY_FRAME_MS`] while they keep coming faster than that.
//!
//! Why: each applied event runs the effects of what it changed (a ticker row's cells, the
//! badge) in its own task. At 1,000 events/s most of that work is for DOM states no frame
//! ever shows; applied together, a row that moved twice in a frame is drawn once and the
//! badge once per frame. Events that come one at a time (50/s is one per 20 ms) are applied
//! the moment they arrive, so a quiet stream is as quick to the screen as before.
//!
//! Under a sustained flood (the last flush applied several events and more came within a
//! frame) the page is updated 30 times a second rather than 60: each update is a frame to lay
//! out, paint and composite, and a table of numbers changing 30 times a second reads the same.
//! At 1,000 events/s that frame work was most of what the tab spent (`cargo make bench`,
//! browser scenario).
//!
//! [`Pace`] is the rule, pure and tested here; `source` keeps the queue and the timer.

/// The shortest time between two applications: about one frame at 60 Hz.
pub const FRAME_MS: f64 = 16.0;
/// The time between flushes while events keep coming faster than [`FRAME_MS`]: 30 Hz.
pub const BUSY_FRAME_MS: f64 = 33.0;

/// What to do with an event that just arrived.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Apply it now (nothing applied within the last frame).
    ApplyNow,
    /// Queue it behind the others; `flush_in`: start a timer for this many ms (`None`: one
    /// is already running).
    Queue { flush_in: Option<f64> },
}

/// The clock of the last application and whether a flush is due (times in ms, one clock).
#[derive(Debug, Default)]
pub struct Pace {
    last_applied: Option<f64>,
    queued: bool,
    /// The last flush applied more than one event: the stream is flooding.
    flooding: bool,
}

impl Pace {
    pub fn arrive(&mut self, now: f64) -> Arrival {
        if self.queued {
            return Arrival::Queue { flush_in: None };
        }
        match self.last_applied {
            Some(at) if now - at < FRAME_MS && now >= at => {
                self.queued = true;
                let gap = if self.flooding {
                    BUSY_FRAME_MS
                } else {
                    FRAME_MS
                };
                Arrival::Queue {
                    flush_in: Some(at + gap - now),
                }
            }
            _ => {
                self.last_applied = Some(now);
                self.flooding = false;
                Arrival::ApplyNow
            }
        }
    }

    /// The queue (`applied` events) was applied at `now`.
    pub fn flushed(&mut self, now: f64, applied: usize) {
        self.queued = false;
        self.last_applied = Some(now);
        self.flooding = applied > 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_a_frame_apart_apply_at_once() {
        let mut pace = Pace::default();
        for i in 0..5 {
            assert_eq!(pace.arrive(i as f64 * 20.0), Arrival::ApplyNow);
        }
    }

    #[test]
    fn a_burst_waits_for_one_flush_a_frame_after_the_last_application() {
        let mut pace = Pace::default();
        assert_eq!(pace.arrive(100.0), Arrival::ApplyNow);
        assert_eq!(
            pace.arrive(101.0),
            Arrival::Queue {
                flush_in: Some(15.0)
            }
        );
        for t in [102.0, 105.0, 115.0] {
            assert_eq!(pace.arrive(t), Arrival::Queue { flush_in: None });
        }
        pace.flushed(116.0, 4);
        // Still coming fast after a flush of several: the next flush is two frames on.
        assert_eq!(
            pace.arrive(120.0),
            Arrival::Queue {
                flush_in: Some(29.0)
            }
        );
        pace.flushed(149.0, 1);
        // One event in that flush: back to one frame.
        assert_eq!(
            pace.arrive(150.0),
            Arrival::Queue {
                flush_in: Some(15.0)
            }
        );
        pace.flushed(165.0, 1);
        // Quiet again: at once.
        assert_eq!(pace.arrive(190.0), Arrival::ApplyNow);
    }

    #[test]
    fn a_clock_that_goes_back_never_holds_events() {
        let mut pace = Pace::default();
        assert_eq!(pace.arrive(1_000.0), Arrival::ApplyNow);
        assert_eq!(pace.arrive(10.0), Arrival::ApplyNow);
    }
}
