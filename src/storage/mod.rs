//! Durable storage behind the hub's [`crate::hub::EventLog`] interface. SQLite is the embedded
//! default; a Redis Streams backend for several instances belongs beside it. The feed's posts
//! live in their own file ([`posts`]), kept beyond the replay window.

pub mod posts;
pub mod sqlite;

pub use posts::{PostStore, PostsError};
pub use sqlite::{OpenMode, SqliteLog, Sync};
