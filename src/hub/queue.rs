//! One subscriber's bounded queue of live events: the fan-out pushes, the stream pops.
//!
//! Why not tokio's `mpsc`: a bounded channel costs about 1 KB before anything is sent (its
//! halves are cache-line padded, it carries a semaphore, and it allocates a 32-slot block up
//! front). With idle streams written straight to their socket that was a quarter of what an
//! idle subscriber cost. This queue is one small allocation (a lock, a `VecDeque` that grows
//! only while events wait, the reader's waker); the fan-out already holds the hub's lock, so
//! a push takes an uncontended one more and wakes the reader only when it is waiting.
//!
//! The semantics are the channel's the hub relied on: [`Sender::try_send`] refuses when the
//! queue holds `capacity` events ([`Full`](TrySendError::Full): the hub cuts that subscriber
//! off) or the reader is gone ([`Closed`](TrySendError::Closed)); the reader drains what was
//! queued and then gets `None` once the sender is dropped.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Makes a queue holding at most `capacity` (≥ 1) events.
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            waker: None,
            sender_gone: false,
            receiver_gone: false,
        }),
        capacity: capacity.max(1),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared<T> {
    state: Mutex<State<T>>,
    capacity: usize,
}

struct State<T> {
    items: VecDeque<T>,
    /// The reader, when it found the queue empty and is waiting.
    waker: Option<Waker>,
    sender_gone: bool,
    receiver_gone: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while holding it; a poisoned lock still holds a consistent queue.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a push was refused; the event comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The queue holds `capacity` events: the reader is behind.
    Full(T),
    /// The reader is gone.
    Closed(T),
}

/// The fan-out's end (one per queue).
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues `item` unless the queue is full or the reader gone; never waits.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut st = self.shared.lock();
        if st.receiver_gone {
            return Err(TrySendError::Closed(item));
        }
        if st.items.len() >= self.shared.capacity {
            return Err(TrySendError::Full(item));
        }
        st.items.push_back(item);
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.sender_gone = true;
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The stream's end.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// The next event, waiting for one; `None` once the sender is gone and the queue drained.
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut st = self.shared.lock();
        if let Some(item) = st.items.pop_front() {
            return Poll::Ready(Some(item));
        }
        if st.sender_gone {
            return Poll::Ready(None);
        }
        match &mut st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next event if one is queued now.
    pub fn try_recv(&mut self) -> Option<T> {
        self.shared.lock().items.pop_front()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        st.receiver_gone = true;
        // What was queued is nobody's now: free it at once, not when the hub next pushes.
        st.items.clear();
        st.waker = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_full_queue_refuses_and_a_drained_one_ends_after_its_sender() {
        let (tx, mut rx) = bounded(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(rx.try_recv(), Some(1));
        assert_eq!(tx.try_send(3), Ok(()), "room again after a pop");
        drop(tx);
        assert_eq!(rx.recv().await, Some(2), "queued events outlive the sender");
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.try_recv(), None);
    }

    #[tokio::test]
    async fn a_waiting_reader_is_woken_by_a_push_and_by_the_sender_going() {
        let (tx, mut rx) = bounded::<u32>(4);
        let reader = tokio::spawn(async move {
            let first = rx.recv().await;
            let second = rx.recv().await;
            (first, second)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.try_send(7).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(tx);
        let got = tokio::time::timeout(Duration::from_secs(2), reader)
            .await
            .expect("the reader was woken")
            .unwrap();
        assert_eq!(got, (Some(7), None));
    }

    #[test]
    fn a_gone_reader_closes_the_queue() {
        let (tx, rx) = bounded(1);
        drop(rx);
        assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
    }
}
