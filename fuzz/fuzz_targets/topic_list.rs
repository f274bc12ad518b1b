//! The topic-list parser (`?topics=`): any list is answered without a panic; an accepted one
//! holds 1–32 distinct names, each a valid topic, in the order first named, and every entry of
//! the list was one of them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pulse::event::Topic;
use pulse::server::events::{parse_topics, MAX_TOPICS};

fuzz_target!(|list: &str| {
    let Ok(topics) = parse_topics(Some(list)) else {
        return;
    };
    assert!(!topics.is_empty() && topics.len() <= MAX_TOPICS, "{list:?}");
    let mut first_seen: Vec<&str> = Vec::new();
    for name in list.split(',') {
        assert!(Topic::parse(name).is_ok(), "{name:?} accepted in {list:?}");
        if !first_seen.contains(&name) {
            first_seen.push(name);
        }
    }
    let names: Vec<&str> = topics.iter().map(|t| t.as_str()).collect();
    assert_eq!(names, first_seen, "{list:?}");
});
