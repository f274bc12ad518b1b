//! The activity feed. A [`NewPost`] is what a publisher sends (`{"author", "text"}`); the event's
//! id becomes the [`Post`]'s id, so posts are ordered and deduplicated by the hub's sequence.
//! [`FeedState`] keeps the newest [`FEED_WINDOW`] posts; older ones are read from the posts table
//! on demand.
//!
//! Author and text are plain text everywhere: they are rendered as text nodes (never
//! `inner_html`), and the SSE encoder carries them inside JSON, so markup or line breaks in a
//! post can neither run nor start a new event.

use serde::{Deserialize, Serialize};

use super::payload::{check_text, Payload};
use super::topic::BuiltIn;
use super::view::{Changed, ViewState};
use super::EventId;

/// Posts a page shows on load (and the snapshot keeps).
pub const FEED_WINDOW: usize = 50;
pub const MAX_AUTHOR_CHARS: usize = 40;
pub const MAX_TEXT_CHARS: usize = 500;

/// A post as published to `feed`. `at` (ms since the Unix epoch) is filled in by the server
/// when absent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    pub author: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

impl Payload for NewPost {
    const TOPIC: BuiltIn = BuiltIn::Feed;

    fn check(&self) -> Result<(), String> {
        check_text("author", &self.author, 1, MAX_AUTHOR_CHARS)?;
        check_text("text", &self.text, 1, MAX_TEXT_CHARS)
    }

    fn stamp(&mut self, now_ms: i64) {
        self.author = self.author.trim().to_owned();
        self.text = self.text.trim().to_owned();
        self.at.get_or_insert(now_ms);
    }
}

/// A post as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    /// The id of the event that carried it.
    pub id: u64,
    pub author: String,
    pub text: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

impl Post {
    pub fn new(id: u64, p: &NewPost) -> Post {
        Post {
            id,
            author: p.author.clone(),
            text: p.text.clone(),
            at: p.at.unwrap_or(0),
        }
    }
}

/// The newest posts, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedState {
    pub posts: Vec<Post>,
}

impl ViewState for FeedState {
    type Event = NewPost;
    const TOPIC: BuiltIn = BuiltIn::Feed;

    /// Adds the post of event `id` in id order (a replayed or repeated id is ignored) and
    /// drops what falls out of the window.
    fn apply(&mut self, id: EventId, p: &NewPost) -> Changed {
        insert(&mut self.posts, Post::new(id.get(), p));
        self.posts.truncate(FEED_WINDOW);
        Changed::all()
    }
}

impl FeedState {
    /// Fills the window with `older` posts (newest first, from the posts table) — after a
    /// restart the event history may no longer hold every recent post.
    pub fn backfill(&mut self, older: &[Post]) {
        for p in older {
            if self.posts.len() >= FEED_WINDOW
                && self.posts.last().is_some_and(|last| p.id < last.id)
            {
                break;
            }
            insert(&mut self.posts, p.clone());
        }
        self.posts.truncate(FEED_WINDOW);
    }
}

/// A run of a post's text: plain text, or a web address to show as a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Splits a post's text into text and links, for rendering as nodes (never markup).
///
/// Only `http://` and `https://` addresses become links — `javascript:`, `data:` and every
/// other scheme stay text, so a link can only ever navigate to a web page. An address starts
/// a word (or follows an opening bracket or quote), needs a host, and ends at whitespace, at
/// a quote or angle bracket, or before trailing punctuation (`.`, `,`, `)` without its `(` …),
/// as a reader would expect from "see https://example.com/a."
pub fn linkify(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut plain_from = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let at_word_start = i == 0 || {
            let prev = text[..i].chars().next_back().unwrap_or(' ');
            prev.is_whitespace() || matches!(prev, '(' | '[' | '<' | '"' | '\'')
        };
        if at_word_start {
            if let Some(len) = link_len(&text[i..]) {
                if plain_from < i {
                    pieces.push(Piece::Text(&text[plain_from..i]));
                }
                pieces.push(Piece::Link(&text[i..i + len]));
                i += len;
                plain_from = i;
                continue;
            }
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    if plain_from < text.len() {
        pieces.push(Piece::Text(&text[plain_from..]));
    }
    pieces
}

/// The length of the http(s) address at the start of `s`, if there is one.
fn link_len(s: &str) -> Option<usize> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return None;
    };
    let end = s
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '`'))
        .map_or(s.len(), |(i, _)| i);
    let mut url = &s[..end];
    // Trailing punctuation belongs to the sentence; a `)` only to the address if it opened one.
    while let Some(last) = url.chars().next_back() {
        let strip = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | ']' | '}' => true,
            ')' => url.matches('(').count() < url.matches(')').count(),
            _ => false,
        };
        if !strip {
            break;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
    let host = url[scheme..].split(['/', '?', '#']).next().unwrap_or("");
    let host_ok = !host.is_empty()
        && !host.contains('@')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    host_ok.then_some(url.len())
}

/// Inserts keeping newest-first order by id; no duplicates.
pub fn insert(posts: &mut Vec<Post>, post: Post) {
    match posts.binary_search_by(|p| post.id.cmp(&p.id)) {
        Ok(_) => {}
        Err(at) => posts.insert(at, post),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(author: &str, text: &str) -> NewPost {
        NewPost {
            author: author.into(),
            text: text.into(),
            at: Some(1),
        }
    }

    #[test]
    fn newest_first_bounded_and_deduplicated() {
        let mut f = FeedState::default();
        for id in 1..=(FEED_WINDOW as u64 + 5) {
            f.apply(EventId::new(id), &new("a", &format!("post {id}")));
        }
        f.apply(EventId::new(7), &new("a", "replayed"));
        assert_eq!(f.posts.len(), FEED_WINDOW);
        assert_eq!(f.posts[0].id, FEED_WINDOW as u64 + 5);
        assert_eq!(f.posts.last().unwrap().id, 6);
        assert!(f.posts.windows(2).all(|w| w[0].id > w[1].id));
    }

    #[test]
    fn backfill_fills_only_below_the_window() {
        let mut f = FeedState::default();
        f.apply(EventId::new(10), &new("a", "ten"));
        let older: Vec<Post> = (1..=9)
            .rev()
            .map(|id| Post::new(id, &new("b", "x")))
            .collect();
        f.backfill(&older);
        assert_eq!(
            f.posts.iter().map(|p| p.id).collect::<Vec<_>>(),
            (1..=10).rev().collect::<Vec<_>>()
        );
        f.backfill(&older);
        assert_eq!(f.posts.len(), 10);
    }

    #[test]
    fn markup_is_kept_verbatim_and_limits_have_clear_messages() {
        let json = r#"{"author":"<img src=x onerror=alert(1)>","text":"</script>\r\n\r\nevent: stocks\ndata: x"}"#;
        let p = NewPost::parse(json).unwrap();
        assert_eq!(p.author, "<img src=x onerror=alert(1)>");
        assert!(p.text.contains("\r\n\r\nevent: stocks"));
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let err = new("a", &long).check().unwrap_err();
        assert_eq!(
            err,
            format!(
                "text is {} characters long; the limit is {MAX_TEXT_CHARS}",
                MAX_TEXT_CHARS + 1
            )
        );
        assert_eq!(
            new(" ", "x").check().unwrap_err(),
            format!("author is empty; write 1 to {MAX_AUTHOR_CHARS} characters")
        );
        // Characters, not bytes: 500 accented letters fit.
        assert!(new("é", &"é".repeat(MAX_TEXT_CHARS)).check().is_ok());
    }

    fn links(text: &str) -> Vec<&str> {
        linkify(text)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Link(l) => Some(l),
                Piece::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn only_web_addresses_become_links() {
        assert_eq!(
            linkify("see https://example.com/a?b=1#c, then (http://x.org/wiki/A_(b)) ok."),
            [
                Piece::Text("see "),
                Piece::Link("https://example.com/a?b=1#c"),
                Piece::Text(", then ("),
                Piece::Link("http://x.org/wiki/A_(b)"),
                Piece::Text(") ok."),
            ]
        );
        assert_eq!(links("HTTPS://EXAMPLE.COM."), ["HTTPS://EXAMPLE.COM"]);
        assert_eq!(
            links("a <https://a.b/c> \"https://d.e\""),
            ["https://a.b/c", "https://d.e"]
        );
        assert_eq!(
            links("ünïcode https://ex.com/ü/ø done"),
            ["https://ex.com/ü/ø"]
        );
        for refused in [
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)",
            "data:text/html,<script>alert(1)</script>",
            "data:text/html;base64,PHNjcmlwdD4=",
            "vbscript:msgbox",
            "ftp://example.com",
            "https://",
            "http:///path",
            "https://user@evil.com",
            "xhttps://example.com",
            "javascript:https://example.com",
        ] {
            assert!(
                links(refused).is_empty(),
                "{refused}: {:?}",
                linkify(refused)
            );
        }
        // A quote ends an address: no attribute can be smuggled in through it.
        assert_eq!(links("https://a\"onmouseover=x"), ["https://a"]);
        // The text is kept whole: the pieces put back together are the post.
        let text = "x javascript:alert(1) https://ok.example/p. y";
        let joined: String = linkify(text)
            .iter()
            .map(|p| match p {
                Piece::Text(t) | Piece::Link(t) => *t,
            })
            .collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn stamp_trims_and_keeps_a_given_time() {
        let mut p = NewPost {
            author: " ann ".into(),
            text: " hi ".into(),
            at: None,
        };
        p.stamp(42);
        assert_eq!(
            (p.author.as_str(), p.text.as_str(), p.at),
            ("ann", "hi", Some(42))
        );
        p.stamp(99);
        assert_eq!(p.at, Some(42));
    }
}
