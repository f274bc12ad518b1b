//! The leader tab's memory of recent events, so a follower that fell behind (a throttled
//! background tab, a tab opened after the leader's stream moved past its page's snapshot)
//! catches up by id from the leader instead of opening a stream of its own.

use std::collections::VecDeque;

use super::relay::Relayed;

/// Events the leader keeps; a follower further behind takes a fresh snapshot instead.
pub const RING_CAPACITY: usize = 2048;

/// Every event the leader applied after `base`, oldest first, at most `capacity` of them.
#[derive(Debug)]
pub struct Ring {
    base: u64,
    events: VecDeque<Relayed>,
    capacity: usize,
}

impl Ring {
    /// An empty ring for a leader whose newest applied id is `base`.
    pub fn new(base: u64, capacity: usize) -> Ring {
        Ring {
            base,
            events: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Adds the event the leader just applied (its `prev` is the previous newest id).
    pub fn push(&mut self, event: Relayed) {
        if self.events.len() == self.capacity {
            if let Some(oldest) = self.events.pop_front() {
                self.base = oldest.id;
            }
        }
        self.events.push_back(event);
    }

    /// Starts over at `base` (the leader replaced its state with a snapshot).
    pub fn reset(&mut self, base: u64) {
        self.events.clear();
        self.base = base;
    }

    /// The events after `since`, or `None` when some of them are no longer (or never were)
    /// in the ring.
    pub fn after(&self, since: u64) -> Option<Vec<Relayed>> {
        if since < self.base {
            return None;
        }
        Some(
            self.events
                .iter()
                .filter(|e| e.id > since)
                .cloned()
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(prev: u64, id: u64) -> Relayed {
        Relayed {
            id,
            prev,
            topic: "stocks".into(),
            data: format!("{{\"n\":{id}}}"),
        }
    }

    fn ids(events: Option<Vec<Relayed>>) -> Option<Vec<u64>> {
        events.map(|v| v.iter().map(|e| e.id).collect())
    }

    #[test]
    fn a_follower_gets_exactly_what_followed_its_id() {
        let mut ring = Ring::new(10, 8);
        for (prev, id) in [(10, 11), (11, 14), (14, 15)] {
            ring.push(ev(prev, id));
        }
        assert_eq!(ids(ring.after(10)), Some(vec![11, 14, 15]));
        assert_eq!(
            ids(ring.after(12)),
            Some(vec![14, 15]),
            "gaps in ids are fine"
        );
        assert_eq!(ids(ring.after(15)), Some(vec![]));
        assert_eq!(
            ids(ring.after(99)),
            Some(vec![]),
            "a tab ahead gets nothing"
        );
        assert_eq!(ids(ring.after(9)), None, "before the leader's start");
    }

    #[test]
    fn the_oldest_events_leave_and_reset_starts_over() {
        let mut ring = Ring::new(0, 3);
        for id in 1..=5 {
            ring.push(ev(id - 1, id));
        }
        assert_eq!(ids(ring.after(1)), None, "event 2 has left the ring");
        assert_eq!(ids(ring.after(2)), Some(vec![3, 4, 5]));
        ring.reset(40);
        assert_eq!(ids(ring.after(5)), None);
        assert_eq!(ids(ring.after(40)), Some(vec![]));
    }
}
