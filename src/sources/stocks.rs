//! The stocks simulator: a random walk over a few symbols, several ticks a second in all.
//!
//! Each tick moves one symbol by a small random step (about ±0.4%), with an occasional jump of
//! up to ±3%, so the table looks alive without running away. Prices start where the snapshot
//! left them, so a restart continues the walk instead of jumping.

use std::time::Duration;

use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::event::topic::STOCKS;
use crate::event::{Tick, Topic};
use crate::hub::Hub;

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
        if rate == 0.0 {
            return Ok(None);
        }
        let mut symbols = Vec::new();
        for s in &config.stocks_symbols {
            let symbol = s.trim().to_ascii_uppercase();
            Tick {
                symbol: symbol.clone(),
                price: 1.0,
            }
            .validate()
            .map_err(|e| format!("--stocks-symbols: {e}"))?;
            symbols.push(symbol);
        }
        if symbols.is_empty() {
            return Ok(None);
        }
        Ok(Some(Simulator {
            symbols,
            period: Duration::from_secs_f64(1.0 / rate),
        }))
    }

    pub async fn run(self, hub: Hub, stop: CancellationToken) {
        let topic = Topic::parse(STOCKS).expect("built-in topic name is valid");
        let snapshot = hub.snapshot();
        let mut prices: Vec<f64> = {
            let mut rng = rand::rng();
            self.symbols
                .iter()
                .map(|s| {
                    snapshot
                        .stocks
                        .quotes
                        .get(s)
                        .map_or_else(|| rng.random_range(20.0..400.0), |q| q.price)
                })
                .collect()
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
                let step = if rng.random_bool(0.03) {
                    rng.random_range(-0.03..0.03)
                } else {
                    rng.random_range(-0.004..0.004)
                };
                (i, next_price(prices[i], step))
            };
            prices[i] = price;
            let tick = Tick {
                symbol: self.symbols[i].clone(),
                price,
            };
            let data = serde_json::to_string(&tick).expect("a Tick always serializes");
            if hub.publish(topic.clone(), data).await.is_err() {
                return; // shutting down
            }
        }
    }
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
}
