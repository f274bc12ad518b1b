//! `monitor_history`: the chart history of one range, for `/monitor` when its range changes in
//! the browser (the first page load has it embedded; see [`crate::live::snapshot`]).

use leptos::prelude::*;
use leptos::server_fn::error::ServerFnError;

use crate::event::history::HistoryView;

/// The monitor's downsampled history for `range` (`5m`, `1h` or `24h`; anything else is 5 min).
#[server(prefix = "/api/fn", endpoint = "monitor_history")]
pub async fn monitor_history(range: String) -> Result<HistoryView, ServerFnError> {
    let range = crate::event::history::Range::parse(&range).unwrap_or_default();
    Ok(super::request::state().hub.monitor_history(range))
}
