//! Jobs in their own SQLite file (`<data-dir>/jobs.db`): the newest state of every job, so a job
//! outlives the replay window and a restart. Filled from committed `jobs` events by the
//! recorder; the `meta` row `through` says how far.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use super::PostsError as StoreError;
use crate::event::{EventId, Job, Payload, Snapshot};
use crate::hub::Event;

/// Handle to the jobs file; cheap to clone. One connection behind a `std` mutex, used from the
/// blocking pool only.
#[derive(Clone)]
pub struct JobStore {
    conn: Arc<Mutex<Connection>>,
}

fn fail(e: rusqlite::Error) -> StoreError {
    // The path is in the log line at open; messages that may reach clients stay generic.
    StoreError(format!("jobs table: {e}"))
}

impl JobStore {
    pub fn open(path: &Path) -> Result<JobStore, StoreError> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError(format!("cannot open {}: {e}", path.display())))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS jobs (
                 id         TEXT    PRIMARY KEY,
                 updated_ms INTEGER NOT NULL,
                 data       TEXT    NOT NULL
             );
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
        )
        .map_err(|e| StoreError(format!("cannot set up {}: {e}", path.display())))?;
        Ok(JobStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn upsert(&self, jobs: &[Job], through: EventId) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(fail)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO jobs (id, updated_ms, data) VALUES (?1, ?2, ?3)
                     ON CONFLICT(id) DO UPDATE SET updated_ms = excluded.updated_ms,
                                                   data = excluded.data",
                )
                .map_err(fail)?;
            for j in jobs {
                let data = serde_json::to_string(j).expect("a job serializes");
                put.execute(params![j.id, j.updated_ms, data])
                    .map_err(fail)?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('through', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)",
                [through.get() as i64],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    /// Every job, newest update first.
    pub fn all(&self) -> Result<Vec<Job>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT data FROM jobs ORDER BY updated_ms DESC")
            .map_err(fail)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(fail)?;
        let mut out = Vec::new();
        for data in rows {
            if let Ok(job) = serde_json::from_str::<Job>(&data.map_err(fail)?) {
                out.push(job);
            }
        }
        Ok(out)
    }

    pub fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let data: Option<String> = self
            .lock()
            .query_row("SELECT data FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(fail)?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }
}

impl super::Table for JobStore {
    const TOPIC: crate::event::BuiltIn = crate::event::BuiltIn::Jobs;
    const NAME: &'static str = "jobs table";

    fn mark(&self) -> Result<EventId, StoreError> {
        let v: Option<i64> = self
            .lock()
            .query_row("SELECT value FROM meta WHERE key = 'through'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(fail)?;
        Ok(EventId::new(v.unwrap_or(0) as u64))
    }

    fn store(&self, events: &[Arc<Event>], through: EventId) -> Result<(), StoreError> {
        // Events carry whole states: the newest per job wins.
        let jobs: Vec<Job> = events
            .iter()
            .filter_map(|e| Job::parse(&e.data).ok())
            .collect();
        self.upsert(&jobs, through)
    }

    fn store_snapshot(&self, snapshot: &Snapshot, through: EventId) -> Result<(), StoreError> {
        let jobs: Vec<Job> = snapshot.jobs.jobs.values().cloned().collect();
        self.upsert(&jobs, through)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::jobs::JobKind;
    use crate::event::Topic;
    use crate::storage::Table;

    #[test]
    fn keeps_the_newest_state_of_each_job_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.db");
        let job = Job::new("a".into(), "Export", Some(10), JobKind::External, 1).unwrap();
        let mut later = job.clone();
        later.step = 7;
        later.updated_ms = 5;
        let ev = |id: u64, j: &Job| {
            Arc::new(Event::new(
                EventId::new(id),
                Topic::parse("jobs").unwrap(),
                serde_json::to_string(j).unwrap(),
                0,
            ))
        };
        {
            let store = JobStore::open(&path).unwrap();
            store
                .store(&[ev(3, &job), ev(4, &later)], EventId::new(4))
                .unwrap();
        }
        let store = JobStore::open(&path).unwrap();
        assert_eq!(store.mark().unwrap(), EventId::new(4));
        assert_eq!(store.get("a").unwrap().unwrap().step, 7);
        assert_eq!(store.all().unwrap().len(), 1);
    }
}
