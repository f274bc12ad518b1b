//! `/feed`: posts newest first, a compose form, older posts on demand, and a "N new posts" button
//! instead of pushing the list down while the reader is scrolled into it.
//!
//! Author and text are only ever text nodes: markup in a post shows as the characters typed.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;

use super::format;
use crate::api::feed::{older_posts, CreatePost};
use crate::event::feed::{MAX_AUTHOR_CHARS, MAX_TEXT_CHARS};
use crate::event::Post;
use crate::live::LiveStore;

/// Scrolled further than this (px) from the top, the reader is "reading": new posts wait.
const HOLD_BELOW_PX: f64 = 240.0;

#[component]
pub fn FeedPage() -> AnyView {
    let feed = expect_context::<LiveStore>().feed;
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
                <p class="muted">"Newest first · times in UTC"</p>
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

#[component]
fn PostItem(post: Post) -> AnyView {
    view! {
        <li class="post" data-testid="post" data-post-id=post.id>
            <article>
                <header>
                    <strong class="author" data-testid="post-author">{post.author}</strong>
                    <time datetime=format::iso(post.at) class="muted">{format::date_time_utc(post.at)}</time>
                </header>
                <p class="post-text" data-testid="post-text">{post.text}</p>
            </article>
        </li>
    }
    .into_any()
}

#[component]
fn Compose() -> AnyView {
    let create = ServerAction::<CreatePost>::new();
    let text = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            text.set(String::new());
        }
    });
    let error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let count = move || text.with(|t| t.chars().count());
    view! {
        <ActionForm action=create attr:class="compose" attr:data-testid="compose">
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
                    name="text"
                    required
                    rows="3"
                    maxlength=MAX_TEXT_CHARS
                    aria-describedby="compose-count"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
            </label>
            <div class="compose-foot">
                <span id="compose-count" class="muted" aria-live="polite">
                    {move || format!("{} / {MAX_TEXT_CHARS}", count())}
                </span>
                <button type="submit" disabled=move || create.pending().get()>"Post"</button>
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
