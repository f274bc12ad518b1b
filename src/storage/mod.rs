//! Durable files: the local backend's event log ([`sqlite`], behind
//! [`crate::hub::EventLog`]), and tables derived from committed events that outlive the replay
//! window — the feed's posts ([`posts`]) and the jobs ([`jobs`]). Derived tables implement
//! [`Table`], and one recorder per table (`server::recorder`) feeds them from the hub on every
//! instance.

pub mod jobs;
pub mod posts;
pub mod sqlite;

pub use jobs::JobStore;
pub use posts::{PostStore, PostsError};
pub use sqlite::{OpenMode, SqliteLog, Sync};

use crate::event::{EventId, Snapshot};
use crate::hub::Event;

/// A table derived from the events of one topic. Calls block (SQLite): the recorder runs them
/// on the blocking pool.
pub trait Table: Clone + Send + std::marker::Sync + 'static {
    /// The topic whose events fill this table.
    const TOPIC: crate::event::BuiltIn;
    /// What the table is called in messages.
    const NAME: &'static str;

    /// Every event of [`Self::TOPIC`] up to this id is in the table.
    fn mark(&self) -> Result<EventId, PostsError>;

    /// Stores what `events` carry (all of [`Self::TOPIC`], ascending) and moves the mark to
    /// `through`; writing the same event twice is a no-op.
    fn store(&self, events: &[std::sync::Arc<Event>], through: EventId) -> Result<(), PostsError>;

    /// After a `reset` (the table is older than the replay window): stores what the snapshot
    /// shows and moves the mark to `through`.
    fn store_snapshot(&self, snapshot: &Snapshot, through: EventId) -> Result<(), PostsError>;
}
