//! [`EventId`]: the position of an event in Pulse's one ordered stream.
//!
//! Ids are minted by the hub's backend (the local sequencer, or Redis for several instances),
//! strictly increasing and never reused: not after a restart, not across instances, and not
//! after the backend lost data (the backend then jumps past every id handed out before, and
//! clients holding an older id get a `reset`). On the wire they are plain decimal numbers, so
//! `Last-Event-ID` and `since=` stay what browsers and scripts already send.

use serde::{Deserialize, Serialize};

/// One event's id. `EventId::ZERO` means "before the first event".
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct EventId(u64);

/// Why a string is not an event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEventId;

impl std::fmt::Display for BadEventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an event id is a decimal number such as 1042")
    }
}

impl std::error::Error for BadEventId {}

impl EventId {
    pub const ZERO: EventId = EventId(0);

    pub const fn new(n: u64) -> EventId {
        EventId(n)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id after this one.
    pub const fn next(self) -> EventId {
        EventId(self.0 + 1)
    }

    /// `n` ids further on (saturating: ids never wrap back to small numbers).
    pub const fn skip(self, n: u64) -> EventId {
        EventId(self.0.saturating_add(n))
    }

    /// The id before this one (`ZERO` stays `ZERO`).
    pub const fn prev(self) -> EventId {
        EventId(self.0.saturating_sub(1))
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for EventId {
    type Err = BadEventId;

    /// Accepts what browsers send back: the digits of an id, surrounding spaces ignored. A sign,
    /// a fraction, or more than 20 digits is refused before any arithmetic.
    fn from_str(s: &str) -> Result<EventId, BadEventId> {
        let s = s.trim();
        if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadEventId);
        }
        s.parse().map(EventId).map_err(|_| BadEventId)
    }
}

impl From<u64> for EventId {
    fn from(n: u64) -> EventId {
        EventId(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_browsers_send_and_nothing_else() {
        assert_eq!(" 42 ".parse(), Ok(EventId::new(42)));
        assert_eq!("0".parse(), Ok(EventId::ZERO));
        for bad in [
            "",
            "-1",
            "+1",
            "1.5",
            "abc",
            "1e3",
            "99999999999999999999999",
        ] {
            assert_eq!(bad.parse::<EventId>(), Err(BadEventId), "{bad:?}");
        }
    }

    #[test]
    fn is_a_bare_number_on_the_wire() {
        assert_eq!(serde_json::to_string(&EventId::new(7)).unwrap(), "7");
        assert_eq!(
            serde_json::from_str::<EventId>("7").unwrap(),
            EventId::new(7)
        );
        assert_eq!(EventId::new(7).to_string(), "7");
    }

    proptest::proptest! {
        /// Whatever a client sends as `Last-Event-ID` / `since`: accepted exactly when it is
        /// 1–20 digits (spaces around ignored) that fit an id, and then it is that number.
        #[test]
        fn any_text_is_an_id_only_if_it_is_the_digits_of_one(raw in "\\PC{0,24}|[ 0-9+-.]{0,24}") {
            let t = raw.trim();
            let expected = (!t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse::<u64>().ok())
                .flatten();
            proptest::prop_assert_eq!(raw.parse::<EventId>().ok(), expected.map(EventId::new));
        }

        #[test]
        fn every_id_survives_the_wire(n in proptest::num::u64::ANY) {
            proptest::prop_assert_eq!(EventId::new(n).to_string().parse::<EventId>(), Ok(EventId::new(n)));
        }
    }
}
