//! `/scores`: the live scoreboard. One card per game, each reading its own signal, so an update
//! changes that card's text in place; a score flashes when it changes. Below the board, the
//! scorekeeper panel: sign in, then change a game's score, status or last play — refused with a
//! message for anyone not signed in.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::operator::{Operator, OperatorSignIn};
use crate::api::scores::UpdateGame;
use crate::live::LiveStore;

#[component]
pub fn ScoresPage() -> AnyView {
    let scores = expect_context::<LiveStore>().scores;
    let live = move || {
        scores.keys.with(|ids| {
            ids.iter()
                .filter_map(|id| scores.row(id))
                .filter(|g| g.with(|g| g.status == crate::event::scores::GameStatus::Live))
                .count()
        })
    };
    view! {
        <Title text="Scores · Pulse"/>
        <section class="panel" aria-labelledby="scores-title">
            <div class="panel-head">
                <h1 id="scores-title">"Scores"</h1>
                <p class="muted">{move || format!("{} games · {} live", scores.len(), live())}</p>
            </div>
            <Show
                when=move || !scores.is_empty()
                fallback=|| {
                    view! {
                        <p class="empty">
                            "No games yet. The simulator schedules games within seconds "
                            "(" <code>"--scores-games"</code> "), and publishers can add their own on "
                            <code>"scores"</code> "."
                        </p>
                    }
                }
            >
                <ul class="games" aria-label="Games">
                    <For each=move || scores.keys.get() key=|id| id.clone() let:id>
                        <GameCard id/>
                    </For>
                </ul>
            </Show>
        </section>
        <Scorekeeper/>
    }
    .into_any()
}

/// The flash class for a score that changed `n` times: alternating names restart the animation
/// on back-to-back changes; nothing before the first change.
fn flash(n: u32) -> &'static str {
    match n {
        0 => "score",
        n if n % 2 == 0 => "score flash-up-a",
        _ => "score flash-up-b",
    }
}

#[component]
fn GameCard(id: String) -> AnyView {
    let scores = expect_context::<LiveStore>().scores;
    let Some(g) = scores.row(&id) else {
        return ().into_any();
    };
    view! {
        <li
            class="game"
            data-testid="game"
            data-game-id=id.clone()
            data-status=move || g.with(|g| g.status.as_str())
            data-updates=move || g.with(|g| g.updates.to_string())
        >
            <article aria-label=move || g.with(|g| format!("{} at {}", g.away, g.home))>
                <p class="game-phase">
                    <span class=move || format!("status status-{}", g.with(|g| g.status.as_str()))>
                        {move || g.with(|g| g.status.label())}
                    </span>
                    <span class="muted" data-testid="phase">{move || g.with(|g| g.phase())}</span>
                </p>
                <dl class="teams">
                    <div class="team">
                        <dt>{move || g.with(|g| g.away.clone())}</dt>
                        <dd
                            class=move || g.with(|g| flash(g.away_flash))
                            data-testid="away-score"
                        >
                            {move || g.with(|g| g.away_score)}
                        </dd>
                    </div>
                    <div class="team">
                        <dt>
                            {move || g.with(|g| g.home.clone())}
                            <span class="sr-only">" (home)"</span>
                        </dt>
                        <dd
                            class=move || g.with(|g| flash(g.home_flash))
                            data-testid="home-score"
                        >
                            {move || g.with(|g| g.home_score)}
                        </dd>
                    </div>
                </dl>
                <p class="last-play muted" data-testid="last-play">
                    {move || g.with(|g| if g.last_play.is_empty() { "\u{a0}".to_string() } else { g.last_play.clone() })}
                </p>
            </article>
        </li>
    }
    .into_any()
}

/// Sign in, then change a game. Errors come back as [`crate::api::scores::ScoreError`] and are
/// shown in an alert region, so a screen reader hears why a change was refused.
#[component]
fn Scorekeeper() -> AnyView {
    let scores = expect_context::<LiveStore>().scores;
    let op = Operator::get();
    let update = ServerAction::<UpdateGame>::new();
    Effect::new(move |_| {
        if let Some(Err(crate::api::scores::ScoreError::NotSignedIn)) = update.value().get() {
            op.lost();
        }
    });
    let update_error = move || {
        update
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let saved = move || {
        update
            .value()
            .get()
            .and_then(Result::ok)
            .map(|id| format!("Saved. Every viewer sees it now (event #{id})."))
    };
    let options = move || {
        scores
            .keys
            .get()
            .into_iter()
            .filter_map(|id| {
                let g = scores.row(&id)?;
                let label = g.with(|g| format!("{} at {}", g.away, g.home));
                Some(view! { <option value=id.clone()>{label}</option> })
            })
            .collect_view()
    };
    view! {
        <details class="panel scorekeeper" data-testid="scorekeeper">
            <summary>"Scorekeeper"</summary>
            <OperatorSignIn can="change games"/>
            <ActionForm action=update attr:class="form-grid" attr:data-testid="update-game">
                <label>
                    "Game "
                    <select name="game" required>{options}</select>
                </label>
                <label>
                    "Away score "
                    <input type="number" name="away_score" min="0" max="999" inputmode="numeric" placeholder="unchanged"/>
                </label>
                <label>
                    "Home score "
                    <input type="number" name="home_score" min="0" max="999" inputmode="numeric" placeholder="unchanged"/>
                </label>
                <label>
                    "Status "
                    <select name="status">
                        <option value="">"unchanged"</option>
                        <option value="scheduled">"Scheduled"</option>
                        <option value="live">"Live"</option>
                        <option value="final">"Final"</option>
                    </select>
                </label>
                <label class="wide">
                    "Scoring play "
                    <input type="text" name="play" maxlength="140" placeholder="e.g. Reyes three-pointer"/>
                </label>
                <button type="submit" disabled=move || update.pending().get()>"Update game"</button>
            </ActionForm>
            <p class="form-error" role="alert" data-testid="score-error">{update_error}</p>
            <p class="form-ok" role="status">{saved}</p>
            <p class="muted">
                "Publishers can update games too: " <A href="/">"see the overview"</A>
                " and the " <code>"scores"</code> " topic in the README."
            </p>
        </details>
    }
    .into_any()
}
