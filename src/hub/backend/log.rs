//! The storage interface under the local backend: an append-only file the sequencer writes.
//! SQLite (`storage::sqlite`) implements it. (Several instances share a *broker*, not a log:
//! see [`crate::hub::broker`].)

use crate::event::EventId;
pub use crate::hub::broker::StoredEvent;

/// Why the log failed; shown to operators as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError(pub String);

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LogError {}

/// Append-only, ordered event storage. All calls come from one thread (the sequencer), so an
/// implementation needs no locking of its own.
pub trait EventLog: Send + 'static {
    /// The highest id ever appended — including ids since trimmed away — or 0 for a new log.
    /// New ids continue after it, which is what makes ids never reused across restarts.
    fn last_id(&self) -> EventId;

    /// The newest `limit` events, oldest first: the history window and the snapshot are rebuilt
    /// from them at start.
    fn recent(&self, limit: usize) -> Result<Vec<StoredEvent>, LogError>;

    /// Appends a batch (ids ascending) in one transaction; returns only once it survives a crash.
    fn append(&mut self, batch: &[StoredEvent]) -> Result<(), LogError>;

    /// Deletes at most `max_rows` of the oldest events that have `id <= through_id` or were
    /// accepted before `before_ms` (Unix ms; 0 = no age limit), and returns how many it
    /// deleted. Ids grow with time, so the age rule may stop at the oldest event young enough
    /// to stay (one older behind it, after a clock step back, goes once that one has). Bounded so that retention, which runs between batches on the sequencer, never
    /// holds up publishes for long; a full `max_rows` means "call again".
    fn trim(
        &mut self,
        through_id: EventId,
        before_ms: i64,
        max_rows: usize,
    ) -> Result<usize, LogError>;
}
