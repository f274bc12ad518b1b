//! An incremental `text/event-stream` parser following the WHATWG HTML "server-sent events"
//! parsing rules: lines end in CRLF, LF or CR (a CR at the end of one chunk and an LF at the
//! start of the next are one line end), a leading UTF-8 BOM is dropped, `:` lines are comments,
//! a field without a colon has an empty value, one space after the colon is removed, every
//! `data` line appends its value and a LF, and a blank line dispatches the event unless the data
//! buffer is empty (then the event is discarded). `id` values containing NUL are ignored.

/// One dispatched event, borrowed from the parser's buffers. The load tool reads `data`
/// only; `kind` and `last_id` complete the parser (its tests check them).
#[cfg_attr(not(test), allow(dead_code))]
pub struct Event<'a> {
    /// The `event:` field, empty for the default type `message`.
    pub kind: &'a [u8],
    /// The data buffer without its final LF.
    pub data: &'a [u8],
    /// The last event id seen on this stream (it persists across events).
    pub last_id: &'a [u8],
}

/// A line longer than this is treated as a broken stream (bounds the parser's memory).
pub const MAX_LINE: usize = 1 << 20;

#[derive(Default)]
pub struct Parser {
    /// Bytes of a line whose end has not arrived yet.
    line: Vec<u8>,
    /// The previous chunk ended with CR: an LF starting the next chunk belongs to it.
    skip_lf: bool,
    /// Bytes seen before the BOM check could be made (fewer than three at the start).
    prefix: Vec<u8>,
    started: bool,
    data: Vec<u8>,
    kind: Vec<u8>,
    /// The spec's "last event ID buffer": set by every `id:` field as it is parsed.
    last_id: Vec<u8>,
    /// The spec's "last event ID string" of the event source: the buffer as of the last
    /// blank line (dispatch step 1 copies it even when the data buffer is empty and nothing is
    /// dispatched). This, not the buffer, is what a reconnect sends as `Last-Event-ID`: an `id:`
    /// line whose event has not been completed yet does not count.
    committed_id: Vec<u8>,
    /// `retry:` in milliseconds, when the server sent one.
    pub retry: Option<u64>,
    /// Comment lines seen (heartbeats).
    pub comments: u64,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// The id a reconnect sends as `Last-Event-ID` (empty: none yet), per the spec's dispatch
    /// rules (see `committed_id`).
    pub fn last_event_id(&self) -> &[u8] {
        &self.committed_id
    }

    /// Feeds the next bytes of the stream; `on_event` runs for every dispatched event.
    pub fn feed(
        &mut self,
        bytes: &[u8],
        on_event: &mut impl FnMut(&Event<'_>),
    ) -> Result<(), String> {
        if !self.started {
            self.prefix.extend_from_slice(bytes);
            const BOM: &[u8] = b"\xEF\xBB\xBF";
            if self.prefix.len() < BOM.len() && BOM.starts_with(&self.prefix) {
                return Ok(()); // could still be a BOM: wait for more
            }
            self.started = true;
            let prefix = std::mem::take(&mut self.prefix);
            let body = prefix.strip_prefix(BOM).unwrap_or(&prefix);
            return self.lines(body, on_event);
        }
        self.lines(bytes, on_event)
    }

    fn lines(&mut self, bytes: &[u8], on_event: &mut impl FnMut(&Event<'_>)) -> Result<(), String> {
        let mut i = 0;
        if self.skip_lf && !bytes.is_empty() {
            self.skip_lf = false;
            if bytes[0] == b'\n' {
                i = 1;
            }
        }
        while i < bytes.len() {
            let rest = &bytes[i..];
            let Some(k) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                if self.line.len() + rest.len() > MAX_LINE {
                    return Err(format!("an SSE line longer than {MAX_LINE} bytes"));
                }
                self.line.extend_from_slice(rest);
                break;
            };
            let end = i + k;
            if self.line.is_empty() {
                self.process(&bytes[i..end], on_event);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[i..end]);
                self.process(&line, on_event);
                line.clear();
                self.line = line; // keep the allocation
            }
            i = end + 1;
            if bytes[end] == b'\r' {
                if i < bytes.len() {
                    if bytes[i] == b'\n' {
                        i += 1;
                    }
                } else {
                    self.skip_lf = true;
                }
            }
        }
        Ok(())
    }

    fn process(&mut self, line: &[u8], on_event: &mut impl FnMut(&Event<'_>)) {
        if line.is_empty() {
            if self.committed_id != self.last_id {
                self.committed_id.clone_from(&self.last_id);
            }
            if !self.data.is_empty() {
                self.data.pop(); // the LF after the last data line
                on_event(&Event {
                    kind: &self.kind,
                    data: &self.data,
                    last_id: &self.last_id,
                });
            }
            self.data.clear();
            self.kind.clear();
            return;
        }
        if line[0] == b':' {
            self.comments += 1;
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(c) => {
                let v = &line[c + 1..];
                (&line[..c], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
            }
            b"event" => {
                self.kind.clear();
                self.kind.extend_from_slice(value);
            }
            b"id" if !value.contains(&0) => {
                self.last_id.clear();
                self.last_id.extend_from_slice(value);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            }
            _ => {} // unknown fields, NUL ids and non-digit retries are ignored
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Owned {
        kind: String,
        data: String,
        id: String,
    }

    fn parse_chunks(chunks: &[&[u8]]) -> (Vec<Owned>, Parser) {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut |e: &Event<'_>| {
                out.push(Owned {
                    kind: String::from_utf8_lossy(e.kind).into(),
                    data: String::from_utf8_lossy(e.data).into(),
                    id: String::from_utf8_lossy(e.last_id).into(),
                })
            })
            .unwrap();
        }
        (out, p)
    }

    fn data(stream: &[u8]) -> Vec<String> {
        parse_chunks(&[stream])
            .0
            .into_iter()
            .map(|e| e.data)
            .collect()
    }

    #[test]
    fn every_line_ending() {
        assert_eq!(data(b"data: a\n\n"), ["a"]);
        assert_eq!(data(b"data: a\r\n\r\n"), ["a"]);
        assert_eq!(data(b"data: a\r\r"), ["a"]);
        assert_eq!(
            data(b"data: a\r\n\ndata: b\r\rdata: c\n\r\n"),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn multi_line_data_and_the_space_rule() {
        assert_eq!(data(b"data: a\ndata:b\ndata:  c\n\n"), ["a\nb\n c"]);
        assert_eq!(data(b"data\n\n"), [""]); // no colon: field "data", empty value
        assert_eq!(data(b"data:\ndata:\n\n"), ["\n"]);
    }

    #[test]
    fn comments_empty_events_and_unknown_fields() {
        let (ev, p) = parse_chunks(&[b": hi\n\n:\nfoo: bar\n\nevent: x\n\ndata: y\n\n"]);
        assert_eq!(ev.len(), 1, "blank lines with no data dispatch nothing");
        assert_eq!(ev[0].data, "y");
        assert_eq!(
            ev[0].kind, "",
            "the event type resets after every blank line"
        );
        assert_eq!(p.comments, 2);
    }

    #[test]
    fn ids_persist_and_nul_ids_are_ignored() {
        let (ev, p) =
            parse_chunks(&[b"retry: 2000\nid: 7\nevent: t\ndata: a\n\nid: b\0d\ndata: b\n\n"]);
        assert_eq!(
            ev[0],
            Owned {
                kind: "t".into(),
                data: "a".into(),
                id: "7".into()
            }
        );
        assert_eq!(ev[1].id, "7");
        assert_eq!(p.retry, Some(2000));
    }

    #[test]
    fn the_reconnect_id_moves_only_at_a_blank_line() {
        let (_, p) = parse_chunks(&[b"id: 1\ndata: a\n\nid: 2\ndata: b\n"]);
        assert_eq!(p.last_event_id(), b"1", "event 2 is not complete");
        let (ev, p) = parse_chunks(&[b"id: 1\ndata: a\n\nid: 2\n\n"]);
        assert_eq!(ev.len(), 1);
        assert_eq!(p.last_event_id(), b"2", "an id with no data still counts");
        let (_, p) = parse_chunks(&[b"id: 5\ndata: a\n\nid\n\n"]);
        assert_eq!(p.last_event_id(), b"", "an empty id field resets it");
    }

    #[test]
    fn no_dispatch_without_the_blank_line() {
        assert!(data(b"data: a\n").is_empty());
        assert!(data(b"data: a").is_empty());
    }

    #[test]
    fn bom_is_dropped_only_at_the_start() {
        assert_eq!(data(b"\xEF\xBB\xBFdata: a\n\n"), ["a"]);
        let (ev, _) = parse_chunks(&[b"\xEF", b"\xBB", b"\xBFdata: a\n\n"]);
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].data, "a");
        // A BOM later is part of the line: the field name "\u{feff}data" is unknown.
        assert!(data(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n").len() == 1);
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let stream: &[u8] =
            b"\xEF\xBB\xBF: c\r\nid: 1\r\nevent: e\r\ndata: x\r\ndata: y\r\n\r\ndata: z\r\rdata: w\n\n";
        let whole = parse_chunks(&[stream]).0;
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].data, "x\ny");
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                let parts = parse_chunks(&[&stream[..a], &stream[a..b], &stream[b..]]).0;
                assert_eq!(parts, whole, "split at {a}, {b}");
            }
        }
    }

    #[test]
    fn endless_lines_are_refused() {
        let mut p = Parser::new();
        let big = vec![b'a'; MAX_LINE / 2 + 1];
        p.feed(&big, &mut |_: &Event<'_>| {}).unwrap();
        assert!(p.feed(&big, &mut |_: &Event<'_>| {}).is_err());
    }
}
