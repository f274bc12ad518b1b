//! SSE frame encoding.
//!
//! A payload is split at every line break — `\r\n`, a lone `\r` and a lone `\n` each count once —
//! and every piece becomes its own `data:` line, so a browser rebuilds the payload with `\n`
//! between the pieces and no payload can ever start a new field or a new event. (`a\r\nb` arrives
//! as `a\nb`: one break, not two. axum's `Event::data` splits `\r` and `\n` separately and turns it
//! into `a\n\nb`.)
//!
//! `id` and `event` values are single-line by definition: a line break or NUL in either is refused
//! with [`FrameError`] rather than escaped, because any escaping would change the value the client
//! sees. Topics and ids made by Pulse never contain them; the check guards the invariant.

/// Why a frame could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The event id contains `\r`, `\n` or NUL (a browser would ignore or split it).
    BadId,
    /// The event name contains `\r` or `\n` (it would end the field early) or NUL.
    BadEventName,
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::BadId => write!(f, "SSE id must not contain CR, LF or NUL"),
            FrameError::BadEventName => write!(f, "SSE event name must not contain CR, LF or NUL"),
        }
    }
}

impl std::error::Error for FrameError {}

fn single_line(s: &str) -> bool {
    !s.contains(['\r', '\n', '\0'])
}

/// Encodes one event: optional `id:` and `event:` fields, the data lines, and the blank line that
/// dispatches it.
///
/// An empty `data` is sent as one empty `data:` line, which the spec dispatches as an event with
/// empty data.
pub fn event(id: Option<&str>, name: Option<&str>, data: &str) -> Result<String, FrameError> {
    let mut out = String::with_capacity(data.len() + 32);
    if let Some(id) = id {
        if !single_line(id) {
            return Err(FrameError::BadId);
        }
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    if let Some(name) = name {
        if !single_line(name) {
            return Err(FrameError::BadEventName);
        }
        out.push_str("event: ");
        out.push_str(name);
        out.push('\n');
    }
    for line in lines(data) {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Ok(out)
}

/// The `retry:` field alone: tells the browser how long to wait before reconnecting.
pub fn retry(millis: u64) -> String {
    format!("retry: {millis}\n\n")
}

/// A comment line (`: text`), which clients ignore; used as the heartbeat that keeps proxies
/// from timing out an idle stream. Line breaks in `text` become spaces.
pub fn comment(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if matches!(c, '\r' | '\n') { ' ' } else { c })
        .collect();
    format!(": {text}\n\n")
}

/// Splits at `\r\n`, `\r` or `\n`, each counting as one break. Always yields at least one piece.
fn lines(data: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.find(['\r', '\n']) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::parse::{parse_all, Parsed};
    use proptest::prelude::*;

    #[test]
    fn plain_event_has_all_fields() {
        let f = event(Some("7"), Some("stocks"), r#"{"a":1}"#).unwrap();
        assert_eq!(f, "id: 7\nevent: stocks\ndata: {\"a\":1}\n\n");
    }

    #[test]
    fn each_kind_of_line_break_starts_one_new_data_line() {
        assert_eq!(event(None, None, "a\nb").unwrap(), "data: a\ndata: b\n\n");
        assert_eq!(event(None, None, "a\rb").unwrap(), "data: a\ndata: b\n\n");
        assert_eq!(event(None, None, "a\r\nb").unwrap(), "data: a\ndata: b\n\n");
        assert_eq!(
            event(None, None, "a\n\rb").unwrap(),
            "data: a\ndata: \ndata: b\n\n"
        );
        assert_eq!(event(None, None, "a\n").unwrap(), "data: a\ndata: \n\n");
    }

    #[test]
    fn crlf_arrives_as_one_newline() {
        let events = parse_all(&event(Some("1"), None, "a\r\nb").unwrap());
        assert_eq!(events[0].data, "a\nb");
    }

    #[test]
    fn injection_attempt_stays_inside_the_data() {
        let evil = "x\n\nevent: admin\ndata: pwned\nid: 999";
        let events = parse_all(&event(Some("1"), Some("feed"), evil).unwrap());
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "feed");
        assert_eq!(events[0].id.as_deref(), Some("1"));
        assert_eq!(events[0].data, "x\n\nevent: admin\ndata: pwned\nid: 999");
    }

    #[test]
    fn ids_and_names_with_line_breaks_or_nul_are_refused() {
        for bad in ["1\n2", "1\r", "a\0"] {
            assert_eq!(event(Some(bad), None, "x"), Err(FrameError::BadId));
            assert_eq!(event(None, Some(bad), "x"), Err(FrameError::BadEventName));
        }
    }

    #[test]
    fn comments_and_retry_are_single_lines() {
        assert_eq!(comment("a\r\nb"), ": a  b\n\n");
        assert_eq!(retry(1500), "retry: 1500\n\n");
        let parsed = parse_all(&(retry(1500) + &comment("hb")));
        assert!(parsed.is_empty());
    }

    proptest! {
        /// Any string (line breaks, NUL, leading spaces, colons, unicode, empty) survives
        /// encode -> spec parse unchanged, apart from the spec's one rule that a line break
        /// is delivered as `\n`.
        #[test]
        fn any_payload_roundtrips(data in "\\PC*|[\\r\\n :a\\x00é]{0,12}", id in 1u64..u64::MAX) {
            let frame = event(Some(&id.to_string()), Some("t"), &data).unwrap();
            let events = parse_all(&frame);
            let expected = data.replace("\r\n", "\n").replace('\r', "\n");
            prop_assert_eq!(events, vec![Parsed {
                id: Some(id.to_string()),
                event: "t".to_owned(),
                data: expected,
            }]);
        }

        #[test]
        fn arbitrary_strings_roundtrip(data in any::<String>()) {
            let events = parse_all(&event(None, None, &data).unwrap());
            let expected = data.replace("\r\n", "\n").replace('\r', "\n");
            prop_assert_eq!(events.len(), 1);
            prop_assert_eq!(&events[0].data, &expected);
        }
    }
}
