//! A parser for `text/event-stream` that follows the HTML spec's "interpreting an event stream"
//! step by step: lines end at `\r\n`, `\r` or `\n`; a field's value loses one leading space;
//! `data` lines are joined with `\n`; an `id` containing NUL is ignored; an event is dispatched
//! at a blank line only when its data is non-empty; the last id persists across events.
//!
//! It reads what a browser's `EventSource` would deliver, so tests can assert on that rather
//! than on bytes.

/// One dispatched event, as a browser's `MessageEvent` would carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The last event id in force when this event was dispatched (`lastEventId`).
    pub id: Option<String>,
    /// The event type; `message` when the frame had no `event:` field.
    pub event: String,
    pub data: String,
}

/// Incremental parser: feed it text as it arrives, collect events as they complete.
#[derive(Debug, Default)]
pub struct Parser {
    pending: String,
    /// A `\r` ended the previous chunk, so a `\n` at the start of the next one is its pair.
    after_cr: bool,
    data: String,
    has_data: bool,
    event: String,
    last_id: Option<String>,
    /// The latest `retry:` value seen, in milliseconds.
    pub retry: Option<u64>,
    /// How many comment lines (heartbeats) were seen.
    pub comments: usize,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// Feeds a chunk of the stream; returns the events it completed.
    pub fn feed(&mut self, chunk: &str) -> Vec<Parsed> {
        let mut out = Vec::new();
        let mut text = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = text.strip_prefix('\n') {
                text = rest;
            }
        }
        self.pending.push_str(text);
        while let Some(i) = self.pending.find(['\r', '\n']) {
            let line: String = self.pending[..i].to_owned();
            let mut skip = 1;
            if self.pending[i..].starts_with('\r') {
                if self.pending[i + 1..].starts_with('\n') {
                    skip = 2;
                } else if i + 1 == self.pending.len() {
                    self.after_cr = true;
                }
            }
            self.pending.drain(..i + skip);
            self.line(&line, &mut out);
        }
        out
    }

    fn line(&mut self, line: &str, out: &mut Vec<Parsed>) {
        if line.is_empty() {
            if self.has_data {
                out.push(Parsed {
                    id: self.last_id.clone(),
                    event: if self.event.is_empty() {
                        "message".to_owned()
                    } else {
                        std::mem::take(&mut self.event)
                    },
                    data: std::mem::take(&mut self.data),
                });
            }
            self.data.clear();
            self.has_data = false;
            self.event.clear();
            return;
        }
        if line.starts_with(':') {
            self.comments += 1;
            return;
        }
        let (field, value) = match line.find(':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = value.to_owned(),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }
}

/// Parses a complete stream.
pub fn parse_all(stream: &str) -> Vec<Parsed> {
    Parser::new().feed(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_chunks_give_the_same_events() {
        let stream = "id: 1\r\nevent: a\r\ndata: x\r\n\r\nid: 2\rdata: y\r\r";
        let whole = parse_all(stream);
        let mut p = Parser::new();
        let mut pieces = Vec::new();
        for ch in stream.chars() {
            pieces.extend(p.feed(&ch.to_string()));
        }
        assert_eq!(whole, pieces);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[1].id.as_deref(), Some("2"));
        assert_eq!(whole[1].event, "message");
    }

    #[test]
    fn spec_details() {
        let ev = parse_all("data\ndata:  two\n\n");
        assert_eq!(ev[0].data, "\n two");
        assert!(parse_all("data:\n\n").len() == 1);
        assert!(parse_all("event: x\n\n").is_empty());
        let ev = parse_all("id: 5\ndata: a\n\nid: bad\0\ndata: b\n\n");
        assert_eq!(ev[1].id.as_deref(), Some("5"));
    }
}
