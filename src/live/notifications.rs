//! Notifications: the recent list (overview) and the toasts currently on screen.

use leptos::prelude::*;

use crate::event::{EventId, NewNotice, Notice, NotificationsState, ViewState};

/// Toasts on screen at once; a new one pushes the oldest out.
pub const MAX_TOASTS: usize = 4;

#[derive(Clone, Copy)]
pub struct NotificationsStore {
    pub recent: RwSignal<Vec<Notice>>,
    /// Toasts shown now, oldest first. Only notices that arrive live become toasts: a page load
    /// does not replay old alerts at the reader.
    pub toasts: RwSignal<Vec<Notice>>,
}

impl NotificationsStore {
    pub fn new(state: &NotificationsState) -> NotificationsStore {
        NotificationsStore {
            recent: RwSignal::new(state.recent.clone()),
            toasts: RwSignal::new(Vec::new()),
        }
    }

    pub fn apply(&self, id: EventId, n: &NewNotice) {
        let mut state = NotificationsState {
            recent: self.recent.get_untracked(),
        };
        state.apply(id, n);
        self.recent.set(state.recent);
        let notice = Notice::new(id.get(), n);
        self.toasts.update(|t| {
            t.push(notice);
            if t.len() > MAX_TOASTS {
                t.remove(0);
            }
        });
    }

    pub fn dismiss(&self, id: u64) {
        self.toasts.update(|t| t.retain(|n| n.id != id));
    }

    /// Clears every toast (the notices stay in the recent list).
    pub fn dismiss_all(&self) {
        self.toasts.set(Vec::new());
    }

    pub fn replace(&self, state: &NotificationsState) {
        self.recent.set(state.recent.clone());
    }
}
