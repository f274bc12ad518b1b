//! The scoreboard. A [`GameUpdate`] names a game by id and carries only what changed, so a
//! scorekeeper can send just a score and the simulator can send just the clock; the first update
//! for a new id should name both teams. [`ScoresState`] lists live games first, then scheduled
//! ones, then finals, each group in the order the games first appeared.
//!
//! A scorekeeper's word is final: an update flagged `keeper` marks its game as kept, and from
//! then on unflagged updates (the simulator's, any automatic feed) no longer change it — until
//! the game is final and a new matchup (both teams named) is announced for the id. The rule
//! lives in the fold, so every instance that applies the committed events agrees, across
//! restarts, and a simulator step racing a correction cannot undo it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::payload::{check_text, Payload};
use super::topic::BuiltIn;
use super::view::{Changed, KeyedState, ViewState};
use super::EventId;

/// At most this many games are kept; a new game beyond it replaces the oldest finished one
/// (or, when none is finished, the oldest), so a publisher inventing ids cannot grow the page
/// without bound.
pub const MAX_GAMES: usize = 24;
pub const MAX_ID_LEN: usize = 32;
pub const MAX_TEAM_CHARS: usize = 40;
pub const MAX_PLAY_CHARS: usize = 140;
pub const MAX_SCORE: u32 = 999;
pub const MAX_PERIOD: u8 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GameStatus {
    #[default]
    Scheduled,
    Live,
    Final,
}

impl GameStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            GameStatus::Scheduled => "scheduled",
            GameStatus::Live => "live",
            GameStatus::Final => "final",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GameStatus::Scheduled => "Scheduled",
            GameStatus::Live => "Live",
            GameStatus::Final => "Final",
        }
    }

    /// Parses the lowercase name (as in the JSON and the scorekeeper form).
    pub fn parse(s: &str) -> Option<GameStatus> {
        match s {
            "scheduled" => Some(GameStatus::Scheduled),
            "live" => Some(GameStatus::Live),
            "final" => Some(GameStatus::Final),
            _ => None,
        }
    }
}

/// One change to one game, as published to `scores`. Absent fields stay as they were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameUpdate {
    /// `[a-z0-9-]`, 1–32 characters.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home_score: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_score: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<GameStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<u8>,
    /// Game clock as shown, e.g. `07:42`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// The last scoring play, e.g. `Okafor three-pointer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_play: Option<String>,
    /// Sent by a scorekeeper (the `/scores` form sets it): the game is then kept — unflagged
    /// updates are ignored until it is final and a new matchup is announced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keeper: bool,
}

fn valid_clock(c: &str) -> bool {
    let b = c.as_bytes();
    matches!(b.len(), 4 | 5)
        && b[b.len() - 3] == b':'
        && b.iter()
            .enumerate()
            .all(|(i, ch)| i == b.len() - 3 || ch.is_ascii_digit())
}

impl Payload for GameUpdate {
    const TOPIC: BuiltIn = BuiltIn::Scores;

    fn check(&self) -> Result<(), String> {
        let id = &self.id;
        if id.is_empty()
            || id.len() > MAX_ID_LEN
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "id {id:?} must be 1-{MAX_ID_LEN} characters of a-z, 0-9 and '-'"
            ));
        }
        if let Some(t) = &self.home {
            check_text("home", t, 1, MAX_TEAM_CHARS)?;
        }
        if let Some(t) = &self.away {
            check_text("away", t, 1, MAX_TEAM_CHARS)?;
        }
        for (name, score) in [
            ("home_score", self.home_score),
            ("away_score", self.away_score),
        ] {
            if score.is_some_and(|s| s > MAX_SCORE) {
                return Err(format!("{name} must be between 0 and {MAX_SCORE}"));
            }
        }
        if self.period.is_some_and(|p| p > MAX_PERIOD) {
            return Err(format!("period must be between 0 and {MAX_PERIOD}"));
        }
        if let Some(c) = &self.clock {
            if !valid_clock(c) {
                return Err(format!("clock {c:?} must look like 7:05 or 12:00"));
            }
        }
        if let Some(p) = &self.last_play {
            check_text("last_play", p, 0, MAX_PLAY_CHARS)?;
        }
        Ok(())
    }
}

/// One card on the scoreboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Game {
    pub id: String,
    pub home: String,
    pub away: String,
    pub home_score: u32,
    pub away_score: u32,
    pub status: GameStatus,
    pub period: u8,
    pub clock: String,
    pub last_play: String,
    /// Bumped on each change of the home (away) score; the card flashes on a change and
    /// alternates between two identical animations so back-to-back scores each flash.
    pub home_flash: u32,
    pub away_flash: u32,
    /// Updates folded in (a lost or repeated update is visible, not just wrong).
    pub updates: u64,
    /// Order of first appearance.
    pub seq: u64,
    /// A scorekeeper changed this game: automatic updates leave it alone (see the module docs).
    #[serde(default)]
    pub kept: bool,
}

impl Game {
    fn new(id: &str, seq: u64) -> Game {
        Game {
            id: id.to_owned(),
            home: "Home".into(),
            away: "Away".into(),
            home_score: 0,
            away_score: 0,
            status: GameStatus::Scheduled,
            period: 0,
            clock: String::new(),
            last_play: String::new(),
            home_flash: 0,
            away_flash: 0,
            updates: 0,
            seq,
            kept: false,
        }
    }

    /// Whether `u` may change this game: a kept game takes only scorekeeper updates, or, once
    /// final, the announcement of the court's next matchup.
    pub fn accepts(&self, u: &GameUpdate) -> bool {
        !self.kept
            || u.keeper
            || (self.status == GameStatus::Final && u.home.is_some() && u.away.is_some())
    }

    /// The side that won a final game (`None` while it is not final, or for a tie).
    pub fn winner(&self) -> Option<Side> {
        if self.status != GameStatus::Final {
            return None;
        }
        match self.home_score.cmp(&self.away_score) {
            std::cmp::Ordering::Greater => Some(Side::Home),
            std::cmp::Ordering::Less => Some(Side::Away),
            std::cmp::Ordering::Equal => None,
        }
    }

    /// One line for the scorekeeper's confirmation: `Guests 19 – 21 Hosts · Final`.
    pub fn summary(&self) -> String {
        format!(
            "{} {} – {} {} · {}",
            self.away,
            self.away_score,
            self.home_score,
            self.home,
            self.status.label()
        )
    }

    /// Folds one update in (callers check [`Game::accepts`] first). A score change only
    /// flashes when the teams stay the same (a new matchup starting from 0–0 is not a score).
    pub fn apply(&mut self, u: &GameUpdate) {
        if u.keeper {
            self.kept = true;
        } else if self.kept {
            // Only a new matchup after a final gets here: the court is the simulator's again.
            self.kept = false;
        }
        let new_teams = u.home.as_deref().is_some_and(|h| h.trim() != self.home)
            || u.away.as_deref().is_some_and(|a| a.trim() != self.away);
        if let Some(h) = &u.home {
            self.home = h.trim().to_owned();
        }
        if let Some(a) = &u.away {
            self.away = a.trim().to_owned();
        }
        if let Some(s) = u.home_score {
            if s != self.home_score && !new_teams {
                self.home_flash += 1;
            }
            self.home_score = s;
        }
        if let Some(s) = u.away_score {
            if s != self.away_score && !new_teams {
                self.away_flash += 1;
            }
            self.away_score = s;
        }
        if let Some(s) = u.status {
            self.status = s;
        }
        if let Some(p) = u.period {
            self.period = p;
        }
        if let Some(c) = &u.clock {
            self.clock = c.clone();
        }
        if let Some(p) = &u.last_play {
            self.last_play = p.trim().to_owned();
        } else if new_teams {
            self.last_play.clear();
        }
        self.updates += 1;
    }

    /// Where the game stands, beside its status: `Q2 · 7:42` (`OT` after the fourth period),
    /// `Not started`, `Full time` / `After overtime`.
    pub fn phase(&self) -> String {
        let period = match self.period.max(1) {
            p @ 1..=4 => format!("Q{p}"),
            5 => "OT".to_owned(),
            p => format!("OT{}", p - 4),
        };
        match self.status {
            GameStatus::Live if self.clock.is_empty() => period,
            GameStatus::Live => format!("{period} · {}", self.clock),
            GameStatus::Scheduled => "Not started".to_owned(),
            GameStatus::Final if self.period > 4 => "After overtime".to_owned(),
            GameStatus::Final => "Full time".to_owned(),
        }
    }
}

/// Which team of a game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Home,
    Away,
}

/// What [`ScoresState::apply`] changed, for callers that react (the final-whistle notice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Applied {
    pub went_final: bool,
    /// A game was added (and possibly another evicted): the card list changed.
    pub added: bool,
    /// The game's status changed, so it moved between the live / scheduled / final groups.
    pub moved: bool,
    /// The update was ignored: the game is kept by a scorekeeper ([`Game::accepts`]).
    pub ignored: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoresState {
    pub games: BTreeMap<String, Game>,
    pub next_seq: u64,
}

impl ViewState for ScoresState {
    type Event = GameUpdate;
    const TOPIC: BuiltIn = BuiltIn::Scores;

    fn apply(&mut self, _id: EventId, u: &GameUpdate) -> Changed {
        let applied = self.update(u);
        Changed::row(&u.id, applied.added || applied.moved)
    }
}

impl KeyedState for ScoresState {
    type Row = Game;

    /// Live games, then scheduled, then finals; each group in order of first appearance.
    fn keys(&self) -> Vec<String> {
        self.ordered_ids()
    }

    fn row(&self, key: &str) -> Option<&Game> {
        self.games.get(key)
    }
}

impl ScoresState {
    /// [`ViewState::apply`] with what a publisher reacts to (a game going final).
    pub fn update(&mut self, u: &GameUpdate) -> Applied {
        if self.games.get(&u.id).is_some_and(|g| !g.accepts(u)) {
            return Applied {
                ignored: true,
                ..Applied::default()
            };
        }
        let added = !self.games.contains_key(&u.id);
        if added {
            if self.games.len() >= MAX_GAMES {
                self.evict_one();
            }
            let game = Game::new(&u.id, self.next_seq);
            self.next_seq += 1;
            self.games.insert(u.id.clone(), game);
        }
        let game = self.games.get_mut(&u.id).expect("inserted above");
        let was = game.status;
        game.apply(u);
        Applied {
            went_final: was != GameStatus::Final && game.status == GameStatus::Final,
            added,
            moved: was != game.status,
            ignored: false,
        }
    }

    fn evict_one(&mut self) {
        let victim = self
            .games
            .values()
            .min_by_key(|g| (g.status != GameStatus::Final, g.seq))
            .map(|g| g.id.clone());
        if let Some(id) = victim {
            self.games.remove(&id);
        }
    }

    /// Game ids for display: live games first, then scheduled, then finals, each group in
    /// order of first appearance (so cards only move when a game changes status).
    pub fn ordered_ids(&self) -> Vec<String> {
        let mut games: Vec<&Game> = self.games.values().collect();
        games.sort_by_key(|g| {
            let group = match g.status {
                GameStatus::Live => 0,
                GameStatus::Scheduled => 1,
                GameStatus::Final => 2,
            };
            (group, g.seq)
        });
        games.into_iter().map(|g| g.id.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: &str) -> GameUpdate {
        GameUpdate {
            id: id.into(),
            ..GameUpdate::default()
        }
    }

    #[test]
    fn partial_updates_merge_and_flash_on_score_changes() {
        let mut s = ScoresState::default();
        let a = s.update(&GameUpdate {
            home: Some("Lions".into()),
            away: Some("Bears".into()),
            status: Some(GameStatus::Live),
            period: Some(1),
            clock: Some("12:00".into()),
            ..update("g1")
        });
        assert!(a.added && !a.went_final);
        s.update(&GameUpdate {
            home_score: Some(3),
            last_play: Some("Three from the corner".into()),
            ..update("g1")
        });
        s.update(&GameUpdate {
            home_score: Some(3),
            clock: Some("9:30".into()),
            ..update("g1")
        });
        let g = &s.games["g1"];
        assert_eq!((g.home_score, g.away_score), (3, 0));
        assert_eq!((g.home_flash, g.away_flash), (1, 0));
        assert_eq!(g.last_play, "Three from the corner");
        assert_eq!(g.phase(), "Q1 · 9:30");
        assert_eq!(g.updates, 3);
        let done = s.update(&GameUpdate {
            status: Some(GameStatus::Final),
            ..update("g1")
        });
        assert!(done.went_final && !done.added);
        assert_eq!(s.games["g1"].phase(), "Full time");
        assert!(
            !s.update(&update("g1")).went_final,
            "only the change to final counts"
        );
    }

    #[test]
    fn a_new_matchup_resets_without_flashing() {
        let mut s = ScoresState::default();
        s.update(&GameUpdate {
            home: Some("A".into()),
            away: Some("B".into()),
            home_score: Some(80),
            last_play: Some("dunk".into()),
            ..update("court-1")
        });
        s.update(&GameUpdate {
            home: Some("C".into()),
            away: Some("D".into()),
            home_score: Some(0),
            away_score: Some(0),
            status: Some(GameStatus::Scheduled),
            ..update("court-1")
        });
        let g = &s.games["court-1"];
        assert_eq!((g.home.as_str(), g.home_score, g.home_flash), ("C", 0, 0));
        assert_eq!(g.last_play, "");
    }

    #[test]
    fn order_is_first_appearance_and_size_is_bounded() {
        let mut s = ScoresState::default();
        for i in 0..MAX_GAMES {
            s.update(&update(&format!("g{i}")));
        }
        s.update(&GameUpdate {
            status: Some(GameStatus::Final),
            ..update("g5")
        });
        s.update(&update("new"));
        assert_eq!(s.games.len(), MAX_GAMES);
        assert!(!s.games.contains_key("g5"), "the finished game goes first");
        s.update(&update("newer"));
        assert!(!s.games.contains_key("g0"), "then the oldest");
        let ids = s.ordered_ids();
        assert_eq!(ids.first().map(String::as_str), Some("g1"));
        assert_eq!(ids.last().map(String::as_str), Some("newer"));
    }

    #[test]
    fn live_games_come_first_and_finals_last() {
        let mut s = ScoresState::default();
        for (id, status) in [
            ("a", GameStatus::Final),
            ("b", GameStatus::Scheduled),
            ("c", GameStatus::Live),
            ("d", GameStatus::Live),
        ] {
            s.update(&GameUpdate {
                status: Some(status),
                ..update(id)
            });
        }
        assert_eq!(s.ordered_ids(), ["c", "d", "b", "a"]);
        let changed = s.apply(
            EventId::new(9),
            &GameUpdate {
                status: Some(GameStatus::Final),
                ..update("c")
            },
        );
        assert!(changed.order, "a status change moves the card");
        assert_eq!(s.ordered_ids(), ["d", "b", "a", "c"]);
        let changed = s.apply(
            EventId::new(10),
            &GameUpdate {
                clock: Some("1:00".into()),
                ..update("d")
            },
        );
        assert!(!changed.order, "a clock tick does not");
        s.games.get_mut("a").unwrap().home_score = 3;
        assert_eq!(s.games["a"].winner(), Some(Side::Home));
        assert_eq!(s.games["d"].winner(), None, "not final yet");
    }

    #[test]
    fn a_kept_game_ignores_automatic_updates_until_a_new_matchup() {
        let mut s = ScoresState::default();
        s.update(&GameUpdate {
            home: Some("Hosts".into()),
            away: Some("Guests".into()),
            status: Some(GameStatus::Live),
            home_score: Some(10),
            ..update("court-1")
        });
        s.update(&GameUpdate {
            home_score: Some(50),
            keeper: true,
            ..update("court-1")
        });
        let sim = s.update(&GameUpdate {
            home_score: Some(12),
            clock: Some("3:00".into()),
            ..update("court-1")
        });
        assert!(sim.ignored);
        let g = &s.games["court-1"];
        assert_eq!((g.home_score, g.kept, g.updates), (50, true, 2));
        assert!(g.clock.is_empty(), "nothing of the ignored update lands");
        // A new matchup while the kept game is still live is ignored too.
        let next = GameUpdate {
            home: Some("C".into()),
            away: Some("D".into()),
            home_score: Some(0),
            status: Some(GameStatus::Scheduled),
            ..update("court-1")
        };
        assert!(s.update(&next).ignored);
        // The scorekeeper ends it; then the court's next matchup is the simulator's again.
        s.update(&GameUpdate {
            status: Some(GameStatus::Final),
            keeper: true,
            ..update("court-1")
        });
        assert!(!s.update(&next).ignored);
        let g = &s.games["court-1"];
        assert_eq!((g.home.as_str(), g.home_score, g.kept), ("C", 0, false));
        assert!(
            !s.update(&GameUpdate {
                home_score: Some(2),
                ..update("court-1")
            })
            .ignored
        );
    }

    #[test]
    fn bad_updates_name_the_field() {
        for (json, needle) in [
            (r#"{"id":"Game 1"}"#, "id"),
            (r#"{"id":"g","home":"  "}"#, "home is empty"),
            (r#"{"id":"g","home_score":1000}"#, "home_score"),
            (r#"{"id":"g","status":"paused"}"#, "unknown variant"),
            (r#"{"id":"g","clock":"soon"}"#, "clock"),
            (r#"{"id":"g","score":1}"#, "score"),
        ] {
            let err = GameUpdate::parse(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
        assert!(GameUpdate::parse(r#"{"id":"g-1","clock":"7:05","status":"live"}"#).is_ok());
    }
}
