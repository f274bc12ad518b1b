//! Where the browser's state starts: the snapshot the server embedded in the page, or a fresh
//! one fetched after a `reset`.

use leptos::prelude::*;
use leptos::server_fn::error::ServerFnError;

use crate::event::Snapshot;

/// The id of the `<script type="application/json">` that carries the page's snapshot.
pub const SNAPSHOT_ELEMENT_ID: &str = "pulse-snapshot";

/// Reads the snapshot the server embedded in the page (`<script id="pulse-snapshot">`).
#[cfg(feature = "hydrate")]
pub fn read_embedded_snapshot() -> Option<Snapshot> {
    let text = document()
        .get_element_by_id(SNAPSHOT_ELEMENT_ID)?
        .text_content()?;
    serde_json::from_str(&text).ok()
}

/// A fresh snapshot of every view, for a client told to `reset`.
#[server(prefix = "/api/fn", endpoint = "snapshot")]
pub async fn fetch_snapshot() -> Result<Snapshot, ServerFnError> {
    use_context::<Snapshot>()
        .ok_or_else(|| ServerFnError::new("the server has no snapshot for this request"))
}
