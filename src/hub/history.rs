//! The replay window: the newest events in id order, bounded by count.

use std::collections::VecDeque;
use std::sync::Arc;

use super::core::Event;
use crate::event::EventId;

pub struct History {
    events: VecDeque<Arc<Event>>,
    capacity: usize,
    /// Every id up to and including this one has left the window (or was never in it), so a
    /// client asking to resume from an older id cannot be served exactly.
    evicted_through: EventId,
}

impl History {
    /// A window seeded with `events` (oldest first) that were read back from the log; anything
    /// before the first of them counts as evicted.
    pub fn new(capacity: usize, seed: Vec<Arc<Event>>, last_id: EventId) -> History {
        let capacity = capacity.max(1);
        let evicted_through = seed.first().map_or(last_id, |e| e.id.prev());
        let mut events: VecDeque<_> = seed.into();
        while events.len() > capacity {
            events.pop_front();
        }
        let evicted_through = events.front().map_or(evicted_through, |e| e.id.prev());
        History {
            events,
            capacity,
            evicted_through,
        }
    }

    pub fn push(&mut self, event: Arc<Event>) {
        if self.events.len() == self.capacity {
            if let Some(old) = self.events.pop_front() {
                self.evicted_through = old.id;
            }
        }
        self.events.push_back(event);
    }

    /// Drops events accepted before `before_ms` (Unix ms) from the front.
    pub fn expire(&mut self, before_ms: i64) {
        while self.events.front().is_some_and(|e| e.at_ms < before_ms) {
            if let Some(old) = self.events.pop_front() {
                self.evicted_through = old.id;
            }
        }
    }

    /// Forgets everything up to `through`: those ids can no longer be replayed exactly.
    pub fn discontinuity(&mut self, through: EventId) {
        while self.events.front().is_some_and(|e| e.id <= through) {
            self.events.pop_front();
        }
        self.evicted_through = self.evicted_through.max(through);
    }

    /// Whether every event after `since` is still here.
    pub fn covers(&self, since: EventId) -> bool {
        since >= self.evicted_through
    }

    /// Events after `since` that `wanted` accepts, oldest first.
    pub fn after(&self, since: EventId, wanted: impl Fn(&Event) -> bool) -> Vec<Arc<Event>> {
        let start = self.events.partition_point(|e| e.id <= since);
        self.events
            .range(start..)
            .filter(|e| wanted(e))
            .cloned()
            .collect()
    }

    /// Moves the events after `since` that `wanted` accepts into `out`, oldest first: at most
    /// `max` of them, looking at no more than `max_scan` events. Returns the id of the last
    /// event looked at (where the next call starts) and whether that was the newest one, i.e.
    /// nothing after `since` is left.
    pub fn take_after(
        &self,
        since: EventId,
        max: usize,
        max_scan: usize,
        wanted: impl Fn(&Event) -> bool,
        out: &mut VecDeque<Arc<Event>>,
    ) -> (EventId, bool) {
        let start = self.events.partition_point(|e| e.id <= since);
        let (mut cursor, mut taken) = (since, 0);
        for (scanned, e) in self.events.range(start..).enumerate() {
            if taken == max || scanned == max_scan {
                return (cursor, false);
            }
            cursor = e.id;
            if wanted(e) {
                out.push_back(e.clone());
                taken += 1;
            }
        }
        (cursor, true)
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Topic;

    fn ev(id: u64) -> Arc<Event> {
        Arc::new(Event::new(
            EventId::new(id),
            Topic::parse("t").unwrap(),
            "{}".into(),
            0,
        ))
    }

    fn id(n: u64) -> EventId {
        EventId::new(n)
    }

    #[test]
    fn window_is_bounded_and_remembers_what_it_dropped() {
        let mut h = History::new(3, vec![], id(0));
        assert!(h.covers(id(0)));
        for id in 1..=5 {
            h.push(ev(id));
        }
        assert_eq!(h.len(), 3);
        assert!(!h.covers(id(1)));
        assert!(h.covers(id(2)));
        let ids: Vec<_> = h
            .after(id(2), |_| true)
            .iter()
            .map(|e| e.id.get())
            .collect();
        assert_eq!(ids, [3, 4, 5]);
        assert!(h.after(id(5), |_| true).is_empty());
    }

    #[test]
    fn expiry_by_age_counts_as_eviction() {
        let mut h = History::new(10, vec![], id(0));
        for id in 1..=4 {
            h.push(Arc::new(Event::new(
                EventId::new(id),
                Topic::parse("t").unwrap(),
                "{}".into(),
                id as i64 * 100,
            )));
        }
        h.expire(250);
        assert_eq!(h.len(), 2);
        assert!(!h.covers(id(1)));
        assert!(h.covers(id(2)));
    }

    #[test]
    fn seeded_window_starts_after_the_log_tail() {
        let h = History::new(10, vec![ev(41), ev(42)], id(42));
        assert!(!h.covers(id(39)));
        assert!(h.covers(id(40)));
        let empty = History::new(10, vec![], id(42));
        assert!(empty.covers(id(42)));
        assert!(!empty.covers(id(41)));
    }

    #[test]
    fn take_after_reads_in_bounded_steps_and_says_when_it_reached_the_end() {
        let mut h = History::new(10, vec![], id(0));
        for n in 1..=6 {
            h.push(ev(n));
        }
        let even = |e: &Event| e.id.get().is_multiple_of(2);
        let mut out = VecDeque::new();
        assert_eq!(h.take_after(id(0), 2, 100, even, &mut out), (id(4), false));
        assert_eq!(h.take_after(id(4), 2, 100, even, &mut out), (id(6), true));
        let ids: Vec<_> = out.iter().map(|e| e.id.get()).collect();
        assert_eq!(ids, [2, 4, 6]);
        // The scan bound stops a search for rare events part-way, without skipping any.
        out.clear();
        assert_eq!(
            h.take_after(id(0), 10, 3, |_| false, &mut out),
            (id(3), false)
        );
        assert_eq!(
            h.take_after(id(3), 10, 3, |_| false, &mut out),
            (id(6), true)
        );
        assert!(out.is_empty());
        assert_eq!(h.take_after(id(6), 10, 3, even, &mut out), (id(6), true));
    }

    #[test]
    fn a_discontinuity_forgets_what_came_before_it() {
        let mut h = History::new(10, vec![], id(0));
        for n in 1..=3 {
            h.push(ev(n));
        }
        h.discontinuity(id(1000));
        assert_eq!(h.len(), 0);
        assert!(!h.covers(id(3)), "an id from before the loss must reset");
        assert!(h.covers(id(1000)));
        h.push(ev(1001));
        let ids: Vec<_> = h
            .after(id(1000), |_| true)
            .iter()
            .map(|e| e.id.get())
            .collect();
        assert_eq!(ids, [1001]);
    }
}
