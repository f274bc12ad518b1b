//! The SSE encoder round trip: any id, event name and data either is refused (an id or name
//! with CR, LF or NUL) or, once encoded and read back by the spec parser — whole, and split in
//! two chunks at any point — is exactly one event carrying the same id, name and data (line
//! breaks in data arrive as `\n`, as a browser delivers them).
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use pulse::sse::{frame, parse};

#[derive(Debug, Arbitrary)]
struct Input {
    id: Option<String>,
    name: Option<String>,
    data: String,
    split: usize,
}

fn single_line(s: &str) -> bool {
    !s.contains(['\r', '\n', '\0'])
}

fuzz_target!(|input: Input| {
    let Input {
        id,
        name,
        data,
        split,
    } = input;
    let encoded = frame::event(id.as_deref(), name.as_deref(), &data);
    let Ok(encoded) = encoded else {
        assert!(
            !id.as_deref().is_none_or(single_line) || !name.as_deref().is_none_or(single_line),
            "refused a frame with single-line id {id:?} and name {name:?}"
        );
        return;
    };
    let expected = parse::Parsed {
        id: id.clone(),
        event: match name.as_deref() {
            None | Some("") => "message".to_owned(),
            Some(n) => n.to_owned(),
        },
        data: data.replace("\r\n", "\n").replace('\r', "\n"),
    };
    assert_eq!(
        parse::parse_all(&encoded),
        vec![expected.clone()],
        "frame {encoded:?}"
    );

    let mut at = split % (encoded.len() + 1);
    while !encoded.is_char_boundary(at) {
        at -= 1;
    }
    let mut parser = parse::Parser::new();
    let mut events = parser.feed(&encoded[..at]);
    events.extend(parser.feed(&encoded[at..]));
    assert_eq!(events, vec![expected], "frame {encoded:?} split at {at}");
});
