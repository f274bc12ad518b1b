//! `/stocks`: the live ticker. Each row owns one signal; a tick updates that row's cells in
//! place (price, change, range, sparkline, flash) and never re-creates the row element.

use leptos::prelude::*;
use leptos_meta::Title;

use super::format;
use super::sparkline::Sparkline;
use crate::event::stocks::Move;
use crate::live::LiveStore;

#[component]
pub fn StocksPage() -> impl IntoView {
    let stocks = expect_context::<LiveStore>().stocks;
    view! {
        <Title text="Stocks · Pulse"/>
        <section class="panel" aria-labelledby="stocks-title">
            <div class="panel-head">
                <h1 id="stocks-title">"Stocks"</h1>
                <p class="muted">
                    {move || format!("{} symbols", stocks.len())}
                    " · change since first tick this session"
                </p>
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
                        <caption class="sr-only">"Live stock prices"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Symbol"</th>
                                <th scope="col" class="num">"Price"</th>
                                <th scope="col" class="num">"Change"</th>
                                <th scope="col" class="num">"% Change"</th>
                                <th scope="col" class="num hide-sm">"High"</th>
                                <th scope="col" class="num hide-sm">"Low"</th>
                                <th scope="col" class="spark-col">"Trend"</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || stocks.keys.get()
                                key=|symbol| symbol.clone()
                                let:symbol
                            >
                                <StockRow symbol/>
                            </For>
                        </tbody>
                    </table>
                </div>
            </Show>
        </section>
    }
}

/// The flash class for the latest move. It alternates between two identical animations on
/// every tick, so a second move in the same direction restarts the flash.
fn flash_class(m: Move, ticks: u64) -> &'static str {
    match (m, ticks % 2) {
        (Move::Up, 0) => "flash-up-a",
        (Move::Up, _) => "flash-up-b",
        (Move::Down, 0) => "flash-down-a",
        (Move::Down, _) => "flash-down-b",
        (Move::Flat, _) => "",
    }
}

fn trend_class(v: f64) -> &'static str {
    if v > 0.0 {
        "num up"
    } else if v < 0.0 {
        "num down"
    } else {
        "num"
    }
}

#[component]
fn StockRow(symbol: String) -> impl IntoView {
    let stocks = expect_context::<LiveStore>().stocks;
    let Some(q) = stocks.row(&symbol) else {
        return ().into_any();
    };
    let change = move || q.with(|q| q.change());
    let pct = move || q.with(|q| q.change_pct());
    view! {
        <tr
            data-testid="stock-row"
            data-symbol=symbol.clone()
            data-ticks=move || q.with(|q| q.ticks.to_string())
            class=move || q.with(|q| flash_class(q.last_move, q.ticks))
        >
            <th scope="row" class="symbol">{symbol.clone()}</th>
            <td class="num price" data-testid="price">{move || q.with(|q| format::price(q.price))}</td>
            <td class=move || trend_class(change())>{move || format::signed(change())}</td>
            <td class=move || trend_class(pct())>{move || format::percent(pct())}</td>
            <td class="num hide-sm">{move || q.with(|q| format::price(q.high))}</td>
            <td class="num hide-sm">{move || q.with(|q| format::price(q.low))}</td>
            <td class="spark-col">
                <Sparkline
                    values=Signal::derive(move || q.with(|q| q.recent.clone()))
                    label=format!("Recent prices of {symbol}")
                />
            </td>
        </tr>
    }
    .into_any()
}
