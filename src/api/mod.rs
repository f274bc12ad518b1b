//! Server functions: the UI's own actions (sign in as operator, change a game, post to the
//! feed, page back through older posts, start and stop jobs, read the notification history). Each file declares its functions — the browser gets
//! typed client stubs — with their bodies beside them in a server-only `ssr` module, and one
//! error enum whose messages tell the reader what to do and which owns its HTTP status.
//!
//! The enums encode as JSON, so the browser gets the variant back, not just a string.

pub mod feed;
pub mod jobs;
pub mod monitor;
pub mod notifications;
pub mod operator;
#[cfg(feature = "ssr")]
pub mod request;
pub mod scores;

/// An error a server function answers with: it knows the HTTP status that goes with it.
pub trait Refusal {
    fn status(&self) -> u16;
}

/// Called when a call fails before its body ran (`FromServerFnError`): on the server, arguments
/// that did not decode are the caller's mistake, answered 400 instead of server_fn's 500. The
/// message (which field, what was wrong) is the decoder's, with nothing about the server in it.
pub fn request_failed(e: &leptos::server_fn::error::ServerFnErrorErr) {
    #[cfg(feature = "ssr")]
    request::mark_client_fault(e);
    #[cfg(not(feature = "ssr"))]
    let _ = e;
}
