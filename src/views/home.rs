//! `/`: a compact overview of every live view, with links. Each card reads the same signals as
//! its full page, so the overview is as live as the pages themselves.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::format;
use super::sparkline::Sparkline;
use crate::event::scores::GameStatus;
use crate::event::JobStatus;
use crate::live::LiveStore;

/// Items each card lists.
const SHOWN: usize = 3;

#[component]
pub fn HomePage() -> AnyView {
    view! {
        <Title text="Overview · Pulse"/>
        <h1 class="page-title">"Overview"</h1>
        <div class="cards">
            <StocksCard/>
            <ScoresCard/>
            <FeedCard/>
            <MonitorCard/>
            <JobsCard/>
            <NotificationsCard/>
        </div>
    }
    .into_any()
}

/// The frame every card shares: a panel labelled by its heading, which links to the full page
/// when there is one. `data-testid` and the heading id are `home-{name}`.
#[component]
fn OverviewCard(
    name: &'static str,
    title: &'static str,
    #[prop(optional)] href: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let id = format!("home-{name}");
    let (labelled_by, test_id) = (id.clone(), id.clone());
    let heading = match href {
        Some(href) => view! { <A href=href>{title}</A> }.into_any(),
        None => title.into_any(),
    };
    view! {
        <section class="panel card" aria-labelledby=labelled_by data-testid=test_id>
            <h2 id=id>{heading}</h2>
            {children()}
        </section>
    }
}

#[component]
fn StocksCard() -> AnyView {
    let stocks = expect_context::<LiveStore>().stocks;
    // The largest moves (by absolute % change), recomputed as ticks arrive.
    let movers = move || {
        let mut all: Vec<(String, f64, f64)> = stocks
            .keys
            .get()
            .iter()
            .filter_map(|s| stocks.row(s))
            .map(|q| q.with(|q| (q.symbol.clone(), q.price, q.change_pct())))
            .collect();
        all.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()));
        all.truncate(SHOWN);
        all
    };
    view! {
        <OverviewCard name="stocks" title="Stocks" href="/stocks">
            <p class="muted">{move || format!("{} symbols live · biggest moves", stocks.len())}</p>
            <ul class="movers">
                <For each=movers key=|m| (m.0.clone(), format::price(m.1)) let:m>
                    <li>
                        <span class="symbol">{m.0.clone()}</span>
                        <span class="num">{format::price(m.1)} " " <small class={if m.2 >= 0.0 { "up" } else { "down" }}>{format::percent(m.2)}</small></span>
                    </li>
                </For>
            </ul>
        </OverviewCard>
    }
    .into_any()
}

#[component]
fn ScoresCard() -> AnyView {
    let scores = expect_context::<LiveStore>().scores;
    // Live games first, then the rest in board order.
    let games = move || {
        let mut games: Vec<_> = scores
            .keys
            .get()
            .iter()
            .filter_map(|id| scores.row(id).map(|g| g.get()))
            .collect();
        games.sort_by_key(|g| (g.status != GameStatus::Live, g.seq));
        games.truncate(SHOWN);
        games
    };
    let live = move || {
        scores.keys.with(|ids| {
            ids.iter()
                .filter_map(|id| scores.row(id))
                .filter(|g| g.with(|g| g.status == GameStatus::Live))
                .count()
        })
    };
    view! {
        <OverviewCard name="scores" title="Scores" href="/scores">
            <p class="muted">{move || format!("{} games · {} live", scores.len(), live())}</p>
            <ul class="movers">
                <For
                    each=games
                    key=|g| (g.id.clone(), g.home_score, g.away_score, g.phase())
                    let:g
                >
                    <li class="stacked">
                        <span class="ellipsis">
                            {format!("{} {} – {} {}", g.away, g.away_score, g.home_score, g.home)}
                        </span>
                        <small class="muted">{format!("{} · {}", g.status.label(), g.phase())}</small>
                    </li>
                </For>
            </ul>
        </OverviewCard>
    }
    .into_any()
}

#[component]
fn FeedCard() -> AnyView {
    let feed = expect_context::<LiveStore>().feed;
    let latest = move || {
        feed.posts
            .with(|p| p.iter().take(SHOWN).cloned().collect::<Vec<_>>())
    };
    view! {
        <OverviewCard name="feed" title="Feed" href="/feed">
            <Show
                when=move || !feed.posts.with(Vec::is_empty)
                fallback=|| view! { <p class="muted">"No posts yet — " <A href="/feed">"write the first"</A> "."</p> }
            >
                <ul class="snippets">
                    <For each=latest key=|p| p.id let:p>
                        <li>
                            <strong>{p.author}</strong>
                            " "
                            <span class="ellipsis">{p.text}</span>
                        </li>
                    </For>
                </ul>
            </Show>
            <p><A href="/notifications">"All notifications"</A></p>
        </OverviewCard>
    }
    .into_any()
}

#[component]
fn MonitorCard() -> AnyView {
    let monitor = expect_context::<LiveStore>().monitor;
    let figure = move |f: fn(&crate::event::Sample) -> f64| {
        move || monitor.with(|m| m.latest.as_ref().map_or("–".into(), |s| format::pct(f(s))))
    };
    view! {
        <OverviewCard name="monitor" title="Monitor" href="/monitor">
            <ul class="movers">
                <li>
                    <span>"CPU"</span>
                    <span class="num">{figure(|s| s.cpu)}</span>
                </li>
                <li>
                    <span>"Memory"</span>
                    <span class="num">{figure(|s| s.mem_pct())}</span>
                </li>
                <li>
                    <span>"Subscribers"</span>
                    <span class="num">
                        {move || monitor.with(|m| m.latest.as_ref().and_then(|s| s.hub.as_ref()).map_or("–".into(), |h| h.subscribers.to_string()))}
                    </span>
                </li>
            </ul>
            <Sparkline
                values=Signal::derive(move || monitor.with(|m| m.series.cpu.clone()))
                label="CPU over the last minutes".to_string()
            />
        </OverviewCard>
    }
    .into_any()
}

/// Running and queued jobs with their progress; the newest finished one when nothing runs.
#[component]
fn JobsCard() -> AnyView {
    let jobs = expect_context::<LiveStore>().jobs;
    let active = move || {
        jobs.keys.with(|keys| {
            keys.iter()
                .filter_map(|k| jobs.row(k))
                .filter(|j| j.with(|j| !j.status.is_final()))
                .take(SHOWN)
                .collect::<Vec<_>>()
        })
    };
    let summary = move || {
        let (running, queued) = jobs.keys.with(|keys| {
            keys.iter()
                .filter_map(|k| jobs.row(k))
                .fold((0, 0), |(r, q), j| match j.with(|j| j.status) {
                    JobStatus::Running => (r + 1, q),
                    JobStatus::Queued => (r, q + 1),
                    _ => (r, q),
                })
        });
        format!("{running} running · {queued} queued")
    };
    view! {
        <OverviewCard name="jobs" title="Jobs" href="/jobs">
            <p class="muted" data-testid="home-jobs-summary">{summary}</p>
            <Show
                when=move || !active().is_empty()
                fallback=|| view! { <p class="muted">"Nothing running. Exports and workers' jobs show their progress here."</p> }
            >
                <ul class="snippets">
                    {move || {
                        active()
                            .into_iter()
                            .map(|j| {
                                let pct = move || j.with(|j| j.percentage());
                                view! {
                                    <li class="job-snippet">
                                        <span class="job-name">{move || j.with(|j| j.name.clone())}</span>
                                        " "
                                        <span class="muted">
                                            {move || match pct() {
                                                Some(p) => format::pct(p),
                                                None => j.with(|j| j.status.as_str().to_owned()),
                                            }}
                                        </span>
                                        <progress
                                            max="100"
                                            value=move || pct().map(|p| format!("{p:.0}"))
                                            aria-label=move || j.with(|j| format!("{} progress", j.name))
                                        ></progress>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </Show>
        </OverviewCard>
    }
    .into_any()
}

#[component]
fn NotificationsCard() -> AnyView {
    let notifications = expect_context::<LiveStore>().notifications;
    let recent = move || {
        notifications
            .recent
            .with(|r| r.iter().take(SHOWN + 2).cloned().collect::<Vec<_>>())
    };
    view! {
        <OverviewCard name="notifications" title="Notifications">
            <Show
                when=move || !notifications.recent.with(Vec::is_empty)
                fallback=|| view! { <p class="muted">"Nothing yet. Alerts, final whistles and big price moves show up here."</p> }
            >
                <ul class="snippets">
                    <For each=recent key=|n| n.id let:n>
                        <li class=format!("notice-{}", n.level.as_str())>
                            <time datetime=format::iso(n.at) class="muted">{format::clock_utc(n.at)}</time>
                            " "
                            {match n.link {
                                Some(href) => view! { <A href=href>{n.title}</A> }.into_any(),
                                None => n.title.into_any(),
                            }}
                        </li>
                    </For>
                </ul>
            </Show>
            <p><A href="/notifications">"All notifications"</A></p>
        </OverviewCard>
    }
    .into_any()
}
