//! Where the browser's state starts: the snapshot the server embedded in the page, or a fresh
//! one fetched after a `reset`.

use leptos::prelude::*;
use leptos::server_fn::error::ServerFnError;

use crate::event::history::HistoryView;
use crate::event::Snapshot;

/// The id of the `<script type="application/json">` that carries the page's snapshot.
pub const SNAPSHOT_ELEMENT_ID: &str = "pulse-snapshot";

/// The id of the `<script type="application/json">` that carries `/monitor`'s chart history
/// for the range in its address (only on that page).
pub const HISTORY_ELEMENT_ID: &str = "pulse-history";

/// The chart history the page was rendered with: the request's on the server, the embedded one
/// in the browser. The browser takes it once (the element is removed), so a later visit to
/// `/monitor` within the app fetches a current one instead of reusing a stale copy.
pub fn take_page_history() -> Option<HistoryView> {
    #[cfg(feature = "hydrate")]
    {
        let el = document().get_element_by_id(HISTORY_ELEMENT_ID)?;
        let text = el.text_content()?;
        el.remove();
        serde_json::from_str(&text).ok()
    }
    #[cfg(not(feature = "hydrate"))]
    use_context::<HistoryView>()
}

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
