//! Built-in publishers. Each runs as a task that publishes through the hub like any external
//! publisher would, and stops when its cancellation token is cancelled: at shutdown, or — for
//! the simulators — when this instance stops being the one that runs them ([`leader`]).

pub mod jobs;
pub mod leader;
pub mod monitor;
pub mod scores;
pub mod stocks;

use crate::event::EventId;
use crate::hub::PublishError;

/// Whether a publish result means "stop publishing": only a shutdown does. A backend outage
/// (Redis unreachable) or a full disk skips this tick; the next one tries again.
pub fn stopped(result: Result<EventId, PublishError>) -> bool {
    match result {
        Ok(_) => false,
        Err(PublishError::ShuttingDown) => true,
        Err(e) => {
            tracing::debug!("source: publish skipped: {e}");
            false
        }
    }
}
