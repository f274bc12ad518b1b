//! Durable storage behind the hub's [`crate::hub::EventLog`] interface. SQLite is the embedded
//! default; a Redis Streams backend for several instances belongs beside it.

pub mod sqlite;

pub use sqlite::{OpenMode, SqliteLog, Sync};
