//! Topic names: lowercase, `[a-z0-9][a-z0-9._-]{0,63}`, so a topic can never smuggle a line break
//! into the `event:` field of an SSE frame or a path segment into a URL.

use serde::{Deserialize, Serialize};

/// The topics Pulse's own views show, each with a typed payload and a view state.
///
/// Adding a view adds a variant here; every `match` over it is exhaustive (no catch-all arms),
/// so the compiler lists each place that must learn about the new view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuiltIn {
    Stocks,
    Scores,
    Feed,
    Monitor,
    Notifications,
    Jobs,
}

impl BuiltIn {
    /// Every built-in topic, in the order the client registers them. The pages subscribe to
    /// all of them on one stream.
    pub const ALL: [BuiltIn; 6] = [
        BuiltIn::Stocks,
        BuiltIn::Scores,
        BuiltIn::Feed,
        BuiltIn::Monitor,
        BuiltIn::Notifications,
        BuiltIn::Jobs,
    ];

    /// The topic's name on the wire (`event:` field, URLs, the log).
    pub const fn name(self) -> &'static str {
        match self {
            BuiltIn::Stocks => "stocks",
            BuiltIn::Scores => "scores",
            BuiltIn::Feed => "feed",
            BuiltIn::Monitor => "monitor",
            BuiltIn::Notifications => "notifications",
            BuiltIn::Jobs => "jobs",
        }
    }

    /// The built-in topic called `name`, if any.
    pub fn from_name(name: &str) -> Option<BuiltIn> {
        BuiltIn::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The topic, as the hub takes it.
    pub fn topic(self) -> Topic {
        Topic(self.name().to_owned())
    }
}

impl std::fmt::Display for BuiltIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The longest topic name accepted.
pub const MAX_LEN: usize = 64;

/// A validated topic name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Topic(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicError {
    Empty,
    TooLong(usize),
    /// The first character must be a lowercase letter or digit.
    BadStart(char),
    BadChar(char),
    /// A name the stream uses for its own control events.
    Reserved(&'static str),
}

/// Event names `/api/events` uses for its own messages (a `reset` telling the client to
/// re-snapshot, the `presence` count). The `event:` field of a topic's events is the topic's
/// name, so a topic with one of these names would be read as a control message by every
/// client (the browser, `pulse tail`): nothing may be published or subscribed under them.
pub const RESERVED: [&str; 2] = ["reset", "presence"];

impl std::fmt::Display for TopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TopicError::Empty => write!(f, "topic name is empty"),
            TopicError::TooLong(n) => {
                write!(
                    f,
                    "topic name is {n} characters long; the limit is {MAX_LEN}"
                )
            }
            TopicError::BadStart(c) => write!(
                f,
                "topic name starts with {c:?}; it must start with a lowercase letter or digit"
            ),
            TopicError::BadChar(c) => write!(
                f,
                "topic name contains {c:?}; allowed are lowercase letters, digits, '.', '_' and '-'"
            ),
            TopicError::Reserved(name) => write!(
                f,
                "topic name {name:?} is reserved for the stream's control events; choose another"
            ),
        }
    }
}

impl std::error::Error for TopicError {}

impl Topic {
    pub fn parse(name: &str) -> Result<Topic, TopicError> {
        let mut chars = name.chars();
        let first = chars.next().ok_or(TopicError::Empty)?;
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(TopicError::BadStart(first));
        }
        if let Some(c) = chars.find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        }) {
            return Err(TopicError::BadChar(c));
        }
        if name.len() > MAX_LEN {
            return Err(TopicError::TooLong(name.len()));
        }
        Ok(Topic(name.to_owned()))
    }

    /// [`Topic::parse`] for a name a client gives to publish or subscribe: also refuses the
    /// [`RESERVED`] names. (Stored events are read back with `parse`, so a log written before
    /// the reservation still loads.)
    pub fn parse_new(name: &str) -> Result<Topic, TopicError> {
        let topic = Topic::parse(name)?;
        match RESERVED.iter().find(|r| **r == name) {
            Some(reserved) => Err(TopicError::Reserved(reserved)),
            None => Ok(topic),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The built-in view this topic feeds, or `None` for a custom topic.
    pub fn builtin(&self) -> Option<BuiltIn> {
        BuiltIn::from_name(&self.0)
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Topic {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Topic::parse(&s)
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_pattern() {
        for ok in ["stocks", "a", "0", "orders.eu-west_1", &"x".repeat(64)] {
            assert!(Topic::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(Topic::parse(""), Err(TopicError::Empty));
        assert_eq!(Topic::parse("Stocks"), Err(TopicError::BadStart('S')));
        assert_eq!(Topic::parse("-x"), Err(TopicError::BadStart('-')));
        assert_eq!(Topic::parse("a\nb"), Err(TopicError::BadChar('\n')));
        assert_eq!(Topic::parse("a b"), Err(TopicError::BadChar(' ')));
        assert_eq!(Topic::parse(&"x".repeat(65)), Err(TopicError::TooLong(65)));
        for name in RESERVED {
            assert_eq!(Topic::parse_new(name), Err(TopicError::Reserved(name)));
        }
        assert!(Topic::parse_new("resets").is_ok());
    }

    #[test]
    fn built_in_names_round_trip_and_are_valid_topics() {
        for b in BuiltIn::ALL {
            assert_eq!(BuiltIn::from_name(b.name()), Some(b));
            assert_eq!(Topic::parse(b.name()).unwrap().builtin(), Some(b));
            assert_eq!(b.topic().as_str(), b.name());
        }
        assert_eq!(Topic::parse("orders").unwrap().builtin(), None);
    }
}
