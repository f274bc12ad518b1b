//! `/stocks`: the live ticker. Each row owns one signal; a tick updates that row's cells in
//! place (price, change, range, sparkline, flash) and never re-creates the row element.
//!
//! Change and % change are against the session open (the first price of the UTC day, see
//! [`crate::event::stocks`]), with ▲/▼ (and words for screen readers). The column headers are
//! buttons that sort the table (again to reverse; `aria-sort` says how it is sorted); a sorted
//! table re-orders as prices move, by moving the existing rows. A tick lights its row for a
//! moment (an overlay switched on and off, no animation running; [`super::lights`]), off
//! under reduced motion.

use std::cmp::Ordering;

use leptos::prelude::*;
use leptos_meta::Title;

use super::format;
use super::lights::Lights;
use super::memo::derived;
use super::pause::PauseToggle;
use super::sparkline::Sparkline;
use crate::event::stocks::{Move, Quote};
use crate::event::BuiltIn;
use crate::live::LiveStore;

/// A column the table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Symbol,
    Price,
    Change,
    Pct,
}

impl SortKey {
    fn compare(self, a: &Quote, b: &Quote) -> Ordering {
        let by = |f: fn(&Quote) -> f64| f(a).total_cmp(&f(b));
        match self {
            SortKey::Symbol => a.symbol.cmp(&b.symbol),
            SortKey::Price => by(|q| q.price),
            SortKey::Change => by(Quote::change),
            SortKey::Pct => by(Quote::change_pct),
        }
        .then_with(|| a.symbol.cmp(&b.symbol))
    }

    /// The direction a first click sorts in: names A→Z, numbers biggest first.
    fn first_descending(self) -> bool {
        self != SortKey::Symbol
    }
}

/// How the table is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            key: SortKey::Symbol,
            descending: false,
        }
    }
}

impl Sort {
    /// Clicking a header: the same column again reverses, another starts in its usual order.
    pub fn toggle(self, key: SortKey) -> Sort {
        if self.key == key {
            Sort {
                key,
                descending: !self.descending,
            }
        } else {
            Sort {
                key,
                descending: key.first_descending(),
            }
        }
    }

    /// Symbols in this order.
    pub fn order(self, quotes: &mut [Quote]) -> Vec<String> {
        quotes.sort_by(|a, b| {
            let o = self.key.compare(a, b);
            if self.descending {
                o.reverse()
            } else {
                o
            }
        });
        quotes.iter().map(|q| q.symbol.clone()).collect()
    }
}

#[component]
pub fn StocksPage() -> impl IntoView {
    let stocks = expect_context::<LiveStore>().stocks;
    provide_context(Lights::default());
    let sort = RwSignal::new(Sort::default());
    // Reads every row only when sorted by a value; by symbol, the store's order already is.
    let ordered = move || {
        let sort = sort.get();
        if sort == Sort::default() {
            return stocks.keys.get();
        }
        let mut quotes: Vec<Quote> = stocks.keys.with(|keys| {
            keys.iter()
                .filter_map(|k| stocks.row(k).map(|q| q.get()))
                .collect()
        });
        sort.order(&mut quotes)
    };
    let header = move |key: SortKey, label: &'static str, class: &'static str| {
        let aria = move || {
            let s = sort.get();
            match (s.key == key, s.descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            }
        };
        let mark = move || match aria() {
            "ascending" => "▲",
            "descending" => "▼",
            _ => "",
        };
        view! {
            <th scope="col" class=class aria-sort=aria>
                <button
                    type="button"
                    class="sort"
                    data-sort=label
                    on:click=move |_| sort.update(|s| *s = s.toggle(key))
                >
                    {label}
                    <span class="sort-mark" aria-hidden="true">{mark}</span>
                </button>
            </th>
        }
        .into_any()
    };
    view! {
        <Title text="Stocks · Pulse"/>
        <section class="panel" aria-labelledby="stocks-title">
            <div class="panel-head">
                <h1 id="stocks-title">"Stocks"</h1>
                <p class="muted">
                    {move || format!("{} symbols", stocks.len())}
                    " · change since the session open (first price of the UTC day)"
                </p>
                <PauseToggle topic=BuiltIn::Stocks/>
            </div>
            <Show
                when=move || !stocks.is_empty()
                fallback=|| {
                    view! {
                        <p class="empty">
                            "No prices yet. The simulator ticks within a second; publish to "
                            <code>"stocks"</code>
                            " to add your own."
                        </p>
                    }
                }
            >
                <div class="table-wrap">
                    <table class="ticker">
                        <caption class="sr-only">
                            "Live stock prices. Column headers are buttons that sort the table."
                        </caption>
                        <thead>
                            <tr>
                                {header(SortKey::Symbol, "Symbol", "")}
                                {header(SortKey::Price, "Price", "num")}
                                {header(SortKey::Change, "Change", "num hide-xs")}
                                {header(SortKey::Pct, "% Change", "num")}
                                <th scope="col" class="num hide-sm">"High"</th>
                                <th scope="col" class="num hide-sm">"Low"</th>
                                <th scope="col" class="spark-col">"Trend"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=ordered key=|symbol| symbol.clone() let:symbol>
                                <StockRow symbol/>
                            </For>
                        </tbody>
                    </table>
                </div>
            </Show>
        </section>
    }
    .into_any()
}

/// The row's class while it is lit by a move.
fn lit_class(lit: Option<Move>) -> &'static str {
    match lit {
        Some(Move::Up) => "lit-up",
        Some(Move::Down) => "lit-down",
        Some(Move::Flat) | None => "",
    }
}

/// Which way a change points. The row's arrow, its words and the cell's colour follow this,
/// not the number: a memo of it re-renders them only when the direction flips, not on every
/// tick (at 1,000 ticks/s that was two elements made and dropped per cell per tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
    Unchanged,
}

impl Direction {
    fn of(v: f64) -> Direction {
        if v > 0.0 {
            Direction::Up
        } else if v < 0.0 {
            Direction::Down
        } else {
            Direction::Unchanged
        }
    }

    /// The cell's classes (`hide_xs`: the column hides on the smallest screens).
    fn class(self, hide_xs: bool) -> &'static str {
        match (self, hide_xs) {
            (Direction::Up, false) => "num up",
            (Direction::Down, false) => "num down",
            (Direction::Unchanged, false) => "num",
            (Direction::Up, true) => "num up hide-xs",
            (Direction::Down, true) => "num down hide-xs",
            (Direction::Unchanged, true) => "num hide-xs",
        }
    }

    fn mark(self) -> &'static str {
        match self {
            Direction::Up => "▲",
            Direction::Down => "▼",
            Direction::Unchanged => "",
        }
    }

    /// The direction in words, for screen readers.
    fn words(self) -> &'static str {
        match self {
            Direction::Up => "up ",
            Direction::Down => "down ",
            Direction::Unchanged => "unchanged ",
        }
    }
}

/// ▲ / ▼ before a change, with the direction in words for screen readers.
fn arrow(direction: Signal<Direction>) -> impl IntoView {
    view! {
        <span class="arrow" aria-hidden="true">{move || direction.get().mark()}</span>
        <span class="sr-only">{move || direction.get().words()}</span>
    }
}

#[component]
fn StockRow(symbol: String) -> impl IntoView {
    let stocks = expect_context::<LiveStore>().stocks;
    let Some(q) = stocks.row(&symbol) else {
        return ().into_any();
    };
    // A tick lights the row; the lights go out at a later tick (see [`super::lights`]). The
    // first run only records the count, so neither the server's HTML nor hydration lights
    // anything.
    let lights = expect_context::<Lights>();
    let lit = RwSignal::new(None::<Move>);
    Effect::new(move |seen: Option<u64>| {
        let (ticks, last_move) = q.with(|q| (q.ticks, q.last_move));
        if seen.is_some_and(|seen| seen != ticks) {
            lights.light(lit, last_move);
        }
        ticks
    });
    // Each figure once per tick, and what follows from it only when it changes.
    // (Memos in the browser; computed once, when the row is built, on the server: see
    // [`super::memo`].)
    let change = derived(move || q.with(|q| q.change()));
    let pct = derived(move || q.with(|q| q.change_pct()));
    let change_dir = derived(move || Direction::of(change.get()));
    let pct_dir = derived(move || Direction::of(pct.get()));
    let high = derived(move || q.with(|q| q.high));
    let low = derived(move || q.with(|q| q.low));
    let recent = derived(move || q.with(|q| q.recent.clone()));
    let open = derived(move || q.with(|q| q.open));
    view! {
        <tr
            data-testid="stock-row"
            data-symbol=symbol.clone()
            data-ticks=move || q.with(|q| q.ticks.to_string())
            data-pct=move || pct.get().to_string()
            class=move || lit_class(lit.get())
        >
            <th scope="row" class="symbol">{symbol.clone()}</th>
            <td class="num price" data-testid="price">{move || q.with(|q| format::price(q.price))}</td>
            <td class=move || change_dir.get().class(true) data-testid="change">
                {arrow(change_dir)}
                {move || format::signed(change.get())}
            </td>
            <td class=move || pct_dir.get().class(false) data-testid="pct">
                {arrow(pct_dir)}
                {move || format::percent(pct.get())}
            </td>
            <td class="num hide-sm">{move || format::price(high.get())}</td>
            <td class="num hide-sm">{move || format::price(low.get())}</td>
            <td class="spark-col">
                <Sparkline
                    values=recent
                    baseline=open
                    label=format!("Recent prices of {symbol}, against the session open")
                />
            </td>
        </tr>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(symbol: &str, open: f64, price: f64) -> Quote {
        let mut q = Quote::new(symbol, open);
        q.apply(price);
        q
    }

    #[test]
    fn sorts_by_percent_change_and_reverses() {
        let mut quotes = vec![
            quote("AAA", 100.0, 101.0), // +1%
            quote("BBB", 10.0, 9.0),    // -10%
            quote("CCC", 50.0, 55.0),   // +10%
        ];
        let sort = Sort::default().toggle(SortKey::Pct);
        assert!(sort.descending, "numbers sort biggest first");
        assert_eq!(sort.order(&mut quotes), ["CCC", "AAA", "BBB"]);
        let sort = sort.toggle(SortKey::Pct);
        assert_eq!(sort.order(&mut quotes), ["BBB", "AAA", "CCC"]);
        let by_symbol = sort.toggle(SortKey::Symbol);
        assert!(!by_symbol.descending);
        assert_eq!(by_symbol.order(&mut quotes), ["AAA", "BBB", "CCC"]);
        assert_eq!(
            Sort::default().toggle(SortKey::Change).order(&mut quotes),
            ["CCC", "AAA", "BBB"]
        );
    }
}
