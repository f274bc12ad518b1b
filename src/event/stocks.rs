//! The stocks ticker: a tick is `{"symbol": "ACME", "price": 12.34}`; a [`Quote`] is what a row
//! of the table shows, and [`StocksState`] is the whole table.
//!
//! ## The reference price
//! Change and % change are measured against the symbol's *session open*: the first price of
//! the UTC day ([`session_open`]). A tick may carry `at` (Unix ms) — the first tick of a later
//! UTC day opens a new session — and `open`, the session's reference stated by the publisher.
//! The simulator sends both on every tick, so the reference travels in the committed events:
//! a snapshot rebuilt after a restart from only the newest events (the first tick of the day
//! long trimmed away), another instance, and every browser all agree on it. A tick without
//! `at` belongs to the quote's current session.

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
    /// When the price was observed (Unix ms, UTC); decides the session ([`session_open`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// The session's reference price, as the publisher knows it (wins over the rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<f64>,
}

/// Milliseconds in a UTC day (Unix time has no leap seconds).
const DAY_MS: i64 = 86_400_000;

/// The UTC day (days since 1970-01-01) of a Unix-ms time.
pub fn utc_day(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS)
}

/// The reference-price rule: the session is the UTC day, and its open is the first price seen
/// on that day. Given the current session (`(day, open)`, `None` before the first price) and a
/// new price at `at_ms` (`None`: unknown, so the current session), returns the session after
/// it. A publisher's stated `open` always wins.
pub fn session_open(
    current: Option<(i64, f64)>,
    at_ms: Option<i64>,
    price: f64,
    stated: Option<f64>,
) -> (i64, f64) {
    let day = at_ms.map(utc_day);
    let (day, open) = match (current, day) {
        (Some((cur_day, open)), Some(day)) if day <= cur_day => (cur_day, open),
        (Some((cur_day, open)), None) => (cur_day, open),
        (_, day) => (day.unwrap_or(0), price),
    };
    (day, stated.unwrap_or(open))
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
        for (name, v) in [("price", Some(self.price)), ("open", self.open)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0 && *v < 1e12)) {
                return Err(schema(format!(
                    "{name} {v} must be a positive number below 1e12"
                )));
            }
        }
        if self.at.is_some_and(|at| at < 0) {
            return Err(schema(
                "at must be a time in Unix milliseconds (0 or more)".to_owned(),
            ));
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
    /// The session's reference price ([`session_open`]); change and % change are against it.
    pub open: f64,
    /// The session's UTC day (0 when no tick said when it was).
    #[serde(default)]
    pub session_day: i64,
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
            session_day: 0,
            high: price,
            low: price,
            ticks: 1,
            last_move: Move::Flat,
            recent: vec![price],
            updated: EventId::ZERO,
        }
    }

    /// The first tick of a symbol.
    pub fn from_tick(tick: &Tick) -> Quote {
        let mut q = Quote::new(&tick.symbol, tick.price);
        (q.session_day, q.open) = session_open(None, tick.at, tick.price, tick.open);
        q
    }

    /// Folds one tick in: a new session resets the open, high and low.
    pub fn apply_tick(&mut self, tick: &Tick) {
        let (day, open) = session_open(
            Some((self.session_day, self.open)),
            tick.at,
            tick.price,
            tick.open,
        );
        if day != self.session_day {
            self.high = tick.price;
            self.low = tick.price;
        }
        (self.session_day, self.open) = (day, open);
        self.apply(tick.price);
    }

    /// Folds one new price into the quote (same session).
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
            .and_modify(|q| q.apply_tick(tick))
            .or_insert_with(|| Quote::from_tick(tick));
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
            at: None,
            open: None,
        }
    }

    fn at(symbol: &str, price: f64, at: i64) -> Tick {
        Tick {
            at: Some(at),
            ..tick(symbol, price)
        }
    }

    /// 2026-12-07T00:00:00Z.
    const DEC7: i64 = 1_796_601_600_000;

    #[test]
    fn the_reference_is_the_first_price_of_the_utc_day() {
        assert_eq!(utc_day(DEC7), 20_794);
        assert_eq!(
            utc_day(DEC7 - 1),
            20_793,
            "23:59:59.999 is still the day before"
        );
        let mut s = StocksState::default();
        s.apply(EventId::new(1), &at("ACME", 100.0, DEC7 - 60_000));
        s.apply(EventId::new(2), &at("ACME", 104.0, DEC7 - 1));
        assert_eq!(s.quotes["ACME"].open, 100.0, "same day: the first price");
        s.apply(EventId::new(3), &at("ACME", 110.0, DEC7));
        let q = &s.quotes["ACME"];
        assert_eq!(
            (q.open, q.high, q.low),
            (110.0, 110.0, 110.0),
            "a new session"
        );
        s.apply(EventId::new(4), &at("ACME", 99.0, DEC7 + 3_600_000));
        s.apply(EventId::new(5), &tick("ACME", 121.0));
        let q = &s.quotes["ACME"];
        assert_eq!(q.open, 110.0, "a tick without a time stays in the session");
        assert!((q.change() - 11.0).abs() < 1e-9);
        assert!((q.change_pct() - 10.0).abs() < 1e-9);
        // A late tick from the day before does not reopen the old session.
        s.apply(EventId::new(6), &at("ACME", 50.0, DEC7 - 5));
        assert_eq!(s.quotes["ACME"].open, 110.0);
    }

    #[test]
    fn a_stated_open_survives_a_rebuild_from_the_newest_events_only() {
        // The simulator states the open on every tick; a snapshot rebuilt from just the last
        // ticks (the day's first one trimmed away) agrees with the one that saw them all.
        let ticks: Vec<Tick> = (0..10)
            .map(|i| Tick {
                open: Some(100.0),
                ..at("ACME", 100.0 + i as f64, DEC7 + i * 1000)
            })
            .collect();
        let mut full = StocksState::default();
        let mut rebuilt = StocksState::default();
        for (i, t) in ticks.iter().enumerate() {
            full.apply(EventId::new(i as u64 + 1), t);
            if i >= 7 {
                rebuilt.apply(EventId::new(i as u64 + 1), t);
            }
        }
        assert_eq!(full.quotes["ACME"].open, 100.0);
        assert_eq!(rebuilt.quotes["ACME"].open, 100.0);
        assert_eq!(
            rebuilt.quotes["ACME"].change_pct(),
            full.quotes["ACME"].change_pct()
        );
        assert_eq!(session_open(Some((5, 1.0)), None, 2.0, Some(3.0)), (5, 3.0));
        assert_eq!(session_open(None, None, 2.0, None), (0, 2.0));
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
            (
                Tick {
                    open: Some(-1.0),
                    ..tick("ACME", 1.0)
                },
                "open",
            ),
            (
                Tick {
                    at: Some(-1),
                    ..tick("ACME", 1.0)
                },
                "at must be",
            ),
        ] {
            let err = t.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
        assert!(Tick::parse(r#"{"symbol":"A","price":1,"extra":2}"#).is_err());
    }
}
