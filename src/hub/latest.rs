//! The newest event of each topic (what a custom topic's snapshot shows), bounded.
//!
//! Built-in topics are a fixed handful and always kept. Custom topics are whatever publishers
//! name, so at most `max_custom` of them are remembered: publishing to one more forgets the
//! custom topic whose newest event is oldest (least recently published). A forgotten topic's
//! snapshot shows no newest event (`"last_id": null`, as for a topic never published) until it
//! is published to again; its events stay in the history and the log like any other.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::core::Event;
use crate::event::{EventId, Topic};

pub struct Latest {
    by_topic: HashMap<Topic, Arc<Event>>,
    /// Custom topics by the id of their newest event: the first entry is the least recently
    /// published (ids only grow, so this is the order of last publication).
    custom_by_id: BTreeMap<EventId, Topic>,
    max_custom: usize,
}

impl Latest {
    pub fn new(max_custom: usize) -> Latest {
        Latest {
            by_topic: HashMap::new(),
            custom_by_id: BTreeMap::new(),
            max_custom: max_custom.max(1),
        }
    }

    /// Records `event` as its topic's newest.
    pub fn insert(&mut self, event: Arc<Event>) {
        let custom = event.topic.builtin().is_none();
        if custom {
            self.custom_by_id.insert(event.id, event.topic.clone());
        }
        if let Some(old) = self.by_topic.insert(event.topic.clone(), event) {
            if custom {
                self.custom_by_id.remove(&old.id);
            }
        }
        while self.custom_by_id.len() > self.max_custom {
            if let Some((_, topic)) = self.custom_by_id.pop_first() {
                self.by_topic.remove(&topic);
            }
        }
    }

    pub fn get(&self, topic: &Topic) -> Option<&Arc<Event>> {
        self.by_topic.get(topic)
    }

    /// Custom topics remembered now.
    pub fn custom_len(&self) -> usize {
        self.custom_by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: u64, topic: &str) -> Arc<Event> {
        Arc::new(Event::new(
            EventId::new(id),
            Topic::parse(topic).unwrap(),
            "{}".into(),
            0,
        ))
    }

    #[test]
    fn the_least_recently_published_custom_topic_is_forgotten_first() {
        let mut l = Latest::new(2);
        l.insert(ev(1, "a"));
        l.insert(ev(2, "b"));
        l.insert(ev(3, "a")); // `a` is now newer than `b`
        l.insert(ev(4, "stocks")); // built-in: not counted, never forgotten
        l.insert(ev(5, "c"));
        assert!(
            l.get(&Topic::parse("b").unwrap()).is_none(),
            "b was the oldest"
        );
        assert_eq!(l.get(&Topic::parse("a").unwrap()).unwrap().id.get(), 3);
        assert_eq!(l.get(&Topic::parse("c").unwrap()).unwrap().id.get(), 5);
        assert!(l.get(&Topic::parse("stocks").unwrap()).is_some());
        assert_eq!(l.custom_len(), 2);
    }
}
