//! The ticker's row lights: a tick lights its row for a moment.
//!
//! Why not a timer per light: turning each light off on its own timer makes a second style
//! change, so a second frame, for every tick — half of what an idle `/stocks` tab spent on the
//! flash. Here a light goes out at the first tick at least [`LIT_MS`] after it came on, in the
//! same frame as that tick's own light, so the ticker costs one frame per tick. One timer puts
//! out what is left when ticks stop, set late enough ([`LAST_OUT_MS`]) that while ticks flow it
//! finds nothing to do.
//!
//! [`LitRows`] is the rule, pure and tested; [`Lights`] applies it to the rows' signals.

use std::time::Duration;

use leptos::prelude::*;

use crate::event::stocks::Move;

/// The shortest time a row stays lit.
pub const LIT_MS: f64 = 450.0;
/// The longest: when ticks stop, the last lights go out this long after they came on.
pub const LAST_OUT_MS: f64 = 2.0 * LIT_MS;

/// Which rows are lit and since when (milliseconds on one clock), oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct LitRows<K> {
    on: Vec<(K, f64)>,
}

impl<K> Default for LitRows<K> {
    fn default() -> Self {
        LitRows { on: Vec::new() }
    }
}

impl<K: PartialEq + Copy> LitRows<K> {
    /// Lights `row` at `now`; returns the rows to turn off now (lit `LIT_MS` or longer ago).
    /// A row lit again stays lit and counts from now.
    pub fn light(&mut self, row: K, now: f64) -> Vec<K> {
        let off = self.expire(now, LIT_MS);
        self.on.retain(|(k, _)| *k != row);
        self.on.push((row, now));
        off.into_iter().filter(|k| *k != row).collect()
    }

    /// The rows to turn off when no tick has come for a while: those lit `LAST_OUT_MS` or
    /// longer ago.
    pub fn last_out(&mut self, now: f64) -> Vec<K> {
        self.expire(now, LAST_OUT_MS)
    }

    /// When the timer for [`Self::last_out`] should fire next, if anything is lit.
    pub fn next_last_out(&self) -> Option<f64> {
        self.on.first().map(|(_, at)| at + LAST_OUT_MS)
    }

    fn expire(&mut self, now: f64, after: f64) -> Vec<K> {
        let (off, on): (Vec<_>, Vec<_>) = self.on.drain(..).partition(|(_, at)| now - at >= after);
        self.on = on;
        off.into_iter().map(|(k, _)| k).collect()
    }
}

/// The lights of one ticker, shared by its rows through context.
#[derive(Clone, Copy)]
pub struct Lights {
    rows: StoredValue<LitRows<RwSignal<Option<Move>>>>,
    timer: StoredValue<Option<TimeoutHandle>>,
}

impl Default for Lights {
    fn default() -> Self {
        Lights {
            rows: StoredValue::new(LitRows::default()),
            timer: StoredValue::new(None),
        }
    }
}

impl Lights {
    /// Lights a row for `how` it moved, and puts out the lights that have been on long enough.
    pub fn light(self, row: RwSignal<Option<Move>>, how: Move) {
        let now = now_ms();
        let off = self.rows.try_update_value(|r| r.light(row, now));
        for row in off.into_iter().flatten() {
            row.try_set(None);
        }
        row.set(Some(how));
        self.arm(now);
    }

    /// Sets the one timer for the last lights, unless it is already set.
    fn arm(self, now: f64) {
        if self.timer.try_with_value(Option::is_some) != Some(false) {
            return; // set already, or the ticker is gone
        }
        let Some(at) = self.rows.try_with_value(LitRows::next_last_out).flatten() else {
            return;
        };
        let wait = Duration::from_millis((at - now).max(0.0) as u64);
        let handle = set_timeout_with_handle(
            move || {
                if self.timer.try_update_value(|t| *t = None).is_none() {
                    return; // the ticker is gone
                }
                let now = now_ms();
                let off = self.rows.try_update_value(|r| r.last_out(now));
                for row in off.into_iter().flatten() {
                    row.try_set(None);
                }
                self.arm(now);
            },
            wait,
        );
        self.timer.try_update_value(|t| *t = handle.ok());
    }
}

/// Milliseconds by the browser's clock ([`super::local_time::now_ms`]; lights never come on
/// on the server).
fn now_ms() -> f64 {
    super::local_time::now_ms().unwrap_or(0) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_light_goes_out_at_the_first_tick_after_it_has_been_on_long_enough() {
        let mut lit = LitRows::default();
        assert!(lit.light('a', 0.0).is_empty());
        assert!(lit.light('b', 100.0).is_empty(), "a has been on 100 ms");
        assert_eq!(lit.light('c', 460.0), vec!['a'], "a: 460 ms, b: 360 ms");
        assert_eq!(lit.light('d', 600.0), vec!['b']);
        assert_eq!(lit.next_last_out(), Some(460.0 + LAST_OUT_MS));
    }

    #[test]
    fn a_row_lit_again_stays_lit_and_counts_from_the_new_tick() {
        let mut lit = LitRows::default();
        lit.light('a', 0.0);
        assert!(
            lit.light('a', 500.0).is_empty(),
            "a is not turned off by its own tick"
        );
        assert!(
            lit.light('b', 800.0).is_empty(),
            "a has been on 300 ms since its last tick"
        );
        assert_eq!(lit.light('c', 950.0), vec!['a']);
    }

    #[test]
    fn when_ticks_stop_the_timer_puts_out_every_light_by_its_deadline() {
        let mut lit = LitRows::default();
        lit.light('a', 0.0);
        lit.light('b', 300.0);
        assert_eq!(lit.next_last_out(), Some(LAST_OUT_MS));
        assert!(lit.last_out(LAST_OUT_MS - 1.0).is_empty());
        assert_eq!(lit.last_out(LAST_OUT_MS), vec!['a']);
        assert_eq!(lit.next_last_out(), Some(300.0 + LAST_OUT_MS));
        assert_eq!(lit.last_out(300.0 + LAST_OUT_MS), vec!['b']);
        assert_eq!(lit.next_last_out(), None, "nothing lit, no timer");
    }
}
