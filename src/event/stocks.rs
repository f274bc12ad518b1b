//! The stocks ticker: a tick is `{"symbol": "ACME", "price": 12.34}`; a [`Quote`] is what a row
//! of the table shows, and [`StocksState`] is the whole table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::topic::BuiltIn;
use super::view::{Changed, KeyedState, ViewState};
use super::{EventId, PayloadError};

/// How many recent prices a quote keeps for its sparkline.
pub const SPARK_POINTS: usize = 48;

/// Symbols: an uppercase letter, then up to 11 uppercase letters, digits or dots.
pub const MAX_SYMBOL_LEN: usize = 12;

/// Rows the ticker keeps unless the server says otherwise (`--max-stock-symbols`).
pub const DEFAULT_MAX_SYMBOLS: usize = 100;

/// One price update, as published to the `stocks` topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    pub symbol: String,
    pub price: f64,
}

impl super::Payload for Tick {
    const TOPIC: BuiltIn = BuiltIn::Stocks;

    fn check(&self) -> Result<(), String> {
        self.validate().map_err(|e| match e {
            PayloadError::Schema { detail, .. } => detail,
            other => other.to_string(),
        })
    }
}

impl Tick {
    pub fn parse(json: &str) -> Result<Tick, PayloadError> {
        <Tick as super::Payload>::parse(json)
    }

    pub fn validate(&self) -> Result<(), PayloadError> {
        let s = &self.symbol;
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_uppercase());
        if !first_ok
            || s.len() > MAX_SYMBOL_LEN
            || !chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.')
        {
            return Err(schema(format!(
                "symbol {s:?} must be 1-{MAX_SYMBOL_LEN} characters: an uppercase letter, \
                 then uppercase letters, digits or '.'"
            )));
        }
        if !(self.price.is_finite() && self.price > 0.0 && self.price < 1e12) {
            return Err(schema(format!(
                "price {} must be a positive number below 1e12",
                self.price
            )));
        }
        Ok(())
    }
}

fn schema(detail: String) -> PayloadError {
    PayloadError::Schema {
        topic: BuiltIn::Stocks.name(),
        detail,
    }
}

/// Direction of the latest move, for the up/down flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Move {
    Up,
    Down,
    #[default]
    Flat,
}

/// One row of the ticker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub symbol: String,
    pub price: f64,
    /// The first price seen this session; change and % change are relative to it.
    pub open: f64,
    pub high: f64,
    pub low: f64,
    /// How many ticks this quote has absorbed; the page shows it so a lost or repeated event
    /// is visible, not just wrong.
    pub ticks: u64,
    pub last_move: Move,
    /// The most recent prices, oldest first, at most [`SPARK_POINTS`].
    pub recent: Vec<f64>,
    /// The id of the event that last moved this quote (which row is least recently updated).
    #[serde(default)]
    pub updated: EventId,
}

impl Quote {
    pub fn new(symbol: &str, price: f64) -> Quote {
        Quote {
            symbol: symbol.to_owned(),
            price,
            open: price,
            high: price,
            low: price,
            ticks: 1,
            last_move: Move::Flat,
            recent: vec![price],
            updated: EventId::ZERO,
        }
    }

    /// Folds one new price into the quote.
    pub fn apply(&mut self, price: f64) {
        self.last_move = if price > self.price {
            Move::Up
        } else if price < self.price {
            Move::Down
        } else {
            Move::Flat
        };
        self.price = price;
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.ticks += 1;
        if self.recent.len() == SPARK_POINTS {
            self.recent.remove(0);
        }
        self.recent.push(price);
    }

    pub fn change(&self) -> f64 {
        self.price - self.open
    }

    pub fn change_pct(&self) -> f64 {
        if self.open == 0.0 {
            0.0
        } else {
            self.change() / self.open * 100.0
        }
    }
}

/// The whole ticker, rows ordered by symbol, at most `max_symbols` of them.
///
/// Symbols are whatever publishers send, so the table is bounded: a new symbol beyond
/// `max_symbols` replaces the row updated longest ago (the smallest [`Quote::updated`]). The
/// bound travels with the state (the page embeds it), so the browser's copy evicts exactly as
/// the server's does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StocksState {
    pub quotes: BTreeMap<String, Quote>,
    #[serde(default = "default_max_symbols")]
    pub max_symbols: usize,
}

fn default_max_symbols() -> usize {
    DEFAULT_MAX_SYMBOLS
}

impl Default for StocksState {
    fn default() -> Self {
        StocksState::with_max(DEFAULT_MAX_SYMBOLS)
    }
}

impl StocksState {
    pub fn with_max(max_symbols: usize) -> StocksState {
        StocksState {
            quotes: BTreeMap::new(),
            max_symbols: max_symbols.max(1),
        }
    }
}

impl ViewState for StocksState {
    type Event = Tick;
    const TOPIC: BuiltIn = BuiltIn::Stocks;

    /// Updates the symbol's quote, or adds a row for a symbol not seen before (replacing the
    /// least recently updated row when the table is full).
    fn apply(&mut self, id: EventId, tick: &Tick) -> Changed {
        let added = !self.quotes.contains_key(&tick.symbol);
        let quote = self
            .quotes
            .entry(tick.symbol.clone())
            .and_modify(|q| q.apply(tick.price))
            .or_insert_with(|| Quote::new(&tick.symbol, tick.price));
        quote.updated = id;
        while self.quotes.len() > self.max_symbols.max(1) {
            let oldest = self
                .quotes
                .values()
                .filter(|q| q.symbol != tick.symbol)
                .min_by_key(|q| q.updated)
                .map(|q| q.symbol.clone());
            match oldest {
                Some(symbol) => drop(self.quotes.remove(&symbol)),
                None => break,
            }
        }
        Changed::row(&tick.symbol, added)
    }
}

impl KeyedState for StocksState {
    type Row = Quote;

    /// Rows ordered by symbol.
    fn keys(&self) -> Vec<String> {
        self.quotes.keys().cloned().collect()
    }

    fn row(&self, key: &str) -> Option<&Quote> {
        self.quotes.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(symbol: &str, price: f64) -> Tick {
        Tick {
            symbol: symbol.into(),
            price,
        }
    }

    #[test]
    fn a_tick_moves_price_range_and_direction() {
        let mut s = StocksState::default();
        assert_eq!(
            s.apply(EventId::new(1), &tick("ACME", 10.0)),
            Changed::row("ACME", true)
        );
        assert_eq!(
            s.apply(EventId::new(2), &tick("ACME", 12.0)),
            Changed::row("ACME", false)
        );
        s.apply(EventId::new(3), &tick("ACME", 9.0));
        let q = s.quotes["ACME"].clone();
        assert_eq!((q.price, q.open, q.high, q.low), (9.0, 10.0, 12.0, 9.0));
        assert_eq!(q.last_move, Move::Down);
        assert_eq!(q.ticks, 3);
        assert_eq!(q.recent, vec![10.0, 12.0, 9.0]);
        assert!((q.change() - -1.0).abs() < 1e-9);
        assert!((q.change_pct() - -10.0).abs() < 1e-9);
    }

    #[test]
    fn unknown_symbols_become_new_rows_in_order() {
        let mut s = StocksState::default();
        s.apply(EventId::new(1), &tick("ZED", 1.0));
        s.apply(EventId::new(2), &tick("ACME", 2.0));
        let symbols = s.keys();
        assert_eq!(symbols, ["ACME", "ZED"]);
    }

    #[test]
    fn a_full_table_replaces_the_least_recently_updated_symbol() {
        let mut s = StocksState::with_max(2);
        s.apply(EventId::new(1), &tick("AAA", 1.0));
        s.apply(EventId::new(2), &tick("BBB", 1.0));
        s.apply(EventId::new(3), &tick("AAA", 2.0)); // BBB is now the stalest
        let changed = s.apply(EventId::new(4), &tick("CCC", 1.0));
        assert_eq!(changed, Changed::row("CCC", true), "the list changed");
        assert_eq!(s.keys(), ["AAA", "CCC"]);
        assert_eq!(s.quotes["AAA"].ticks, 2, "the kept row is untouched");
        // The bound survives the trip to the browser (the page embeds the state).
        let json = serde_json::to_string(&s).unwrap();
        let back: StocksState = serde_json::from_str(&json).unwrap();
        assert_eq!(back.max_symbols, 2);
        let old: StocksState = serde_json::from_str(r#"{"quotes":{}}"#).unwrap();
        assert_eq!(old.max_symbols, DEFAULT_MAX_SYMBOLS);
    }

    #[test]
    fn sparkline_keeps_only_recent_points() {
        let mut q = Quote::new("A", 1.0);
        for i in 0..(SPARK_POINTS * 2) {
            q.apply(2.0 + i as f64);
        }
        assert_eq!(q.recent.len(), SPARK_POINTS);
        assert_eq!(
            *q.recent.last().unwrap(),
            2.0 + (SPARK_POINTS * 2 - 1) as f64
        );
    }

    #[test]
    fn bad_ticks_are_refused_with_a_reason() {
        for (t, needle) in [
            (tick("acme", 1.0), "symbol"),
            (tick("", 1.0), "symbol"),
            (tick("TOOLONGSYMBOL1", 1.0), "symbol"),
            (tick("ACME", f64::NAN), "price"),
            (tick("ACME", 0.0), "price"),
        ] {
            let err = t.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
        assert!(Tick::parse(r#"{"symbol":"A","price":1,"extra":2}"#).is_err());
    }
}
