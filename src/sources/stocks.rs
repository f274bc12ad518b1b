//! The stocks simulator: a random walk over a few symbols, several ticks a second in all.
//!
//! Each tick moves one symbol by a small random step (about ±0.4%), with an occasional jump of
//! up to ±5%, so the table looks alive without running away. A move of more than
//! [`BIG_MOVE_PCT`] in one tick also sends a notification. Prices start where the snapshot
//! left them, so a restart continues the walk instead of jumping.
//!
//! Every tick states when it was made and the session's reference price (`at`, `open`: the
//! first price of the UTC day, [`session_open`]), so the reference survives restarts and
//! trimmed history: it is carried by the newest events, not only by the day's first one.

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::event::notifications::Level;
use crate::event::stocks::session_open;
use crate::event::BuiltIn;
use crate::event::{NewNotice, Tick};
use crate::hub::Hub;

/// A one-tick move larger than this (percent) is news: it goes out as a notification.
pub const BIG_MOVE_PCT: f64 = 3.0;

#[derive(Clone)]
pub struct Simulator {
    symbols: Vec<String>,
    period: Duration,
}

impl Simulator {
    /// `Ok(None)` when the rate is 0 (simulator off).
    pub fn from_config(config: &Config) -> Result<Option<Simulator>, String> {
        let rate = config.stocks_rate;
        if !(rate.is_finite() && (0.0..=10_000.0).contains(&rate)) {
            return Err(format!("--stocks-rate {rate} must be between 0 and 10000"));
        }
        let mut symbols = Vec::new();
        for s in &config.stocks_symbols {
            let symbol = s.trim().to_ascii_uppercase();
            Tick {
                symbol: symbol.clone(),
                price: 1.0,
                at: None,
                open: None,
            }
            .validate()
            .map_err(|e| format!("--stocks-symbols: {e}"))?;
            symbols.push(symbol);
        }
        if rate == 0.0 || symbols.is_empty() {
            return Ok(None);
        }
        Ok(Some(Simulator {
            symbols,
            period: Duration::from_secs_f64(1.0 / rate),
        }))
    }

    pub async fn run(self, hub: Hub, stop: CancellationToken) {
        let topic = BuiltIn::Stocks.topic();
        let notifications = BuiltIn::Notifications.topic();
        let snapshot = hub.snapshot();
        // Each symbol's price and session (UTC day, open), continued from the snapshot.
        let (mut prices, mut sessions): (Vec<f64>, Vec<Option<(i64, f64)>>) = {
            let mut rng = rand::rng();
            self.symbols
                .iter()
                .map(|s| match snapshot.stocks.quotes.get(s) {
                    Some(q) => (q.price, Some((q.session_day, q.open))),
                    None => (rng.random_range(20.0..400.0), None),
                })
                .unzip()
        };
        let mut ticker = tokio::time::interval(self.period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let (i, price) = {
                let mut rng = rand::rng();
                let i = rng.random_range(0..self.symbols.len());
                let step = if rng.random_bool(0.005) {
                    rng.random_range(-0.05..0.05)
                } else {
                    rng.random_range(-0.004..0.004)
                };
                (i, next_price(prices[i], step))
            };
            let before = prices[i];
            prices[i] = price;
            let at = crate::event::now_ms();
            let session = session_open(sessions[i], Some(at), price, None);
            sessions[i] = Some(session);
            let tick = Tick {
                symbol: self.symbols[i].clone(),
                price,
                at: Some(at),
                open: Some(session.1),
            };
            let data = serde_json::to_string(&tick).expect("a Tick always serializes");
            if super::stopped(hub.publish(topic.clone(), data).await) {
                return; // shutting down
            }
            if let Some(notice) = big_move(&tick.symbol, before, price) {
                let data = serde_json::to_string(&notice).expect("a notice always serializes");
                if super::stopped(hub.publish(notifications.clone(), data).await) {
                    return;
                }
            }
        }
    }
}

/// The notice for a move of more than [`BIG_MOVE_PCT`] in one tick, if this is one.
pub fn big_move(symbol: &str, before: f64, after: f64) -> Option<NewNotice> {
    let pct = (after - before) / before * 100.0;
    (pct.abs() > BIG_MOVE_PCT).then(|| NewNotice {
        level: Level::Info,
        title: format!(
            "{symbol} {} {:.1}% in one tick",
            if pct > 0.0 { "jumps" } else { "drops" },
            pct.abs()
        ),
        body: format!("{before:.2} → {after:.2}"),
        source: Some("stocks".into()),
        link: Some("/stocks".into()),
        at: Some(crate::event::now_ms()),
    })
}

/// Applies a relative step and rounds to cents, never below one cent.
fn next_price(price: f64, step: f64) -> f64 {
    ((price * (1.0 + step)) * 100.0).round().max(1.0) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_stay_positive_and_in_cents() {
        assert_eq!(next_price(10.0, 0.01), 10.1);
        assert_eq!(next_price(0.01, -0.5), 0.01);
        let p = next_price(123.456, 0.0);
        assert_eq!(p, 123.46);
    }

    #[test]
    fn only_big_moves_are_news() {
        assert!(big_move("ACME", 100.0, 103.0).is_none());
        let up = big_move("ACME", 100.0, 103.5).unwrap();
        assert_eq!(up.title, "ACME jumps 3.5% in one tick");
        assert_eq!(up.body, "100.00 → 103.50");
        let down = big_move("ACME", 100.0, 95.0).unwrap();
        assert_eq!(down.title, "ACME drops 5.0% in one tick");
    }
}
