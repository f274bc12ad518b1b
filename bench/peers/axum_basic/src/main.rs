//! Peer server for `cargo make bench`: the SSE broadcast a Rust developer writes first.
//! axum 0.8's `Sse` over one `tokio::sync::broadcast` channel (capacity 1024); a subscriber
//! that falls more than 1024 events behind skips what it missed (`Lagged` is dropped).
//!
//! - `GET /events`: `text/event-stream`, every publish arrives as one `data:` event
//! - `POST /publish`: the body goes to every subscriber; answers `{"subscribers":n}`
//!
//! Run: `PORT=P axum_basic` (listens on 127.0.0.1:P, default 8004).

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::{self, error::RecvError};

const CAPACITY: usize = 1024;

async fn events(
    State(tx): State<broadcast::Sender<String>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = tx.subscribe();
    let events = stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(body) => return Some((Ok(Event::default().data(body)), rx)),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

async fn publish(State(tx): State<broadcast::Sender<String>>, body: String) -> String {
    let subscribers = tx.send(body).unwrap_or(0);
    format!(r#"{{"subscribers":{subscribers}}}"#)
}

#[tokio::main]
async fn main() {
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p.parse().expect("PORT must be a port number"),
        Err(_) => 8004,
    };
    let (tx, _) = broadcast::channel::<String>(CAPACITY);
    let app = Router::new()
        .route("/events", get(events))
        .route("/publish", post(publish))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind 127.0.0.1:PORT");
    axum::serve(listener, app).await.expect("serve");
}
