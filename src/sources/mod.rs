//! Built-in publishers. Each runs as a task that publishes through the hub like any external
//! publisher would, and stops when the server's shutdown token is cancelled.

pub mod monitor;
pub mod scores;
pub mod stocks;
