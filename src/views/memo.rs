//! Values derived from signals, for parts of a view that repeat (a row, its sparkline).
//!
//! In the browser such a value is a [`Memo`]: it is computed once per change of what it reads,
//! and whatever shows it re-renders only when it changes (at 1,000 ticks/s that is most of
//! the saving). On the server a page is rendered once, so a memo's bookkeeping — its owner,
//! its sources and subscribers, its cached copy — is pure cost: 200 of them on `/stocks`
//! took about a third of the server's time per page. There it is computed once, when the row
//! is built, and kept as a plain stored value: a page's signals do not change while it renders
//! (its store is the snapshot taken for the request), and a derived signal recomputed on every
//! read cost each read a second arena lookup and a lock on the row's quote (`/stocks` with 20
//! rows: 2,670 / 2,758 -> 3,009 / 2,954 req/s, same run alternating, byte-identical HTML).

use leptos::prelude::*;

/// `f`'s value as a signal: memoised in the browser, computed once on the server.
pub fn derived<T>(f: impl Fn() -> T + Send + Sync + 'static) -> Signal<T>
where
    T: Clone + PartialEq + Send + Sync + 'static,
{
    #[cfg(feature = "ssr")]
    {
        Signal::stored(f())
    }
    #[cfg(not(feature = "ssr"))]
    {
        Memo::new(move |_| f()).into()
    }
}
