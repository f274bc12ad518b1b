//! One subscriber's side of the hub: what to replay first, then its bounded live queue.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::core::{Core, Event};
use crate::event::EventId;

/// What a new subscriber gets before live events.
#[derive(Debug)]
pub enum Replay {
    /// Exactly the events after the requested id, for the requested topics (empty when no id
    /// was given: live from now).
    Events(Vec<Arc<Event>>),
    /// The requested id is older than the history window (or newer than any event), so the
    /// client cannot be caught up event by event: it must re-snapshot. `latest` is the id the
    /// live events that follow continue from.
    Reset { latest: EventId },
}

/// A live subscription. Dropping it unsubscribes.
pub struct Subscription {
    id: u64,
    core: Arc<Core>,
    pub replay: Replay,
    queue: mpsc::Receiver<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    pub(super) fn new(
        id: u64,
        core: Arc<Core>,
        replay: Replay,
        queue: mpsc::Receiver<Arc<Event>>,
        lagged: Arc<AtomicBool>,
    ) -> Subscription {
        Subscription {
            id,
            core,
            replay,
            queue,
            lagged,
        }
    }

    /// The next live event; `None` once the hub cut this subscriber off (see [`Self::lagged`])
    /// and the queued events are drained.
    pub async fn next(&mut self) -> Option<Arc<Event>> {
        self.queue.recv().await
    }

    /// The next queued event, if one is already waiting.
    pub fn try_next(&mut self) -> Option<Arc<Event>> {
        self.queue.try_recv().ok()
    }

    /// Whether the hub cut this subscriber off because its queue overflowed.
    pub fn lagged(&self) -> bool {
        self.lagged.load(Relaxed)
    }

    /// Counts events this subscriber's stream skipped as superseded (see [`conflate`]).
    pub fn count_conflated(&self, n: u64) {
        self.core.stats.conflated.fetch_add(n, Relaxed);
    }

    /// Takes the replay out, leaving an empty one.
    pub fn take_replay(&mut self) -> Replay {
        std::mem::replace(&mut self.replay, Replay::Events(Vec::new()))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.core.unsubscribe(self.id);
    }
}

/// Drops the events of `batch` that a later event in it supersedes (an older, not final state
/// of the same job), keeping order; returns how many it dropped. Only a reader that is behind
/// has a batch of more than one event, so a reader that keeps up sees every state, and one
/// that fell behind catches up with less to read. Events without a key are always kept.
pub fn conflate(batch: &mut Vec<Arc<Event>>) -> u64 {
    if batch.len() < 2 || batch.iter().all(|e| e.supersede.is_none()) {
        return 0;
    }
    let mut seen = std::collections::HashSet::new();
    let mut keep = vec![true; batch.len()];
    for (i, ev) in batch.iter().enumerate().rev() {
        if let Some(s) = &ev.supersede {
            if !seen.insert(&*s.key) && !s.last_word {
                keep[i] = false;
            }
        }
    }
    let before = batch.len();
    let mut flags = keep.into_iter();
    batch.retain(|_| flags.next().unwrap_or(true));
    (before - batch.len()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventId, Topic};

    fn ev(id: u64, topic: &str, data: &str) -> Arc<Event> {
        Arc::new(Event::new(
            EventId::new(id),
            Topic::parse(topic).unwrap(),
            data.into(),
            0,
        ))
    }

    fn job(id: u64, job: &str, status: &str) -> Arc<Event> {
        ev(
            id,
            "jobs",
            &format!(r#"{{"id":"{job}","status":"{status}","step":{id}}}"#),
        )
    }

    #[test]
    fn only_older_states_of_the_same_job_are_skipped_and_finals_never() {
        let mut batch = vec![
            job(1, "a", "running"),
            ev(2, "stocks", r#"{"symbol":"A","price":1}"#),
            job(3, "b", "running"),
            job(4, "a", "running"),
            job(5, "a", "completed"),
            job(6, "a", "queued"),
            job(7, "b", "failed"),
        ];
        assert_eq!(conflate(&mut batch), 3);
        let ids: Vec<u64> = batch.iter().map(|e| e.id.get()).collect();
        assert_eq!(ids, [2, 5, 6, 7]);
    }

    #[test]
    fn a_single_event_or_a_batch_without_jobs_is_untouched() {
        let mut one = vec![job(1, "a", "running")];
        assert_eq!(conflate(&mut one), 0);
        let mut plain = vec![
            ev(1, "stocks", r#"{"symbol":"A","price":1}"#),
            ev(2, "stocks", r#"{"symbol":"A","price":2}"#),
        ];
        assert_eq!(conflate(&mut plain), 0);
        assert_eq!(plain.len(), 2);
    }
}
