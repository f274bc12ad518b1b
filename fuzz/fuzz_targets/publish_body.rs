//! The publish body decoder and schema check: the first byte picks a built-in topic (or a custom
//! one), the rest is the body. Any body is answered (accepted or a `PayloadError`), never a
//! panic; an accepted body is what its view parses, and publishing the stored form again is
//! accepted and stores the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse::event::{validate_payload_at, BuiltIn, Topic, ViewEvent};

const NOW_MS: i64 = 1_700_000_000_000;

fuzz_target!(|input: &[u8]| {
    let Some((&which, body)) = input.split_first() else {
        return;
    };
    let builtin = BuiltIn::ALL.get(usize::from(which) % (BuiltIn::ALL.len() + 1));
    let topic = match builtin {
        Some(b) => b.topic(),
        None => Topic::parse("orders").unwrap(),
    };
    let Ok(stored) = validate_payload_at(&topic, body, NOW_MS) else {
        return;
    };
    if let Some(&b) = builtin {
        if let Err(e) = ViewEvent::parse(b, &stored) {
            panic!("{b:?} accepted {body:?} as {stored:?}, which its view cannot parse: {e:?}");
        }
    }
    match validate_payload_at(&topic, stored.as_bytes(), NOW_MS) {
        Ok(again) => assert_eq!(
            serde_json::from_str::<serde_json::Value>(&again).unwrap(),
            serde_json::from_str::<serde_json::Value>(&stored).unwrap(),
            "{topic:?}: stored form changed when published again"
        ),
        Err(e) => panic!("{topic:?} accepted {body:?} as {stored:?} but refuses that: {e:?}"),
    }
});
