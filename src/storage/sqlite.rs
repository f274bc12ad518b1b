//! The event log in an SQLite file (WAL mode), one transaction per batch of publishes.
//!
//! `last_id` is kept in a `meta` row written in the same transaction as the events, so the id
//! sequence survives even when retention has deleted every event row: ids are never reused.

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

pub struct SqliteLog {
    conn: Connection,
    last_id: u64,
    path: PathBuf,
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
        Ok(SqliteLog {
            conn,
            last_id,
            path: path.to_owned(),
        })
    }
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
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('last_id', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [last.id.get() as i64],
            )
            .map_err(|e| err(&path, "cannot write", e))?;
        }
        tx.commit().map_err(|e| err(&path, "cannot commit", e))?;
        self.last_id = last.id.get();
        Ok(())
    }

    fn trim(
        &mut self,
        through_id: EventId,
        before_ms: i64,
        max_rows: usize,
    ) -> Result<usize, LogError> {
        // Ids grow with time, so the oldest rows by id are the ones both rules reach first.
        self.conn
            .execute(
                "DELETE FROM events WHERE id IN (
                     SELECT id FROM events WHERE id <= ?1 OR at_ms < ?2 ORDER BY id LIMIT ?3
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
        let mut events: Vec<_> = (1..=4).map(ev).collect();
        for (e, at) in events.iter_mut().zip([100, 200, 300, 400]) {
            e.at_ms = at;
        }
        log.append(&events).unwrap();
        assert_eq!(log.trim(EventId::ZERO, 250, 100).unwrap(), 2);
        let ids: Vec<_> = log.recent(10).unwrap().iter().map(|e| e.id.get()).collect();
        assert_eq!(ids, [3, 4]);
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
