//! The event log in an SQLite file (WAL mode), one transaction per batch of publishes.
//!
//! `last_id` is kept in a `meta` row written in the same transaction as the events, so the id
//! sequence survives even when retention has deleted every event row: ids are never reused.
//!
//! ## Ids survive a new log too
//! `--fresh-log`, a deleted or emptied `events.db`, or an older copy put back would restart the
//! sequence below ids already handed out — ids that the posts and jobs tables, and clients'
//! `Last-Event-ID`s, still hold (a new post reusing an old post's id was silently not stored).
//! So the log also keeps a **reservation** outside itself ([`SqliteLog::keep_ids_in`]): a small
//! file (`<data-dir>/ids`) holding an id `R` that no id handed out exceeds. Before an append
//! would pass `R`, `R` moves [`ID_BLOCK`] ahead — file first (fsynced), then the log's own
//! `meta` copy in the batch's transaction — so one extra fsync covers [`ID_BLOCK`] events. At
//! open, the file and the log's copy are compared: equal means this is the log that made the
//! reservation, and ids continue from its `last_id`; a file ahead of the log means the log is
//! new, lost or older than the file, and ids continue after `R` (a gap of at most
//! [`ID_BLOCK`], never a reuse). The caller also passes the newest id its derived tables hold,
//! as a floor, in case the file was lost as well.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::event::EventId;
use crate::hub::{EventLog, LogError, StoredEvent};

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sync {
    /// fsync on every commit: an acknowledged event survives power loss.
    Full,
    /// fsync at WAL checkpoints only: an acknowledged event survives a process crash
    /// (`kill -9`), but the last commits can be lost on power loss. Faster on slow disks.
    Normal,
}

/// What to do when the file exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Open the file (creating it when missing) and refuse one that is not a Pulse log.
    Existing,
    /// Move an existing file aside (`*.corrupt-<time>`) and start a new, empty log.
    Fresh,
}

/// How far ahead of the newest id the reservation is kept (see the module docs).
pub const ID_BLOCK: u64 = 10_000;

pub struct SqliteLog {
    conn: Connection,
    last_id: u64,
    path: PathBuf,
    /// No id above this has been handed out (see the module docs); 0 without a reservation
    /// file.
    reserved: u64,
    /// The reservation file, once [`SqliteLog::keep_ids_in`] set it.
    ids_file: Option<PathBuf>,
    /// The reservation as the log's `meta` row holds it.
    reserved_in_log: u64,
}

fn err(path: &Path, what: &str, e: rusqlite::Error) -> LogError {
    LogError(format!("{what} {}: {e}", path.display()))
}

impl SqliteLog {
    /// Opens (or creates) the log at `path`.
    ///
    /// A file that is not an SQLite database, or one without Pulse's tables that is not empty,
    /// is an error naming the file — never silently replaced by an empty log.
    pub fn open(path: &Path, sync: Sync, mode: OpenMode) -> Result<SqliteLog, LogError> {
        if mode == OpenMode::Fresh && path.exists() {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let aside = path.with_extension(format!("corrupt-{stamp}"));
            std::fs::rename(path, &aside)
                .map_err(|e| LogError(format!("could not move {} aside: {e}", path.display())))?;
            for ext in ["-wal", "-shm"] {
                let mut side = path.as_os_str().to_owned();
                side.push(ext);
                let _ = std::fs::remove_file(PathBuf::from(side));
            }
            tracing::warn!("moved the old event log to {}", aside.display());
        }
        let conn = Connection::open(path).map_err(|e| err(path, "cannot open", e))?;
        let setup = format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = {};
             CREATE TABLE IF NOT EXISTS events (
                 id    INTEGER PRIMARY KEY,
                 topic TEXT    NOT NULL,
                 data  TEXT    NOT NULL,
                 at_ms INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS meta (
                 key   TEXT PRIMARY KEY,
                 value INTEGER NOT NULL
             );",
            match sync {
                Sync::Full => "FULL",
                Sync::Normal => "NORMAL",
            }
        );
        conn.execute_batch(&setup).map_err(|e| {
            LogError(format!(
                "{} is not a usable Pulse event log ({e}). Move it away, or start with \
                 --fresh-log to set it aside and begin a new log.",
                path.display()
            ))
        })?;
        let from_meta: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'last_id'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| err(path, "cannot read", e))?;
        let from_events: Option<i64> = conn
            .query_row("SELECT max(id) FROM events", [], |r| r.get(0))
            .map_err(|e| err(path, "cannot read", e))?;
        let last_id = from_meta.unwrap_or(0).max(from_events.unwrap_or(0)) as u64;
        let reserved: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'reserved'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| err(path, "cannot read", e))?;
        Ok(SqliteLog {
            conn,
            last_id,
            path: path.to_owned(),
            reserved: reserved.unwrap_or(0).max(0) as u64,
            ids_file: None,
            reserved_in_log: reserved.unwrap_or(0).max(0) as u64,
        })
    }

    /// Keeps the id reservation in `file`, and makes new ids start after every id that may have
    /// been handed out: after `R` when the log is not the one that reserved it, and after
    /// `floor` (the newest id the derived tables hold) in any case. See the module docs.
    pub fn keep_ids_in(mut self, file: &Path, floor: EventId) -> Result<SqliteLog, LogError> {
        let from_file = read_reservation(file)?;
        let mut start = self.last_id.max(floor.get());
        if from_file > self.reserved {
            // Ids up to `from_file` may have been handed out by a log this one is not.
            start = start.max(from_file);
        }
        if start > self.last_id {
            tracing::warn!(
                "event log {} ends at id {} but ids up to {start} may have been used (a new or \
                 older log): new events start after {start}",
                self.path.display(),
                self.last_id
            );
            self.last_id = start;
        }
        self.ids_file = Some(file.to_owned());
        self.reserve(start + ID_BLOCK)?;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| err(&self.path, "cannot write", e))?;
        for (key, value) in [("last_id", self.last_id), ("reserved", self.reserved)] {
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value as i64],
            )
            .map_err(|e| err(&self.path, "cannot write", e))?;
        }
        tx.commit()
            .map_err(|e| err(&self.path, "cannot commit", e))?;
        self.reserved_in_log = self.reserved;
        Ok(self)
    }

    /// Moves the reservation to `to` in the file (durably); the log's copy follows in the next
    /// transaction.
    fn reserve(&mut self, to: u64) -> Result<(), LogError> {
        if let Some(file) = &self.ids_file {
            write_reservation(file, to)?;
        }
        self.reserved = to;
        Ok(())
    }
}

fn read_reservation(file: &Path) -> Result<u64, LogError> {
    match std::fs::read_to_string(file) {
        Ok(text) => text.trim().parse::<u64>().map_err(|_| {
            LogError(format!(
                "{} should hold one id (the highest Pulse may have used) but holds {:?}; fix \
                 or delete it (deleting it is safe while events.db is intact)",
                file.display(),
                text.chars().take(40).collect::<String>()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(LogError(format!("cannot read {}: {e}", file.display()))),
    }
}

/// Replaces the file's content atomically (write aside, fsync, rename), so a crash leaves the
/// old reservation or the new one, never a torn one.
fn write_reservation(file: &Path, id: u64) -> Result<(), LogError> {
    let fail = |e: std::io::Error| LogError(format!("cannot write {}: {e}", file.display()));
    let aside = file.with_extension("tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&aside).map_err(fail)?;
        writeln!(f, "{id}").map_err(fail)?;
        f.sync_all().map_err(fail)?;
    }
    std::fs::rename(&aside, file).map_err(fail)?;
    if let Some(dir) = file.parent() {
        // The rename is durable once the directory is.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

impl EventLog for SqliteLog {
    fn last_id(&self) -> EventId {
        EventId::new(self.last_id)
    }

    fn recent(&self, limit: usize) -> Result<Vec<StoredEvent>, LogError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, topic, data, at_ms FROM events ORDER BY id DESC LIMIT ?1")
            .map_err(|e| err(&self.path, "cannot read", e))?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                Ok(StoredEvent {
                    id: EventId::new(r.get::<_, i64>(0)? as u64),
                    topic: r.get(1)?,
                    data: r.get(2)?,
                    at_ms: r.get(3)?,
                })
            })
            .map_err(|e| err(&self.path, "cannot read", e))?;
        let mut events = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(&self.path, "cannot read", e))?;
        events.reverse();
        Ok(events)
    }

    fn append(&mut self, batch: &[StoredEvent]) -> Result<(), LogError> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let path = self.path.clone();
        if self.ids_file.is_some() && last.id.get() > self.reserved {
            self.reserve(last.id.get() + ID_BLOCK)?;
        }
        // The log's copy of the reservation is written only when it differs (once in
        // `ID_BLOCK` events, or after a failed batch); `last_id` in every batch.
        let reserved = self.reserved;
        let moved = reserved != self.reserved_in_log;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| err(&path, "cannot write", e))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (id, topic, data, at_ms) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| err(&path, "cannot write", e))?;
            for e in batch {
                insert
                    .execute(params![e.id.get() as i64, e.topic, e.data, e.at_ms])
                    .map_err(|e| err(&path, "cannot write", e))?;
            }
            let mut meta = tx
                .prepare_cached(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                )
                .map_err(|e| err(&path, "cannot write", e))?;
            meta.execute(params!["last_id", last.id.get() as i64])
                .map_err(|e| err(&path, "cannot write", e))?;
            if moved {
                meta.execute(params!["reserved", reserved as i64])
                    .map_err(|e| err(&path, "cannot write", e))?;
            }
        }
        tx.commit().map_err(|e| err(&path, "cannot commit", e))?;
        self.last_id = last.id.get();
        self.reserved_in_log = reserved;
        Ok(())
    }

    fn trim(
        &mut self,
        through_id: EventId,
        before_ms: i64,
        max_rows: usize,
    ) -> Result<usize, LogError> {
        // Ids grow with time, so both rules reach the oldest rows by id first: what goes is a
        // range of ids, up to `through_id` or to just before the oldest row young enough to
        // stay (looked for among the first `max_rows + 1` only: none young there means all of
        // those go), whichever is further. Both are walks along the id index that stop early,
        // so a pass with nothing to delete reads a row or two, and one with a large backlog
        // at most `max_rows + 1` (the first version tested every row's age: with the default
        // 10,000 kept, a scan of the whole table every 64 batches, on the thread publishes
        // wait for).
        self.conn
            .execute(
                "DELETE FROM events WHERE id IN (
                     SELECT id FROM events
                     WHERE id <= max(?1, coalesce(
                         (SELECT id FROM (SELECT id, at_ms FROM events ORDER BY id LIMIT ?3 + 1)
                          WHERE at_ms >= ?2 LIMIT 1) - 1,
                         9223372036854775807))
                     ORDER BY id LIMIT ?3
                 )",
                params![through_id.get() as i64, before_ms, max_rows as i64],
            )
            .map_err(|e| err(&self.path, "cannot trim", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: u64) -> StoredEvent {
        StoredEvent {
            id: EventId::new(id),
            topic: "t".into(),
            data: format!("{{\"n\":{id}}}"),
            at_ms: 1,
        }
    }

    /// Events 1, 2, … accepted at the given times (Unix ms).
    fn accepted_at(times: &[i64]) -> Vec<StoredEvent> {
        (1..)
            .zip(times)
            .map(|(id, &at_ms)| StoredEvent { at_ms, ..ev(id) })
            .collect()
    }

    #[test]
    fn ids_survive_reopen_and_trimming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        {
            let mut log = SqliteLog::open(&path, Sync::Normal, OpenMode::Existing).unwrap();
            assert_eq!(log.last_id(), EventId::ZERO);
            log.append(&[ev(1), ev(2), ev(3)]).unwrap();
            assert_eq!(
                log.trim(EventId::new(3), 0, 2).unwrap(),
                2,
                "bounded by max_rows"
            );
            assert_eq!(log.trim(EventId::new(3), 0, 2).unwrap(), 1);
        }
        let log = SqliteLog::open(&path, Sync::Normal, OpenMode::Existing).unwrap();
        assert_eq!(log.last_id(), EventId::new(3));
        assert!(log.recent(10).unwrap().is_empty());
    }

    #[test]
    fn trims_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let mut log =
            SqliteLog::open(&dir.path().join("e.db"), Sync::Normal, OpenMode::Existing).unwrap();
        log.append(&accepted_at(&[100, 200, 300, 400])).unwrap();
        assert_eq!(
            log.trim(EventId::ZERO, 50, 100).unwrap(),
            0,
            "nothing old yet"
        );
        assert_eq!(log.trim(EventId::ZERO, 250, 100).unwrap(), 2);
        let ids: Vec<_> = log.recent(10).unwrap().iter().map(|e| e.id.get()).collect();
        assert_eq!(ids, [3, 4]);
        // By count past the age boundary, and everything once all is old.
        assert_eq!(log.trim(EventId::new(3), 250, 100).unwrap(), 1);
        assert_eq!(log.trim(EventId::ZERO, 1000, 100).unwrap(), 1);
        assert!(log.recent(10).unwrap().is_empty());
    }

    #[test]
    fn a_backlog_of_old_events_goes_a_bounded_pass_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut log =
            SqliteLog::open(&dir.path().join("e.db"), Sync::Normal, OpenMode::Existing).unwrap();
        log.append(&accepted_at(&[10, 20, 30, 40, 50, 900]))
            .unwrap();
        let passes: Vec<usize> = (0..4)
            .map(|_| log.trim(EventId::ZERO, 100, 2).unwrap())
            .collect();
        assert_eq!(
            passes,
            [2, 2, 1, 0],
            "five old events, two per pass, the young one kept"
        );
        let ids: Vec<_> = log.recent(10).unwrap().iter().map(|e| e.id.get()).collect();
        assert_eq!(ids, [6]);
    }

    #[test]
    fn recent_is_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut log =
            SqliteLog::open(&dir.path().join("e.db"), Sync::Normal, OpenMode::Existing).unwrap();
        log.append(&(1..=5).map(ev).collect::<Vec<_>>()).unwrap();
        let ids: Vec<_> = log.recent(3).unwrap().iter().map(|e| e.id.get()).collect();
        assert_eq!(ids, [3, 4, 5]);
    }

    #[test]
    fn ids_continue_past_a_new_or_deleted_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        let ids = dir.path().join("ids");
        let open = |mode, floor| {
            SqliteLog::open(&path, Sync::Normal, mode)
                .unwrap()
                .keep_ids_in(&ids, EventId::new(floor))
                .unwrap()
        };
        {
            let mut log = open(OpenMode::Existing, 0);
            log.append(&[ev(1), ev(2), ev(3)]).unwrap();
        }
        // The same log again: ids continue from it, no jump.
        assert_eq!(open(OpenMode::Existing, 0).last_id(), EventId::new(3));
        // A fresh log (the old one set aside): past everything the reservation covers.
        let fresh = open(OpenMode::Fresh, 0);
        assert!(fresh.last_id().get() >= 3, "{}", fresh.last_id());
        let restart_at = fresh.last_id();
        drop(fresh);
        // Deleted outright: the same.
        std::fs::remove_file(&path).unwrap();
        let deleted = open(OpenMode::Existing, 0);
        assert!(deleted.last_id() >= restart_at);
        drop(deleted);
        // Both the log and the file gone: the derived tables' newest id is the floor.
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_file(&ids).unwrap();
        assert_eq!(open(OpenMode::Existing, 500).last_id(), EventId::new(500));
    }

    #[test]
    fn the_reservation_moves_ahead_before_ids_pass_it() {
        let dir = tempfile::tempdir().unwrap();
        let ids = dir.path().join("ids");
        let mut log = SqliteLog::open(&dir.path().join("e.db"), Sync::Normal, OpenMode::Existing)
            .unwrap()
            .keep_ids_in(&ids, EventId::ZERO)
            .unwrap();
        assert_eq!(read_reservation(&ids).unwrap(), ID_BLOCK);
        log.append(&[ev(ID_BLOCK + 1)]).unwrap();
        assert_eq!(read_reservation(&ids).unwrap(), 2 * ID_BLOCK + 1);
        log.append(&[ev(ID_BLOCK + 2)]).unwrap();
        drop(log);
        // The log's copy moved with the file, so this is still "the log that reserved": ids
        // continue exactly, without a jump past the reservation.
        let log = SqliteLog::open(&dir.path().join("e.db"), Sync::Normal, OpenMode::Existing)
            .unwrap()
            .keep_ids_in(&ids, EventId::ZERO)
            .unwrap();
        assert_eq!(log.last_id(), EventId::new(ID_BLOCK + 2));
        drop(log);
        std::fs::write(&ids, "not a number").unwrap();
        let e = SqliteLog::open(&dir.path().join("e.db"), Sync::Normal, OpenMode::Existing)
            .unwrap()
            .keep_ids_in(&ids, EventId::ZERO)
            .err()
            .unwrap();
        assert!(e.0.contains("ids"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error_not_an_empty_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.db");
        std::fs::write(&path, b"this is not sqlite, this is precious data ........").unwrap();
        let e = SqliteLog::open(&path, Sync::Normal, OpenMode::Existing)
            .err()
            .unwrap();
        assert!(e.0.contains("--fresh-log"), "{e}");
        assert!(std::fs::read(&path)
            .unwrap()
            .starts_with(b"this is not sqlite"));
        let log = SqliteLog::open(&path, Sync::Normal, OpenMode::Fresh).unwrap();
        assert_eq!(log.last_id(), EventId::ZERO);
        let kept = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().contains("corrupt-"));
        assert!(kept, "the old file is kept aside");
    }
}
