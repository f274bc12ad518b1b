//! The game simulator: `--scores-games` courts, each playing one game after another —
//! scheduled, then four 12-minute quarters (overtime when tied), then final — with the game
//! clock running about 25 times real time at the default step, so a game lasts a couple of
//! minutes and some score changes every few seconds.
//!
//! Each step publishes one partial [`GameUpdate`] per court that changed, exactly as an external
//! publisher or the scorekeeper would; when a game ends it also sends a notification.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::event::notifications::Level;
use crate::event::scores::{Game, GameStatus};
use crate::event::BuiltIn;
use crate::event::{GameUpdate, NewNotice};
use crate::hub::Hub;

const TEAMS: [&str; 16] = [
    "Harbor Herons",
    "Granite Goats",
    "Copper Foxes",
    "Valley Vipers",
    "Summit Owls",
    "River Otters",
    "Iron Bison",
    "Desert Hawks",
    "Cedar Wolves",
    "Coastal Cranes",
    "Prairie Larks",
    "Northern Lynx",
    "Ember Elk",
    "Tidewater Rays",
    "Juniper Jays",
    "Basalt Bears",
];

const PLAYERS: [&str; 16] = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Alvarez",
    "Kowalski",
    "Mensah",
    "Reyes",
    "Novak",
    "Haddad",
    "Brennan",
    "Ito",
    "Achterberg",
    "Silva",
    "Duval",
    "Park",
];

const QUARTER_SECS: u32 = 12 * 60;
const OVERTIME_SECS: u32 = 5 * 60;
/// Steps a finished game stays on the board before the court's next matchup is announced.
const FINAL_STEPS: u32 = 8;
/// Steps a scheduled game waits before tip-off.
const SCHEDULED_STEPS: u32 = 6;

/// One court's current game. Pure: [`Court::step`] takes the random source as a parameter so
/// tests can replay a seed.
#[derive(Debug, Clone)]
pub struct Court {
    pub id: String,
    home: String,
    away: String,
    home_score: u32,
    away_score: u32,
    status: GameStatus,
    period: u8,
    /// Game seconds left in the period.
    clock: u32,
    /// Steps left in the current scheduled / final pause.
    wait: u32,
}

fn clock_text(secs: u32) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

impl Court {
    /// A court with a fresh scheduled game; `head_start` steps are played at once so courts
    /// start out at different moments of their games.
    pub fn new(index: usize, rng: &mut impl Rng, head_start: u32) -> Court {
        let mut c = Court {
            id: format!("court-{}", index + 1),
            home: String::new(),
            away: String::new(),
            home_score: 0,
            away_score: 0,
            status: GameStatus::Scheduled,
            period: 0,
            clock: 0,
            wait: 0,
        };
        c.new_matchup(rng);
        for _ in 0..head_start {
            c.step(rng);
        }
        c
    }

    fn new_matchup(&mut self, rng: &mut impl Rng) {
        let h = rng.random_range(0..TEAMS.len());
        let mut a = rng.random_range(0..TEAMS.len() - 1);
        if a >= h {
            a += 1;
        }
        self.home = TEAMS[h].into();
        self.away = TEAMS[a].into();
        self.home_score = 0;
        self.away_score = 0;
        self.status = GameStatus::Scheduled;
        self.period = 0;
        self.clock = QUARTER_SECS;
        self.wait = SCHEDULED_STEPS + rng.random_range(0..4);
    }

    /// The whole game as one update (announcing a matchup, or after a restart).
    pub fn full(&self) -> GameUpdate {
        GameUpdate {
            id: self.id.clone(),
            home: Some(self.home.clone()),
            away: Some(self.away.clone()),
            home_score: Some(self.home_score),
            away_score: Some(self.away_score),
            status: Some(self.status),
            period: Some(self.period),
            clock: Some(clock_text(self.clock)),
            last_play: None,
        }
    }

    fn delta(&self) -> GameUpdate {
        GameUpdate {
            id: self.id.clone(),
            ..GameUpdate::default()
        }
    }

    /// Advances the game by one step; returns what changed, if anything.
    pub fn step(&mut self, rng: &mut impl Rng) -> Option<GameUpdate> {
        match self.status {
            GameStatus::Scheduled => {
                self.wait = self.wait.saturating_sub(1);
                (self.wait == 0).then(|| {
                    self.status = GameStatus::Live;
                    self.period = 1;
                    self.clock = QUARTER_SECS;
                    GameUpdate {
                        status: Some(GameStatus::Live),
                        period: Some(1),
                        clock: Some(clock_text(self.clock)),
                        last_play: Some("Tip-off".into()),
                        ..self.delta()
                    }
                })
            }
            GameStatus::Final => {
                self.wait = self.wait.saturating_sub(1);
                (self.wait == 0).then(|| {
                    self.new_matchup(rng);
                    self.full()
                })
            }
            GameStatus::Live => Some(self.play(rng)),
        }
    }

    fn play(&mut self, rng: &mut impl Rng) -> GameUpdate {
        let mut u = self.delta();
        let elapsed = rng.random_range(20..=40);
        if self.clock <= elapsed {
            return self.end_period();
        }
        self.clock -= elapsed;
        u.clock = Some(clock_text(self.clock));
        if rng.random_bool(0.4) {
            let (points, what) = match rng.random_range(0..100) {
                0..15 => (1, "free throw"),
                15..70 => (
                    2,
                    if rng.random_bool(0.5) {
                        "layup"
                    } else {
                        "jump shot"
                    },
                ),
                _ => (3, "three-pointer"),
            };
            let player = PLAYERS[rng.random_range(0..PLAYERS.len())];
            let home = rng.random_bool(0.5);
            let team = if home {
                self.home_score += points;
                u.home_score = Some(self.home_score);
                &self.home
            } else {
                self.away_score += points;
                u.away_score = Some(self.away_score);
                &self.away
            };
            u.last_play = Some(format!("{player} {what} ({team})"));
        }
        u
    }

    fn end_period(&mut self) -> GameUpdate {
        let mut u = self.delta();
        if self.period >= 4 && self.home_score != self.away_score {
            self.status = GameStatus::Final;
            self.clock = 0;
            self.wait = FINAL_STEPS;
            u.status = Some(GameStatus::Final);
            u.clock = Some(clock_text(0));
            return u;
        }
        self.period += 1;
        self.clock = if self.period > 4 {
            OVERTIME_SECS
        } else {
            QUARTER_SECS
        };
        u.period = Some(self.period);
        u.clock = Some(clock_text(self.clock));
        u
    }
}

/// The notice for a game that just ended.
pub fn final_notice(game: &Game) -> NewNotice {
    let (winner, loser, w, l) = if game.home_score >= game.away_score {
        (&game.home, &game.away, game.home_score, game.away_score)
    } else {
        (&game.away, &game.home, game.away_score, game.home_score)
    };
    NewNotice {
        level: Level::Success,
        title: format!("Final: {winner} {w}–{l} {loser}"),
        body: String::new(),
        source: Some("scores".into()),
        link: Some("/scores".into()),
        at: Some(crate::event::now_ms()),
    }
}

#[derive(Clone)]
pub struct Simulator {
    games: usize,
    period: Duration,
}

impl Simulator {
    /// `None` when `--scores-games 0`.
    pub fn from_config(config: &Config) -> Option<Simulator> {
        (config.scores_games > 0).then(|| Simulator {
            games: config.scores_games as usize,
            period: Duration::from_millis(config.scores_tick_ms),
        })
    }

    pub async fn run(self, hub: Hub, stop: CancellationToken) {
        let scores = BuiltIn::Scores.topic();
        let notifications = BuiltIn::Notifications.topic();
        let mut rng = StdRng::from_os_rng();
        let mut courts: Vec<Court> = (0..self.games)
            .map(|i| {
                let head_start = rng.random_range(0..120);
                Court::new(i, &mut rng, head_start)
            })
            .collect();
        let mut ticker = tokio::time::interval(self.period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut first = true;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let updates: Vec<GameUpdate> = if first {
                first = false;
                courts.iter().map(Court::full).collect()
            } else {
                courts.iter_mut().filter_map(|c| c.step(&mut rng)).collect()
            };
            for u in updates {
                let data = serde_json::to_string(&u).expect("an update always serializes");
                if super::stopped(hub.publish(scores.clone(), data).await) {
                    return; // shutting down
                }
                if u.status == Some(GameStatus::Final) {
                    let game = hub.snapshot().scores.games.get(&u.id).cloned();
                    if let Some(game) = game {
                        let notice = serde_json::to_string(&final_notice(&game))
                            .expect("a notice always serializes");
                        if super::stopped(hub.publish(notifications.clone(), notice).await) {
                            return;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Payload, ScoresState};

    #[test]
    fn games_run_from_scheduled_to_final_and_start_over() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut court = Court::new(0, &mut rng, 0);
        let mut state = ScoresState::default();
        state.update(&court.full());
        let (mut finals, mut scoring_steps, mut live_steps, mut matchups) = (0, 0, 0, 1);
        for _ in 0..2000 {
            let before = state.games["court-1"].clone();
            if let Some(u) = court.step(&mut rng) {
                u.check().expect("every simulated update is valid");
                let applied = state.update(&u);
                finals += u32::from(applied.went_final);
                matchups += u32::from(u.home.is_some());
                let after = &state.games["court-1"];
                if after.status == GameStatus::Live {
                    live_steps += 1;
                    assert!(after.home_score >= before.home_score);
                    assert!(after.away_score >= before.away_score);
                    scoring_steps += u32::from(u.last_play.is_some());
                }
                if applied.went_final {
                    assert_ne!(after.home_score, after.away_score, "no ties at the end");
                    assert!(after.period >= 4);
                }
            }
        }
        assert!(finals >= 5, "{finals} games finished");
        assert!(matchups > finals);
        // Something visible (a score) happens on a good share of steps.
        assert!(
            scoring_steps * 4 > live_steps,
            "{scoring_steps} of {live_steps}"
        );
    }

    #[test]
    fn final_notice_names_the_winner_first() {
        let mut s = ScoresState::default();
        s.update(&GameUpdate {
            id: "g".into(),
            home: Some("A".into()),
            away: Some("B".into()),
            home_score: Some(90),
            away_score: Some(101),
            ..GameUpdate::default()
        });
        let n = final_notice(&s.games["g"]);
        assert_eq!(n.title, "Final: B 101–90 A");
        n.check().unwrap();
    }
}
