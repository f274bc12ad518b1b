//! What the tabs of one browser say to each other over the `BroadcastChannel` (see
//! [`super::tabs`]). Plain data, serialized as JSON strings, so it is tested on the host.
//!
//! The leader tab holds the stream and sends [`TabMessage::Event`] for every event it applies,
//! with `prev`, the id it had applied just before: a follower whose newest id is older than
//! `prev` has missed something and asks with [`TabMessage::Hello`] instead of applying.

use serde::{Deserialize, Serialize};

use super::ConnectionState;

/// One event as the leader applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relayed {
    pub id: u64,
    /// The leader's newest applied id before this event: the ids in between do not exist
    /// for the leader's topics, so a tab at `prev` or newer has missed nothing.
    pub prev: u64,
    pub topic: String,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum TabMessage {
    /// Leader → all: an event from the stream.
    Event(Relayed),
    /// Leader → all: the badge state changed.
    Status { state: ConnectionState },
    /// Leader → all: how many browsers are watching.
    Presence { watching: u64 },
    /// Leader → all: the server said `reset`; the leader replaced its state with a snapshot
    /// at `id`. Followers fetch their own snapshot, then ask for what followed.
    Replaced { id: u64 },
    /// New leader → all: say where you are (the old leader may have left mid-way).
    Leader,
    /// Follower → leader: send me what you applied after `since`.
    Hello { tab: String, since: u64 },
    /// Leader → the follower `tab`: the events after its `since` (`None`: older than the
    /// leader remembers; take a fresh snapshot), with the badge and presence as they are now.
    CatchUp {
        tab: String,
        events: Option<Vec<Relayed>>,
        state: ConnectionState,
        watching: Option<u64>,
    },
}

impl TabMessage {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("plain data always serializes")
    }

    /// `None` for anything that is not one of ours (another version of Pulse in another tab
    /// during a deploy may speak differently: ignoring it is safe, the ids catch up).
    pub fn decode(text: &str) -> Option<TabMessage> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_strangers_are_ignored() {
        let messages = [
            TabMessage::Event(Relayed {
                id: 7,
                prev: 5,
                topic: "stocks".into(),
                data: r#"{"symbol":"A","price":1}"#.into(),
            }),
            TabMessage::Status {
                state: ConnectionState::Reconnecting,
            },
            TabMessage::Presence { watching: 3 },
            TabMessage::Replaced { id: 90 },
            TabMessage::Leader,
            TabMessage::Hello {
                tab: "t1".into(),
                since: 4,
            },
            TabMessage::CatchUp {
                tab: "t1".into(),
                events: None,
                state: ConnectionState::Live,
                watching: Some(2),
            },
        ];
        for m in messages {
            assert_eq!(TabMessage::decode(&m.encode()), Some(m));
        }
        assert_eq!(TabMessage::decode(r#"{"t":"shout"}"#), None);
        assert_eq!(TabMessage::decode("not json"), None);
    }
}
