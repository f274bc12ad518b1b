//! Server functions: the UI's own actions (sign in as scorekeeper, change a game, post to the
//! feed, page back through older posts). Declared here so the browser gets typed client stubs;
//! the bodies run on the server only and live in [`crate::server::actions`].
//!
//! Each returns a typed error enum whose messages tell the reader what to do; the enums encode
//! as JSON so the browser gets the variant back, not just a string.

pub mod feed;
pub mod scores;
