//! The interface a durable event log implements. SQLite (`storage::sqlite`) is the default; a
//! Redis Streams backend can implement the same four calls.

/// An event as the log stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: u64,
    pub topic: String,
    pub data: String,
    /// Unix time in milliseconds when the sequencer accepted it (for age-based retention).
    pub at_ms: i64,
}

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
    fn last_id(&self) -> u64;

    /// The newest `limit` events, oldest first: the history window and the snapshot are rebuilt
    /// from them at start.
    fn recent(&self, limit: usize) -> Result<Vec<StoredEvent>, LogError>;

    /// Appends a batch (ids ascending) in one transaction; returns only once it survives a crash.
    fn append(&mut self, batch: &[StoredEvent]) -> Result<(), LogError>;

    /// Deletes at most `max_rows` of the oldest events that have `id <= through_id` or were
    /// accepted before `before_ms` (Unix ms; 0 = no age limit), and returns how many it
    /// deleted. Bounded so that retention, which runs between batches on the sequencer, never
    /// holds up publishes for long; a full `max_rows` means "call again".
    fn trim(&mut self, through_id: u64, before_ms: i64, max_rows: usize)
        -> Result<usize, LogError>;
}
