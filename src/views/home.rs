//! `/`: a compact overview of every live view, with links.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::format;
use crate::live::LiveStore;

#[component]
pub fn HomePage() -> impl IntoView {
    let store = expect_context::<LiveStore>();
    let stocks = store.stocks;
    // The three largest moves (by absolute % change), recomputed as ticks arrive.
    let movers = move || {
        let mut all: Vec<(String, f64, f64)> = stocks
            .symbols
            .get()
            .iter()
            .filter_map(|s| stocks.row(s))
            .map(|q| q.with(|q| (q.symbol.clone(), q.price, q.change_pct())))
            .collect();
        all.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
        all.truncate(3);
        all
    };
    view! {
        <Title text="Overview · Pulse"/>
        <h1 class="page-title">"Overview"</h1>
        <div class="cards">
            <section class="panel card" aria-labelledby="home-stocks">
                <h2 id="home-stocks">
                    <A href="/stocks">"Stocks"</A>
                </h2>
                <p class="muted">{move || format!("{} symbols live", stocks.len())}</p>
                <ul class="movers">
                    <For each=movers key=|m| (m.0.clone(), format::price(m.1)) let:m>
                        <li>
                            <span class="symbol">{m.0.clone()}</span>
                            <span class="num">{format::price(m.1)}</span>
                        </li>
                    </For>
                </ul>
            </section>
        </div>
    }
}
