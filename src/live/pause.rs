//! Pause and resume per view: the stream keeps running and the store keeps advancing its id
//! (so a reconnect still resumes exactly), but events for a paused view are held, in order,
//! and applied when it resumes — the view picks up where it paused, nothing skipped.
//!
//! Held events are bounded ([`MAX_HELD`] per view): past that the view stops holding and, on
//! resume, the page reloads for a fresh snapshot instead of replaying an unbounded backlog.

use leptos::prelude::*;

use crate::event::{BuiltIn, EventId};

/// Events held per paused view before it gives up holding (and resuming reloads the page).
pub const MAX_HELD: usize = 10_000;

/// What one paused view has held so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Held {
    /// In stream order.
    pub events: Vec<(EventId, String)>,
    /// More than [`MAX_HELD`] arrived: `events` was dropped and the view needs a fresh state.
    pub overflowed: bool,
    /// Events that arrived while paused, overflowed ones included (for "N new").
    pub arrived: usize,
}

impl Held {
    /// Holds one event, or — past the bound — drops everything held and marks the overflow.
    pub fn push(&mut self, id: EventId, data: &str) {
        self.arrived += 1;
        if self.overflowed {
            return;
        }
        if self.events.len() >= MAX_HELD {
            self.events = Vec::new();
            self.overflowed = true;
            return;
        }
        self.events.push((id, data.to_owned()));
    }
}

/// The paused views of one page, each with what it has held.
#[derive(Clone, Copy)]
pub struct Pauses(RwSignal<Vec<(BuiltIn, Held)>>);

impl Pauses {
    pub fn new() -> Pauses {
        Pauses(RwSignal::new(Vec::new()))
    }

    /// Whether `topic`'s view is paused (tracked).
    pub fn is_paused(&self, topic: BuiltIn) -> bool {
        self.0.with(|p| p.iter().any(|(t, _)| *t == topic))
    }

    /// Events that arrived for `topic`'s view since it paused (tracked).
    pub fn arrived(&self, topic: BuiltIn) -> usize {
        self.0.with(|p| {
            p.iter()
                .find(|(t, _)| *t == topic)
                .map_or(0, |(_, h)| h.arrived)
        })
    }

    pub fn pause(&self, topic: BuiltIn) {
        if !self
            .0
            .with_untracked(|p| p.iter().any(|(t, _)| *t == topic))
        {
            self.0.update(|p| p.push((topic, Held::default())));
        }
    }

    /// Unpauses `topic`'s view and hands back what it held (`None` if it was not paused).
    pub fn take(&self, topic: BuiltIn) -> Option<Held> {
        let at = self
            .0
            .with_untracked(|p| p.iter().position(|(t, _)| *t == topic))?;
        let mut held = None;
        self.0.update(|p| held = Some(p.remove(at).1));
        held
    }

    /// Holds the event if its view is paused; `false` means apply it now.
    pub fn hold(&self, topic: BuiltIn, id: EventId, data: &str) -> bool {
        if !self
            .0
            .with_untracked(|p| p.iter().any(|(t, _)| *t == topic))
        {
            return false;
        }
        self.0.update(|p| {
            if let Some((_, h)) = p.iter_mut().find(|(t, _)| *t == topic) {
                h.push(id, data);
            }
        });
        true
    }

    /// Forgets what every paused view held (a fresh snapshot replaced the state), keeping them
    /// paused.
    pub fn clear_held(&self) {
        if self.0.with_untracked(|p| !p.is_empty()) {
            self.0
                .update(|p| p.iter_mut().for_each(|(_, h)| *h = Held::default()));
        }
    }
}

impl Default for Pauses {
    fn default() -> Self {
        Pauses::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_events_stay_in_order_and_are_bounded() {
        let mut h = Held::default();
        h.push(EventId::new(7), "a");
        h.push(EventId::new(9), "b");
        assert_eq!(
            h.events,
            vec![(EventId::new(7), "a".into()), (EventId::new(9), "b".into())]
        );
        for i in 0..MAX_HELD as u64 {
            h.push(EventId::new(10 + i), "x");
        }
        // The bound was passed: nothing is kept, and resuming must start from a fresh state.
        assert!(h.overflowed);
        assert!(h.events.is_empty());
        assert_eq!(h.arrived, MAX_HELD + 2);
    }

    #[test]
    fn only_paused_views_hold_and_resuming_hands_back_what_was_held() {
        let owner = Owner::new();
        owner.with(|| {
            let p = Pauses::new();
            assert!(!p.hold(BuiltIn::Stocks, EventId::new(1), "s"));
            p.pause(BuiltIn::Stocks);
            p.pause(BuiltIn::Stocks);
            assert!(p.is_paused(BuiltIn::Stocks));
            assert!(p.hold(BuiltIn::Stocks, EventId::new(2), "s2"));
            assert!(!p.hold(BuiltIn::Scores, EventId::new(3), "g"));
            assert_eq!(p.arrived(BuiltIn::Stocks), 1);
            let held = p.take(BuiltIn::Stocks).unwrap();
            assert_eq!(held.events, vec![(EventId::new(2), "s2".into())]);
            assert!(!p.is_paused(BuiltIn::Stocks));
            assert!(p.take(BuiltIn::Stocks).is_none());
        });
    }
}
