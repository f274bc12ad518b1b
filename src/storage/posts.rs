//! The feed's posts in their own SQLite file (`<data-dir>/posts.db`), kept for good: the event
//! log only holds a replay window, but readers scroll back through every post ever made.
//!
//! A post's id is the id of the event that carried it, so writing the same event twice (a replay
//! after a restart) is a no-op, and paging by id matches the order the hub gave.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection};

use crate::event::Post;

/// Why the posts table could not be used; the message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostsError(pub String);

impl std::fmt::Display for PostsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PostsError {}

/// Handle to the posts file; cheap to clone.
///
/// One connection behind a `std::sync::Mutex`: every statement is a short indexed read or a
/// small insert, and callers run them on the blocking pool (`spawn_blocking`), never holding the
/// lock across an await.
#[derive(Clone)]
pub struct PostStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl PostStore {
    pub fn open(path: &Path) -> Result<PostStore, PostsError> {
        let fail =
            |what: &str, e: rusqlite::Error| PostsError(format!("{what} {}: {e}", path.display()));
        let conn = Connection::open(path).map_err(|e| fail("cannot open", e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS posts (
                 id     INTEGER PRIMARY KEY,
                 author TEXT    NOT NULL,
                 text   TEXT    NOT NULL,
                 at_ms  INTEGER NOT NULL
             );",
        )
        .map_err(|e| fail("cannot set up the posts table in", e))?;
        Ok(PostStore {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, e: rusqlite::Error) -> PostsError {
        PostsError(format!("posts file {}: {e}", self.path.display()))
    }

    /// Stores posts (in one transaction); ids already present are left as they are.
    pub fn insert(&self, posts: &[Post]) -> Result<(), PostsError> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(|e| self.fail(e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO posts (id, author, text, at_ms) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| self.fail(e))?;
            for p in posts {
                stmt.execute(params![p.id as i64, p.author, p.text, p.at])
                    .map_err(|e| self.fail(e))?;
            }
        }
        tx.commit().map_err(|e| self.fail(e))
    }

    /// Up to `limit` posts with ids below `before` (all when `None`), newest first.
    pub fn page(&self, before: Option<u64>, limit: usize) -> Result<Vec<Post>, PostsError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, author, text, at_ms FROM posts WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
            )
            .map_err(|e| self.fail(e))?;
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        let rows = stmt
            .query_map(params![before, limit as i64], |r| {
                Ok(Post {
                    id: r.get::<_, i64>(0)? as u64,
                    author: r.get(1)?,
                    text: r.get(2)?,
                    at: r.get(3)?,
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// The newest stored id (0 when empty): the recorder resumes after it.
    pub fn last_id(&self) -> Result<u64, PostsError> {
        self.lock()
            .query_row("SELECT COALESCE(MAX(id), 0) FROM posts", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|id| id as u64)
            .map_err(|e| self.fail(e))
    }
}

/// Posts are keyed by event id, so the newest post's id is the mark.
impl super::Table for PostStore {
    const TOPIC: crate::event::BuiltIn = crate::event::BuiltIn::Feed;
    const NAME: &'static str = "posts table";

    fn mark(&self) -> Result<crate::event::EventId, PostsError> {
        self.last_id().map(crate::event::EventId::new)
    }

    fn store(
        &self,
        events: &[std::sync::Arc<crate::hub::Event>],
        _through: crate::event::EventId,
    ) -> Result<(), PostsError> {
        use crate::event::{NewPost, Payload};
        let posts: Vec<Post> = events
            .iter()
            .filter_map(|e| {
                NewPost::parse(&e.data)
                    .ok()
                    .map(|p| Post::new(e.id.get(), &p))
            })
            .collect();
        self.insert(&posts)
    }

    fn store_snapshot(
        &self,
        snapshot: &crate::event::Snapshot,
        _through: crate::event::EventId,
    ) -> Result<(), PostsError> {
        let since = self.last_id()?;
        let posts: Vec<Post> = snapshot
            .feed
            .posts
            .iter()
            .filter(|p| p.id > since)
            .cloned()
            .collect();
        self.insert(&posts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: u64) -> Post {
        Post {
            id,
            author: "ann".into(),
            text: format!("<b>post {id}</b>"),
            at: id as i64 * 1000,
        }
    }

    #[test]
    fn pages_newest_first_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posts.db");
        {
            let store = PostStore::open(&path).unwrap();
            assert_eq!(store.last_id().unwrap(), 0);
            store
                .insert(&(1..=5).map(post).collect::<Vec<_>>())
                .unwrap();
            store.insert(&[post(3)]).unwrap();
        }
        let store = PostStore::open(&path).unwrap();
        assert_eq!(store.last_id().unwrap(), 5);
        let ids = |v: Vec<Post>| v.iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids(store.page(None, 2).unwrap()), [5, 4]);
        assert_eq!(ids(store.page(Some(4), 10).unwrap()), [3, 2, 1]);
        assert!(store.page(Some(1), 10).unwrap().is_empty());
        assert_eq!(store.page(Some(3), 1).unwrap()[0], post(2));
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posts.db");
        std::fs::write(
            &path,
            b"not a database at all, just text that is long enough",
        )
        .unwrap();
        let err = PostStore::open(&path).err().expect("refused");
        assert!(err.0.contains("posts.db"), "{err}");
    }
}
