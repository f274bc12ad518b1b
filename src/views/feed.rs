//! `/feed`: posts newest first, a compose form, older posts on demand, and a "N new posts" button
//! instead of pushing the list down while the reader is scrolled into it.
//!
//! Author and text are only ever text nodes: markup in a post shows as the characters typed.
//! Web addresses in a post become links built as elements ([`crate::event::feed::linkify`]:
//! http and https only), never through `inner_html`.
//!
//! Times are UTC in the server's HTML and in the first hydrated render (so the two agree);
//! right after hydration they switch to "5 min ago · Dec 7, 14:05" in the viewer's zone, and
//! stay current with a clock that ticks every 30 s.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use super::format;
use super::local_time;
use super::pause::PauseToggle;
use crate::api::feed::{older_posts, CreatePost};
use crate::event::feed::{linkify, Piece, MAX_AUTHOR_CHARS, MAX_TEXT_CHARS};
use crate::event::BuiltIn;
use crate::event::Post;
use crate::live::LiveStore;

/// Scrolled further than this (px) from the top, the reader is "reading": new posts wait.
const HOLD_BELOW_PX: f64 = 240.0;

/// From this many characters on, the counter warns that the limit is near.
pub const WARN_AT_CHARS: usize = MAX_TEXT_CHARS - 50;

/// The page's clock for relative times: `None` until hydrated (so times stay the server's UTC
/// text during hydration), then the browser's time, refreshed every 30 s.
#[derive(Clone, Copy)]
struct Now(RwSignal<Option<i64>>);

#[component]
pub fn FeedPage() -> AnyView {
    let feed = expect_context::<LiveStore>().feed;
    let now = Now(RwSignal::new(None));
    provide_context(now);
    Effect::new(move |_| {
        now.0.set(local_time::now_ms());
        let tick = set_interval_with_handle(
            move || now.0.set(local_time::now_ms()),
            std::time::Duration::from_secs(30),
        );
        on_cleanup(move || {
            if let Ok(t) = tick {
                t.clear();
            }
        });
    });
    // Browser only (effects do not run on the server): follow the scroll position.
    Effect::new(move |_| {
        let handle = window_event_listener(leptos::ev::scroll, move |_| {
            let y = window().scroll_y().unwrap_or(0.0);
            let hold = y > HOLD_BELOW_PX;
            if feed.holding.get_untracked() != hold {
                feed.holding.set(hold);
            }
            if !hold && !feed.pending.with_untracked(Vec::is_empty) {
                feed.reveal();
            }
        });
        on_cleanup(move || {
            handle.remove();
            // Other pages do not hold posts back.
            feed.holding.set(false);
            feed.reveal();
        });
    });
    let pending = move || feed.pending.with(Vec::len);
    let show_new = move |_| {
        feed.reveal();
        window().scroll_to_with_x_and_y(0.0, 0.0);
    };
    view! {
        <Title text="Feed · Pulse"/>
        <section class="panel" aria-labelledby="feed-title">
            <div class="panel-head">
                <h1 id="feed-title">"Feed"</h1>
                <p class="muted">
                    "Newest first · "
                    {move || if now.0.get().is_some() { "times in your time zone" } else { "times in UTC" }}
                </p>
                <PauseToggle topic=BuiltIn::Feed/>
            </div>
            <Compose/>
        </section>
        <Show when=move || { pending() > 0 }>
            <button class="new-posts" data-testid="new-posts" on:click=show_new>
                {move || {
                    let n = pending();
                    format!("{n} new post{} — show", if n == 1 { "" } else { "s" })
                }}
            </button>
        </Show>
        <section class="panel" aria-label="Posts">
            <Show
                when=move || !feed.posts.with(Vec::is_empty)
                fallback=|| {
                    view! {
                        <p class="empty">
                            "No posts yet. Write the first one above, or publish to "
                            <code>"feed"</code> " with " <code>"{\"author\", \"text\"}"</code> "."
                        </p>
                    }
                }
            >
                <ol class="posts">
                    <For each=move || feed.posts.get() key=|p| p.id let:post>
                        <PostItem post/>
                    </For>
                </ol>
                <LoadOlder/>
            </Show>
        </section>
    }
    .into_any()
}

/// A post's text as nodes: text, and `<a>` for each web address.
fn post_text(text: &str) -> Vec<AnyView> {
    linkify(text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => t.to_owned().into_any(),
            Piece::Link(url) => view! {
                <a
                    href=url.to_owned()
                    rel="noopener noreferrer nofollow"
                    target="_blank"
                    data-testid="post-link"
                >
                    {url.to_owned()}
                </a>
            }
            .into_any(),
        })
        .collect()
}

#[component]
fn PostItem(post: Post) -> AnyView {
    let now = use_context::<Now>().map(|n| n.0);
    let at = post.at;
    let shown = move || match (now.and_then(|n| n.get()), local_time::to_local(at)) {
        (Some(now), Some(local)) => {
            format!(
                "{} · {}",
                format::ago(now, at),
                format::date_time_plain(local)
            )
        }
        _ => format::date_time_utc(at),
    };
    view! {
        <li class="post" data-testid="post" data-post-id=post.id>
            <article>
                <header>
                    <strong class="author" data-testid="post-author">{post.author}</strong>
                    <time
                        datetime=format::iso(at)
                        title=format::date_time_utc(at)
                        class="muted"
                        data-testid="post-time"
                    >
                        {shown}
                    </time>
                </header>
                <p class="post-text" data-testid="post-text">{post_text(&post.text)}</p>
            </article>
        </li>
    }
    .into_any()
}

/// The counter under the post box: quiet, then a warning near the limit, then — over it — what
/// to cut. Nothing is ever cut silently (the box has no `maxlength`); an over-long post is
/// refused by the server with the same limit.
fn counter_text(n: usize) -> (String, &'static str) {
    if n > MAX_TEXT_CHARS {
        (
            format!(
                "{n} / {MAX_TEXT_CHARS} — {} over the limit. Shorten the post to send it.",
                n - MAX_TEXT_CHARS
            ),
            "count count-over",
        )
    } else if n >= WARN_AT_CHARS {
        (
            format!("{n} / {MAX_TEXT_CHARS} — {} left", MAX_TEXT_CHARS - n),
            "count count-near",
        )
    } else {
        (format!("{n} / {MAX_TEXT_CHARS}"), "count muted")
    }
}

#[component]
fn Compose() -> AnyView {
    let create = ServerAction::<CreatePost>::new();
    let text = RwSignal::new(String::new());
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            text.set(String::new());
            // The button was pressed (and disabled while posting): bring the writer back to
            // the box, ready for the next post.
            if let Some(el) = textarea.get_untracked() {
                let _ = el.focus();
            }
        }
    });
    let error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let count = move || text.with(|t| t.trim().chars().count());
    let over = move || count() > MAX_TEXT_CHARS;
    let posting = move || create.pending().get();
    view! {
        <ActionForm action=create attr:class="compose" attr:data-testid="compose" attr:aria-busy=move || posting().then_some("true")>
            <label>
                "Name"
                <input
                    type="text"
                    name="author"
                    required
                    maxlength=MAX_AUTHOR_CHARS
                    autocomplete="nickname"
                />
            </label>
            <label>
                "Post"
                <textarea
                    node_ref=textarea
                    name="text"
                    required
                    rows="3"
                    aria-describedby="compose-count"
                    aria-invalid=move || over().then_some("true")
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
            </label>
            <div class="compose-foot">
                <span
                    id="compose-count"
                    class=move || counter_text(count()).1
                    data-testid="compose-count"
                    aria-live="polite"
                >
                    {move || counter_text(count()).0}
                </span>
                <span class="posting muted" role="status" data-testid="posting">
                    {move || posting().then_some("Posting…")}
                </span>
                <button type="submit" disabled=posting>
                    {move || if posting() { "Posting…" } else { "Post" }}
                </button>
            </div>
            <p class="form-error" role="alert" data-testid="compose-error">{error}</p>
        </ActionForm>
    }
    .into_any()
}

#[component]
fn LoadOlder() -> AnyView {
    let feed = expect_context::<LiveStore>().feed;
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let load = move |_| {
        let Some(oldest) = feed.posts.with_untracked(|p| p.last().map(|p| p.id)) else {
            return;
        };
        loading.set(true);
        spawn_local(async move {
            match older_posts(oldest).await {
                Ok(older) if older.is_empty() => feed.exhausted.set(true),
                Ok(older) => {
                    error.set(None);
                    feed.extend_older(older);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            loading.set(false);
        });
    };
    view! {
        <div class="load-older">
            <Show
                when=move || !feed.exhausted.get()
                fallback=|| view! { <p class="muted" data-testid="feed-end">"That is every post."</p> }
            >
                <button data-testid="load-older" on:click=load disabled=move || loading.get()>
                    {move || if loading.get() { "Loading…" } else { "Load older posts" }}
                </button>
            </Show>
            <p class="form-error" role="alert">{move || error.get()}</p>
        </div>
    }
    .into_any()
}
