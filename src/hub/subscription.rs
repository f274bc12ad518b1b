//! One subscriber's side of the hub: a replay read lazily from the window, then its bounded
//! live queue (see "Lazy replay" in `core.rs` for why nothing is copied up front).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use super::core::{Core, Event, REPLAY_CHUNK};
use super::queue;
use crate::event::{EventId, Topic};

/// What a new subscriber gets before live events, read all at once ([`Subscription::take_replay`]).
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

/// A replay not read to its end yet: the subscriber is not in the fan-out.
pub(super) struct Pending {
    /// The last id looked at; the replay continues after it.
    pub cursor: EventId,
    pub topics: Vec<Topic>,
    /// Handed to the fan-out when the replay reaches the end of the window.
    pub queue: queue::Sender<Arc<Event>>,
}

enum Step {
    Event(Arc<Event>),
    /// The replay is over (or there was none): read the live queue.
    Live,
    /// The replay fell out of the window: the stream ends.
    Lost,
}

/// A live subscription. Dropping it unsubscribes.
///
/// [`Self::next`] and [`Self::try_next`] yield the replay first (a chunk of
/// [`REPLAY_CHUNK`] events at a time from the window), then live events. A reset to report
/// comes from [`Self::take_reset`]; [`Self::take_replay`] reads the whole replay at once, for
/// Pulse's own consumers, which use it right away.
pub struct Subscription {
    id: u64,
    core: Arc<Core>,
    internal: bool,
    reset: Option<EventId>,
    pending: Option<Pending>,
    /// Replay events taken from the window, not handed out yet (at most one chunk).
    chunk: VecDeque<Arc<Event>>,
    queue: queue::Receiver<Arc<Event>>,
    lagged: Arc<AtomicBool>,
}

impl Subscription {
    pub(super) fn new(
        id: u64,
        core: Arc<Core>,
        internal: bool,
        reset: Option<EventId>,
        pending: Option<Pending>,
        queue: queue::Receiver<Arc<Event>>,
        lagged: Arc<AtomicBool>,
    ) -> Subscription {
        Subscription {
            id,
            core,
            internal,
            reset,
            pending,
            chunk: VecDeque::new(),
            queue,
            lagged,
        }
    }

    /// The next event: the replay's, then live ones. `None` once the stream must end: the hub
    /// cut this subscriber off (see [`Self::lagged`]) and the queued events are drained.
    pub async fn next(&mut self) -> Option<Arc<Event>> {
        match self.step_replay() {
            Step::Event(ev) => Some(ev),
            Step::Lost => None,
            Step::Live => self.queue.recv().await,
        }
    }

    /// The next event if one is ready now (replay or queued).
    pub fn try_next(&mut self) -> Option<Arc<Event>> {
        match self.step_replay() {
            Step::Event(ev) => Some(ev),
            Step::Lost => None,
            Step::Live => self.queue.try_recv(),
        }
    }

    /// Whether events still come from the replay rather than the live queue.
    pub fn replaying(&self) -> bool {
        !self.chunk.is_empty() || self.pending.is_some()
    }

    /// The next replay event, taking another chunk from the window when the last is used up.
    fn step_replay(&mut self) -> Step {
        loop {
            if let Some(ev) = self.chunk.pop_front() {
                return Step::Event(ev);
            }
            if self.pending.is_none() {
                return Step::Live;
            }
            let kept = self.core.replay_chunk(
                self.id,
                &mut self.pending,
                REPLAY_CHUNK,
                &self.lagged,
                self.internal,
                &mut self.chunk,
            );
            if !kept {
                // The window moved past the cursor: the replay cannot be exact. Cut off like a
                // lagging reader; the client resumes from its last id and gets a reset.
                self.pending = None;
                self.lagged.store(true, Relaxed);
                self.core.replay_lost(self.internal);
                return Step::Lost;
            }
        }
    }

    /// Whether the hub cut this subscriber off because its queue overflowed (or its replay
    /// fell out of the window).
    pub fn lagged(&self) -> bool {
        self.lagged.load(Relaxed)
    }

    /// Counts events this subscriber's stream skipped as superseded (see [`conflate`]).
    pub fn count_conflated(&self, n: u64) {
        self.core.stats.conflated.fetch_add(n, Relaxed);
    }

    /// The reset to report before anything else, if the requested id could not be resumed
    /// from (see [`Replay::Reset`]).
    pub fn take_reset(&mut self) -> Option<EventId> {
        self.reset.take()
    }

    /// Reads the whole replay at once (one lock hold) and joins the fan-out. If the window no
    /// longer covers it, joins as it is and reports a reset instead.
    pub fn take_replay(&mut self) -> Replay {
        if let Some(latest) = self.reset.take() {
            return Replay::Reset { latest };
        }
        let mut events: Vec<Arc<Event>> = self.chunk.drain(..).collect();
        if self.pending.is_some() {
            let mut rest = VecDeque::new();
            let kept = self.core.replay_chunk(
                self.id,
                &mut self.pending,
                usize::MAX,
                &self.lagged,
                self.internal,
                &mut rest,
            );
            if !kept {
                if let Some(p) = self.pending.take() {
                    let latest = self.core.join_now(self.id, p, &self.lagged, self.internal);
                    return Replay::Reset { latest };
                }
            }
            events.extend(rest);
        }
        Replay::Events(events)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.core
            .unsubscribe(self.id, self.internal, self.pending.is_some());
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
