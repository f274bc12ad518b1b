//! Notifications: short notices shown as toasts on every page (and listed on the overview).
//! Pulse's own sources send them (CPU or memory high, a game going final, a big price move);
//! external publishers can too.

use serde::{Deserialize, Serialize};

use super::payload::{check_text, Payload};
use super::topic::BuiltIn;
use super::view::{Changed, ViewState};
use super::EventId;

/// Notices the snapshot keeps (the overview lists them).
pub const KEEP: usize = 20;
pub const MAX_TITLE_CHARS: usize = 80;
pub const MAX_BODY_CHARS: usize = 300;
pub const MAX_SOURCE_CHARS: usize = 40;
pub const MAX_LINK_LEN: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Info,
    Success,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Success => "success",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }

    pub const ALL: [Level; 4] = [Level::Info, Level::Success, Level::Warning, Level::Error];

    /// The level named `s` (as in `?level=warning`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Warnings and errors stay until dismissed; the others fade after a while.
    pub fn sticky(self) -> bool {
        matches!(self, Level::Warning | Level::Error)
    }
}

/// A notice as published to `notifications`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewNotice {
    #[serde(default)]
    pub level: Level,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// Who sent it (`monitor`, `scores`, a publisher's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A path inside Pulse to open for details, e.g. `/scores`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Milliseconds since the Unix epoch; filled in by the server when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

impl Payload for NewNotice {
    const TOPIC: BuiltIn = BuiltIn::Notifications;

    fn check(&self) -> Result<(), String> {
        check_text("title", &self.title, 1, MAX_TITLE_CHARS)?;
        check_text("body", &self.body, 0, MAX_BODY_CHARS)?;
        if let Some(s) = &self.source {
            check_text("source", s, 1, MAX_SOURCE_CHARS)?;
        }
        if let Some(l) = &self.link {
            // Only paths on this site: a notice must not be a way to send readers elsewhere
            // (or to a `javascript:` URL).
            let ok = l.starts_with('/')
                && !l.starts_with("//")
                && l.len() <= MAX_LINK_LEN
                && l.chars().all(|c| c.is_ascii_graphic() && c != '\\');
            if !ok {
                return Err(format!(
                    "link {l:?} must be a path on this site such as /scores \
                     (starting with one '/', no spaces, at most {MAX_LINK_LEN} characters)"
                ));
            }
        }
        Ok(())
    }

    fn stamp(&mut self, now_ms: i64) {
        self.at.get_or_insert(now_ms);
    }
}

/// A notice as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: u64,
    pub level: Level,
    pub title: String,
    pub body: String,
    pub source: Option<String>,
    pub link: Option<String>,
    pub at: i64,
}

impl Notice {
    pub fn new(id: u64, n: &NewNotice) -> Notice {
        Notice {
            id,
            level: n.level,
            title: n.title.trim().to_owned(),
            body: n.body.trim().to_owned(),
            source: n.source.clone(),
            link: n.link.clone(),
            at: n.at.unwrap_or(0),
        }
    }
}

/// The most recent notices, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NotificationsState {
    pub recent: Vec<Notice>,
}

impl ViewState for NotificationsState {
    type Event = NewNotice;
    const TOPIC: BuiltIn = BuiltIn::Notifications;

    fn apply(&mut self, id: EventId, n: &NewNotice) -> Changed {
        let id = id.get();
        if self.recent.iter().any(|x| x.id == id) {
            return Changed::default();
        }
        let at = self.recent.partition_point(|x| x.id > id);
        self.recent.insert(at, Notice::new(id, n));
        self.recent.truncate(KEEP);
        Changed::all()
    }
}

/// Notices the history page can list (the newest in the server's event history).
pub const HISTORY_MAX: usize = 500;

/// What the notifications page shows: one level and/or one source, or everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub level: Option<Level>,
    pub source: Option<String>,
}

impl Filter {
    /// From the page's query (`?level=warning&source=monitor`); unknown levels and empty values
    /// mean "any", so a hand-edited address never shows an error page.
    pub fn from_query(level: Option<&str>, source: Option<&str>) -> Filter {
        Filter {
            level: level.and_then(Level::parse),
            source: source.filter(|s| !s.is_empty()).map(str::to_owned),
        }
    }

    pub fn matches(&self, n: &Notice) -> bool {
        self.level.is_none_or(|l| n.level == l)
            && self
                .source
                .as_deref()
                .is_none_or(|s| n.source.as_deref() == Some(s))
    }
}

/// The history as loaded with the page plus what arrived live since, newest first, each id once.
pub fn merge_history(history: &[Notice], live: &[Notice]) -> Vec<Notice> {
    let mut all: Vec<Notice> = history.iter().chain(live).cloned().collect();
    all.sort_by_key(|n| std::cmp::Reverse(n.id));
    all.dedup_by_key(|n| n.id);
    all.truncate(HISTORY_MAX);
    all
}

/// The distinct sources in `notices`, sorted (the page's source filter offers these).
pub fn sources(notices: &[Notice]) -> Vec<String> {
    let mut out: Vec<String> = notices.iter().filter_map(|n| n.source.clone()).collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(id: u64, level: Level, source: Option<&str>) -> Notice {
        Notice {
            id,
            level,
            title: format!("n{id}"),
            body: String::new(),
            source: source.map(str::to_owned),
            link: None,
            at: id as i64,
        }
    }

    #[test]
    fn history_merges_newest_first_and_filters_by_level_and_source() {
        let history = [
            notice(5, Level::Warning, Some("monitor")),
            notice(3, Level::Info, Some("scores")),
            notice(1, Level::Error, None),
        ];
        let live = [
            notice(7, Level::Warning, Some("ci")),
            notice(5, Level::Warning, Some("monitor")),
        ];
        let all = merge_history(&history, &live);
        assert_eq!(all.iter().map(|n| n.id).collect::<Vec<_>>(), [7, 5, 3, 1]);
        assert_eq!(sources(&all), ["ci", "monitor", "scores"]);

        let warnings = Filter::from_query(Some("warning"), None);
        let ids = |f: &Filter| {
            all.iter()
                .filter(|n| f.matches(n))
                .map(|n| n.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&warnings), [7, 5]);
        assert_eq!(ids(&Filter::from_query(Some("warning"), Some("ci"))), [7]);
        assert_eq!(ids(&Filter::from_query(None, Some("scores"))), [3]);
        // Unknown or empty values mean "any".
        assert_eq!(ids(&Filter::from_query(Some("loud"), Some(""))).len(), 4);
    }

    #[test]
    fn keeps_the_newest_few_newest_first() {
        let mut s = NotificationsState::default();
        for id in 1..=(KEEP as u64 + 3) {
            s.apply(
                EventId::new(id),
                &NewNotice {
                    title: format!("n{id}"),
                    ..NewNotice::default()
                },
            );
        }
        s.apply(
            EventId::new(10),
            &NewNotice {
                title: "again".into(),
                ..NewNotice::default()
            },
        );
        assert_eq!(s.recent.len(), KEEP);
        assert_eq!(s.recent[0].title, format!("n{}", KEEP + 3));
        assert!(s.recent.iter().all(|n| n.title != "again"));
    }

    #[test]
    fn links_stay_on_this_site() {
        let bad = [
            "https://evil.example",
            "//evil.example",
            "javascript:alert(1)",
            "/a b",
        ];
        for link in bad {
            let n = NewNotice {
                title: "t".into(),
                link: Some(link.into()),
                ..NewNotice::default()
            };
            assert!(n.check().unwrap_err().contains("link"), "{link}");
        }
        let n = NewNotice {
            title: "t".into(),
            link: Some("/scores".into()),
            ..NewNotice::default()
        };
        assert!(n.check().is_ok());
        assert!(NewNotice::parse(r#"{"title":"x","level":"loud"}"#).is_err());
        assert!(NewNotice::parse(r#"{"title":""}"#)
            .unwrap_err()
            .to_string()
            .contains("title is empty"));
    }
}
