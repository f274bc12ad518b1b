//! `/notifications`: every notice the server still holds, newest first, filtered by level and
//! source. The filters are a GET form (`?level=warning&source=monitor`), so a filtered view is
//! a link, survives a reload and works without JavaScript; notices arriving live join the list.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::format;
use crate::api::notifications::notification_history;
use crate::event::notifications::{merge_history, sources, Filter, Level};
use crate::event::Notice;
use crate::live::LiveStore;

#[component]
pub fn NotificationsPage() -> AnyView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.with(|q| Filter::from_query(q.get_str("level"), q.get_str("source")))
    });
    let history = Resource::new(|| (), |_| notification_history());
    view! {
        <Title text="Notifications · Pulse"/>
        <section class="panel" aria-labelledby="notifications-title" data-testid="notifications-page">
            <div class="panel-head">
                <h1 id="notifications-title">"Notifications"</h1>
                <p class="muted">"Every notice the server still holds, newest first"</p>
            </div>
            <Transition fallback=|| view! { <p class="empty">"Loading the history…"</p> }>
                {move || {
                    history
                        .get()
                        .map(|r| match r {
                            Ok(h) => view! { <History history=h filter/> }.into_any(),
                            Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
    .into_any()
}

#[component]
fn History(history: Vec<Notice>, filter: Memo<Filter>) -> AnyView {
    let live = expect_context::<LiveStore>().notifications.recent;
    let all = Memo::new(move |_| live.with(|l| merge_history(&history, l)));
    let shown = Memo::new(move |_| {
        filter.with(|f| {
            all.with(|a| {
                a.iter()
                    .filter(|n| f.matches(n))
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    });
    // The filter as the page was loaded: applying or clearing filters loads the page again
    // (a plain GET form and an external link), so the selects never need to follow it live.
    let level_at_start = filter.with_untracked(|f| f.level.map_or("", Level::as_str).to_owned());
    let source_at_start = filter.with_untracked(|f| f.source.clone().unwrap_or_default());
    let filtered = move || filter.with(|f| *f != Filter::default());
    view! {
        // A plain GET form: the same page whether or not the wasm has loaded.
        <form method="get" action="/notifications" class="form-row filters">
            <label>
                "Level"
                <select name="level" data-testid="filter-level">
                    <option value="" selected=level_at_start.is_empty()>"All levels"</option>
                    {Level::ALL
                        .into_iter()
                        .map(|l| {
                            view! {
                                <option value=l.as_str() selected=level_at_start == l.as_str()>
                                    {l.as_str()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Source"
                <select name="source" data-testid="filter-source">
                    <option value="" selected=source_at_start.is_empty()>"All sources"</option>
                    <For each=move || all.with(|a| sources(a)) key=|s| s.clone() let:s>
                        <option value=s.clone() selected=source_at_start == s>{s.clone()}</option>
                    </For>
                </select>
            </label>
            <button type="submit">"Apply filters"</button>
            <Show when=filtered>
                <a href="/notifications" rel="external">"Clear filters"</a>
            </Show>
        </form>
        <p class="muted" role="status" data-testid="notifications-count">
            {move || {
                let (n, total) = (shown.with(Vec::len), all.with(Vec::len));
                if filtered() { format!("{n} of {total} notices match") } else { format!("{total} notices") }
            }}
        </p>
        <Show
            when=move || !shown.with(Vec::is_empty)
            fallback=move || {
                view! {
                    <p class="empty">
                        {move || {
                            if filtered() {
                                "No notices match these filters."
                            } else {
                                "No notices yet. Alerts, final whistles and big price moves show up here, and any publisher can send one to the notifications topic."
                            }
                        }}
                    </p>
                }
            }
        >
            <ol class="notice-list" data-testid="notice-list">
                <For each=move || shown.get() key=|n| n.id let:n>
                    <li class=format!("notice notice-{}", n.level.as_str()) data-testid="notice" data-level=n.level.as_str()>
                        <p class="notice-title">
                            <span class="notice-level">{n.level.as_str()}</span>
                            " "
                            {match n.link {
                                Some(href) => view! { <a href=href>{n.title}</a> }.into_any(),
                                None => n.title.into_any(),
                            }}
                        </p>
                        {(!n.body.is_empty()).then(|| view! { <p class="notice-body">{n.body}</p> })}
                        <p class="muted notice-meta">
                            {n.source.map(|s| format!("{s} · "))}
                            <time datetime=format::iso(n.at)>{format::date_time_utc(n.at)}</time>
                        </p>
                    </li>
                </For>
            </ol>
        </Show>
    }
    .into_any()
}
