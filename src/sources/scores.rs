//! The game simulator: `--scores-games` courts, each playing one game after another —
//! scheduled, then four 12-minute quarters (overtime when tied), then final — with the game
//! clock running about 25 times real time at the default step, so a game lasts a couple of
//! minutes and some score changes every few seconds.
//!
//! Each step publishes one partial [`GameUpdate`] per court that changed, exactly as an external
//! publisher or the scorekeeper would; when a game ends it also sends a notification.
//!
//! Two rules a sports fan checks first, both kept by [`League`]:
//! - **One game per team.** A court's next matchup is drawn only from teams not on another
//!   court's current game (whatever its status), so no team is ever in two live games. With
//!   more courts than pairs of free teams (over 8 courts), a court waits for teams to free up.
//! - **The scorekeeper wins.** A game a scorekeeper changed is *kept* (see
//!   [`crate::event::scores`]): before each step the league reads the board, and a kept court
//!   is left alone — no clock, no scores — until the scorekeeper ends the game; then, after the
//!   usual pause, the court gets its next matchup. The fold ignores unflagged updates to a
//!   kept game as well, so a step racing a correction cannot undo it either.

use std::collections::HashSet;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::event::notifications::Level;
use crate::event::scores::{Game, GameStatus};
use crate::event::{BuiltIn, ScoresState};
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
    /// A scorekeeper has this game ([`Game::kept`] on the board): the court does not step.
    kept: bool,
}

fn clock_text(secs: u32) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

impl Court {
    /// An empty court (no game until [`Court::step`] finds two free teams).
    fn empty(index: usize) -> Court {
        Court {
            id: format!("court-{}", index + 1),
            home: String::new(),
            away: String::new(),
            home_score: 0,
            away_score: 0,
            status: GameStatus::Final,
            period: 0,
            clock: 0,
            wait: 0,
            kept: false,
        }
    }

    /// Whether the court has a game to show (it may wait for free teams).
    pub fn has_game(&self) -> bool {
        !self.home.is_empty()
    }

    /// The teams of the court's current game.
    fn teams(&self) -> [&str; 2] {
        [self.home.as_str(), self.away.as_str()]
    }

    /// Draws the next matchup from teams not in `busy`; `false` (and no change) when fewer
    /// than two are free.
    fn new_matchup(&mut self, rng: &mut impl Rng, busy: &HashSet<&str>) -> bool {
        let free: Vec<&str> = TEAMS
            .iter()
            .copied()
            .filter(|t| !busy.contains(t))
            .collect();
        if free.len() < 2 {
            return false;
        }
        let h = rng.random_range(0..free.len());
        let mut a = rng.random_range(0..free.len() - 1);
        if a >= h {
            a += 1;
        }
        self.home = free[h].into();
        self.away = free[a].into();
        self.kept = false;
        self.home_score = 0;
        self.away_score = 0;
        self.status = GameStatus::Scheduled;
        self.period = 0;
        self.clock = QUARTER_SECS;
        self.wait = SCHEDULED_STEPS + rng.random_range(0..4);
        true
    }

    /// Takes what the board says about this court's game: a kept game stops the court (and,
    /// once the scorekeeper ends it, starts the usual pause before the next matchup).
    fn sync(&mut self, game: Option<&Game>) {
        let Some(game) = game.filter(|g| g.kept) else {
            self.kept = false;
            return;
        };
        let was_final = self.status == GameStatus::Final;
        self.kept = true;
        self.home.clone_from(&game.home);
        self.away.clone_from(&game.away);
        self.home_score = game.home_score;
        self.away_score = game.away_score;
        self.status = game.status;
        if game.status == GameStatus::Final && !(was_final && self.wait > 0) {
            self.wait = FINAL_STEPS;
        }
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
            keeper: false,
        }
    }

    fn delta(&self) -> GameUpdate {
        GameUpdate {
            id: self.id.clone(),
            ..GameUpdate::default()
        }
    }

    /// Advances the game by one step; returns what changed, if anything. `busy` holds the
    /// teams of the other courts' games (a new matchup avoids them). A kept game whose
    /// scorekeeper has not ended it does not move.
    pub fn step(&mut self, rng: &mut impl Rng, busy: &HashSet<&str>) -> Option<GameUpdate> {
        if self.kept && self.status != GameStatus::Final {
            return None;
        }
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
                (self.wait == 0 && self.new_matchup(rng, busy)).then(|| self.full())
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

/// The simulator's courts, stepped together so that no team is on two courts at once.
#[derive(Debug, Clone)]
pub struct League {
    pub courts: Vec<Court>,
}

impl League {
    /// `games` courts, taking over the kept games already on `board`; every other court gets a
    /// matchup of free teams and a random head start (up to `head_start` steps) so courts start
    /// at different moments of their games.
    pub fn new(games: usize, board: &ScoresState, rng: &mut impl Rng, head_start: u32) -> League {
        let mut league = League {
            courts: (0..games).map(Court::empty).collect(),
        };
        league.sync(board);
        for i in 0..games {
            if league.courts[i].has_game() {
                continue;
            }
            let busy = league.busy_except(i);
            let mut court = league.courts[i].clone();
            court.new_matchup(rng, &busy);
            league.courts[i] = court;
        }
        for i in 0..games {
            let steps = if head_start == 0 {
                0
            } else {
                rng.random_range(0..head_start)
            };
            for _ in 0..steps {
                league.step_court(i, rng);
            }
        }
        league
    }

    /// The teams of every court's current game but court `i`'s.
    fn busy_except(&self, i: usize) -> HashSet<&'static str> {
        let mut busy = HashSet::new();
        for (j, c) in self.courts.iter().enumerate() {
            if j != i {
                for t in c.teams() {
                    // Teams are always from TEAMS; map back to the 'static names.
                    if let Some(&name) = TEAMS.iter().find(|&&n| n == t) {
                        busy.insert(name);
                    }
                }
            }
        }
        busy
    }

    fn step_court(&mut self, i: usize, rng: &mut impl Rng) -> Option<GameUpdate> {
        let busy = self.busy_except(i);
        self.courts[i].step(rng, &busy)
    }

    /// Reads the board: which games a scorekeeper keeps, and where they stand.
    pub fn sync(&mut self, board: &ScoresState) {
        for c in &mut self.courts {
            c.sync(board.games.get(&c.id));
        }
    }

    /// Every court's game as one update each (announcing the board after a start), except
    /// kept games and courts without a game.
    pub fn full(&self) -> Vec<GameUpdate> {
        self.courts
            .iter()
            .filter(|c| c.has_game() && !c.kept)
            .map(Court::full)
            .collect()
    }

    /// One step of every court, after reading the board; the updates to publish.
    pub fn step(&mut self, rng: &mut impl Rng, board: &ScoresState) -> Vec<GameUpdate> {
        self.sync(board);
        (0..self.courts.len())
            .filter_map(|i| self.step_court(i, rng))
            .collect()
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
        let mut league = hub.read(|s| League::new(self.games, &s.scores, &mut rng, 120));
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
                league.full()
            } else {
                hub.read(|s| league.step(&mut rng, &s.scores))
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
        let mut state = ScoresState::default();
        let mut league = League::new(1, &state, &mut rng, 0);
        for u in league.full() {
            state.update(&u);
        }
        let (mut finals, mut scoring_steps, mut live_steps, mut matchups) = (0, 0, 0, 1);
        for _ in 0..2000 {
            let before = state.games["court-1"].clone();
            for u in league.step(&mut rng, &state) {
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

    /// Every team on the board appears in at most one game that is not final.
    fn assert_one_game_per_team(state: &ScoresState, step: usize) {
        let mut seen = HashSet::new();
        for g in state.games.values() {
            if g.status == GameStatus::Final {
                continue;
            }
            for t in [&g.home, &g.away] {
                assert!(seen.insert(t.clone()), "step {step}: {t} is in two games");
            }
        }
    }

    #[test]
    fn no_team_plays_two_games_at_once() {
        for seed in [1, 2, 3] {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut state = ScoresState::default();
            // 12 courts for 16 teams: some courts must wait for teams to free up.
            let mut league = League::new(12, &state, &mut rng, 120);
            for u in league.full() {
                state.update(&u);
            }
            assert_one_game_per_team(&state, 0);
            let mut live_max = 0;
            for step in 1..3000 {
                for u in league.step(&mut rng, &state) {
                    u.check().expect("valid");
                    state.update(&u);
                }
                assert_one_game_per_team(&state, step);
                let live = state
                    .games
                    .values()
                    .filter(|g| g.status == GameStatus::Live)
                    .count();
                live_max = live_max.max(live);
            }
            assert!(
                live_max >= 6,
                "seed {seed}: at most {live_max} live at once"
            );
            assert!(live_max <= 8, "16 teams make at most 8 games");
        }
    }

    #[test]
    fn the_simulator_leaves_a_kept_game_alone_until_it_is_final() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut state = ScoresState::default();
        let mut league = League::new(3, &state, &mut rng, 0);
        for u in league.full() {
            state.update(&u);
        }
        // Run until court-2 is live, then a scorekeeper corrects it.
        let mut steps = 0;
        while state.games["court-2"].status != GameStatus::Live {
            for u in league.step(&mut rng, &state) {
                state.update(&u);
            }
            steps += 1;
            assert!(steps < 100, "court-2 never started");
        }
        state.update(&GameUpdate {
            id: "court-2".into(),
            home_score: Some(77),
            keeper: true,
            ..GameUpdate::default()
        });
        let kept = state.games["court-2"].clone();
        for _ in 0..300 {
            let updates = league.step(&mut rng, &state);
            assert!(
                updates.iter().all(|u| u.id != "court-2"),
                "the simulator sent an update for a kept game"
            );
            for u in updates {
                state.update(&u);
            }
        }
        assert_eq!(state.games["court-2"], kept);
        assert!(
            state.games["court-1"].updates > 50,
            "the other courts kept playing"
        );
        // Even an update sent anyway (a step that raced the correction) is ignored.
        let mut raced = league.courts[1].clone();
        raced.kept = false;
        raced.home_score = 3;
        assert!(state.update(&raced.full()).ignored);
        assert_eq!(state.games["court-2"].home_score, 77);

        // The scorekeeper ends the game: after the pause the court has its next matchup.
        state.update(&GameUpdate {
            id: "court-2".into(),
            status: Some(GameStatus::Final),
            keeper: true,
            ..GameUpdate::default()
        });
        let mut next = None;
        for step in 0..=FINAL_STEPS + 1 {
            for u in league.step(&mut rng, &state) {
                if u.id == "court-2" {
                    next = Some(step);
                }
                state.update(&u);
            }
        }
        assert!(next.is_some_and(|s| s + 1 >= FINAL_STEPS), "{next:?}");
        let g = &state.games["court-2"];
        assert_eq!(
            (g.status, g.kept, g.home_score),
            (GameStatus::Scheduled, false, 0)
        );
        assert_one_game_per_team(&state, 0);
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
