//! The Server-Sent Events wire format, written once: [`frame`] encodes, [`parse`] decodes exactly
//! as the HTML spec's event-stream interpretation does (used by tests and the load tool to read
//! what a browser would read). The `/api/events` handler lives in `server::events`.

pub mod frame;
pub mod parse;
