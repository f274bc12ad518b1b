//! `/scores`: the live scoreboard. One card per game, each reading its own signal, so an update
//! changes that card's text in place; a score flashes when it changes. Live games come first,
//! then scheduled ones, then finals (dimmed, the winner marked); each team is labelled home or
//! away. Below the board, the scorekeeper panel: sign in, then change a game's score, status or
//! last play — refused with a message for anyone not signed in. The panel shows the chosen
//! game as it stands and, after saving, the values saved; an error goes away once the form is
//! edited again.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::operator::{Operator, OperatorSignIn};
use super::pause::PauseToggle;
use crate::api::scores::UpdateGame;
use crate::event::scores::{GameStatus, Side};
use crate::event::BuiltIn;
use crate::live::LiveStore;

#[component]
pub fn ScoresPage() -> AnyView {
    let scores = expect_context::<LiveStore>().scores;
    let live = move || {
        scores.keys.with(|ids| {
            ids.iter()
                .filter_map(|id| scores.row(id))
                .filter(|g| g.with(|g| g.status == GameStatus::Live))
                .count()
        })
    };
    view! {
        <Title text="Scores · Pulse"/>
        <section class="panel" aria-labelledby="scores-title">
            <div class="panel-head">
                <h1 id="scores-title">"Scores"</h1>
                <p class="muted">{move || format!("{} games · {} live", scores.len(), live())}</p>
                <PauseToggle topic=BuiltIn::Scores/>
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
    let winner = move || g.with(|g| g.winner());
    let team = move |side: Side| {
        let (label, testid) = match side {
            Side::Home => ("Home", "home-score"),
            Side::Away => ("Away", "away-score"),
        };
        let won = move || winner() == Some(side);
        view! {
            <div class="team" class:winner=won data-side=label.to_lowercase()>
                <dt>
                    <span class="side">{label}</span>
                    <span class="team-name">
                        {move || g.with(|g| match side {
                            Side::Home => g.home.clone(),
                            Side::Away => g.away.clone(),
                        })}
                    </span>
                    <Show when=won>
                        <span class="win-mark" data-testid="winner">"Winner"</span>
                    </Show>
                </dt>
                <dd
                    class=move || g.with(|g| flash(match side {
                        Side::Home => g.home_flash,
                        Side::Away => g.away_flash,
                    }))
                    data-testid=testid
                >
                    {move || g.with(|g| match side {
                        Side::Home => g.home_score,
                        Side::Away => g.away_score,
                    })}
                </dd>
            </div>
        }
    };
    view! {
        <li
            class="game"
            data-testid="game"
            data-game-id=id.clone()
            data-status=move || g.with(|g| g.status.as_str())
            data-updates=move || g.with(|g| g.updates.to_string())
            data-kept=move || g.with(|g| g.kept.then_some("true"))
        >
            <article aria-label=move || g.with(|g| format!("{} at {}", g.away, g.home))>
                <p class="game-phase">
                    <span class=move || format!("status status-{}", g.with(|g| g.status.as_str()))>
                        {move || g.with(|g| g.status.label())}
                    </span>
                    <span class="muted" data-testid="phase">{move || g.with(|g| g.phase())}</span>
                </p>
                <dl class="teams">{team(Side::Away)} {team(Side::Home)}</dl>
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
    // An answer is shown until the form is edited (errors) or submitted again (both): a
    // message about input that has since changed would be wrong.
    let edited = RwSignal::new(false);
    Effect::new(move |_| {
        update.value().track();
        edited.set(false);
    });
    let answer = move || {
        if update.pending().get() {
            None
        } else {
            update.value().get()
        }
    };
    let update_error = move || {
        answer()
            .and_then(Result::err)
            .filter(|_| !edited.get())
            .map(|e| e.to_string())
    };
    let saved = move || {
        answer().and_then(Result::ok).map(|s| {
            format!(
                "Saved: {} — every viewer sees it now (event #{}).",
                s.summary, s.event
            )
        })
    };
    // The form lists games in order of first appearance, not board order: a game changing
    // status must not move the options under the scorekeeper's pointer.
    let form_games = move || {
        let mut games: Vec<(u64, String)> = scores.keys.with(|ids| {
            ids.iter()
                .filter_map(|id| Some((scores.row(id)?.with(|g| g.seq), id.clone())))
                .collect()
        });
        games.sort();
        games.into_iter().map(|(_, id)| id).collect::<Vec<_>>()
    };
    // The game chosen in the form (the first one until the select changes).
    let chosen = RwSignal::new(None::<String>);
    let chosen_now = move || {
        let id = chosen.get().or_else(|| form_games().into_iter().next())?;
        let g = scores.row(&id)?;
        Some(g.with(|g| {
            let kept = if g.kept {
                " · kept by a scorekeeper"
            } else {
                ""
            };
            format!("Now: {}{kept}", g.summary())
        }))
    };
    let options = move || {
        form_games()
            .into_iter()
            .filter_map(|id| {
                let g = scores.row(&id)?;
                let label = g.with(|g| format!("{} at {}", g.away, g.home));
                let selected = chosen.with_untracked(|c| c.as_deref() == Some(id.as_str()));
                Some(view! { <option value=id.clone() selected=selected>{label}</option> })
            })
            .collect_view()
    };
    view! {
        <details class="panel scorekeeper" data-testid="scorekeeper" on:input=move |_| edited.set(true)>
            <summary>"Scorekeeper"</summary>
            <OperatorSignIn can="change games"/>
            <ActionForm action=update attr:class="form-grid" attr:data-testid="update-game">
                <label>
                    "Game "
                    <select
                        name="game"
                        required
                        on:change=move |ev| chosen.set(Some(event_target_value(&ev)))
                    >
                        {options}
                    </select>
                </label>
                <p class="wide muted game-now" data-testid="game-now">
                    {chosen_now}
                </p>
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
            <p class="form-ok" role="status" data-testid="score-saved">{saved}</p>
            <p class="muted">
                "Publishers can update games too: " <A href="/">"see the overview"</A>
                " and the " <code>"scores"</code> " topic in the README."
            </p>
        </details>
    }
    .into_any()
}
