//! The backends behind [`crate::hub::broker::Broker`], side by side:
//! - [`local`]: one process; a sequencer thread assigns ids and group-commits to an embedded
//!   log (SQLite). The zero-setup default.
//! - [`memory`]: no disk; several hubs can share one, which lets the hub's unit tests check
//!   multi-instance behaviour without a network.
//! - [`redis`]: several instances on Redis Streams; ids minted in Redis, every instance tails
//!   the stream.

pub mod local;
pub mod log;
pub mod memory;
pub mod redis;
mod sequencer;
