//! Where the browser's state starts: the snapshot the server embedded in the page, or a fresh
//! one fetched after a `reset`.

use std::sync::{Arc, OnceLock};

use leptos::prelude::*;
use leptos::server_fn::error::ServerFnError;

use crate::event::history::HistoryView;
use crate::event::Snapshot;

/// The snapshot a page renders from, as the render's context: shared, not copied, by the shell
/// and the app, and by every page rendered before the state changes again (the server keeps
/// one per change, see `AppState::snapshot`), which also makes its embedded JSON once.
#[derive(Debug, Clone, Default)]
pub struct PageSnapshot {
    state: Arc<Snapshot>,
    json: Arc<OnceLock<Arc<str>>>,
}

impl PageSnapshot {
    pub fn new(state: Arc<Snapshot>) -> PageSnapshot {
        PageSnapshot {
            state,
            json: Arc::default(),
        }
    }

    /// [`embed_json`] of the snapshot, computed the first time a page asks.
    pub fn embedded_json(&self) -> Arc<str> {
        self.json
            .get_or_init(|| embed_json(&self.state).into())
            .clone()
    }
}

impl std::ops::Deref for PageSnapshot {
    type Target = Snapshot;

    fn deref(&self) -> &Snapshot {
        &self.state
    }
}

/// JSON that is safe inside `<script>`: `<` never appears raw, so no payload (a post saying
/// `</script><script>…`) can end the element early. `\u003c` is the same string to a JSON parser.
fn embed_json(snapshot: &Snapshot) -> String {
    serde_json::to_string(snapshot)
        .unwrap_or_else(|_| "{}".into())
        .replace('<', "\\u003c")
}

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
    use_context::<PageSnapshot>()
        .map(|page| Snapshot::clone(&page))
        .ok_or_else(|| ServerFnError::new("the server has no snapshot for this request"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_embeds_its_snapshot_as_json_no_post_can_break_out_of() {
        let mut s = Snapshot::default();
        s.apply(
            crate::event::EventId::new(7),
            "feed",
            r#"{"author":"x","text":"</script><script>alert(1)</script>"}"#,
        )
        .unwrap();
        let page = PageSnapshot::new(Arc::new(s.clone()));
        let json = page.embedded_json();
        assert!(!json.contains('<'), "{json}");
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        // Every render of this snapshot embeds the same text, made once.
        assert!(Arc::ptr_eq(&json, &page.clone().embedded_json()));
    }
}
