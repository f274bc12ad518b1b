//! The `Last-Event-ID` / `since` parser: any text is either refused or is the 1–20 ASCII digits
//! (surrounding whitespace ignored) of a number that fits an id, and then it is that number and
//! it survives the wire (printed and parsed back).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse::event::EventId;

fuzz_target!(|raw: &str| {
    let t = raw.trim();
    match raw.parse::<EventId>() {
        Ok(id) => {
            assert!(
                !t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit()),
                "accepted {raw:?}"
            );
            assert_eq!(Ok(id), t.parse::<u64>().map(EventId::new));
            assert_eq!(id.to_string().parse::<EventId>(), Ok(id));
        }
        Err(_) => assert!(
            t.is_empty()
                || t.len() > 20
                || !t.bytes().all(|b| b.is_ascii_digit())
                || t.parse::<u64>().is_err(),
            "refused {raw:?}"
        ),
    }
});
