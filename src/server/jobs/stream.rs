//! `GET /api/jobs/{id}/events`: one job's progress as an SSE stream, in the shape of the
//! classic `/task-progress/{task_id}` example — `event: progress` with
//! `{"id","name","step","total","percentage","status","message","eta_secs","rate"}` on each
//! change, and `event: done` after the final state, then the stream ends. `curl -N` friendly.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde_json::json;
use tokio::time::{interval_at, Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use super::JobsError;
use crate::event::{BuiltIn, EventId, Job, Payload};
use crate::hub::{Replay, Subscription};
use crate::server::client::ClientAddr;
use crate::server::subscribers::StreamPermit;
use crate::server::AppState;
use crate::sse::frame;

/// `retry:` sent as the stream ends for shutdown.
const SHUTDOWN_RETRY_MS: u64 = 500;

/// The per-job stream's `progress` payload: the classic task-progress shape.
fn progress_data(job: &Job) -> String {
    json!({
        "id": job.id,
        "name": job.name,
        "step": job.step,
        "total": job.total,
        "percentage": job.percentage(),
        "status": job.status,
        "message": job.message,
        "eta_secs": job.eta_secs,
        "rate": job.rate,
        "cancel_requested": job.cancel_requested,
    })
    .to_string()
}

fn job_frame(id: EventId, job: &Job) -> Bytes {
    let mut out = frame::event(Some(&id.to_string()), Some("progress"), &progress_data(job))
        .expect("a fixed event name and digits are single-line");
    if job.status.is_final() {
        out.push_str(
            &frame::event(Some(&id.to_string()), Some("done"), &progress_data(job))
                .expect("a fixed event name and digits are single-line"),
        );
    }
    Bytes::from(out)
}

/// `GET /api/jobs/{id}/events`: the job's state, then each change, ending with `done`.
///
/// Each `progress` event is the job's whole state, so a slow reader loses nothing by skipping:
/// all changes already queued for it are conflated into one event with the newest state (the
/// final state is never skipped — it is always the newest). With `Last-Event-ID` the stream
/// resumes exactly: it sends the job's newest state only if it changed after that id (or the
/// id is older than the history, when it cannot tell). A finished job answers with its final
/// state and `done` at once.
pub async fn events(
    State(state): State<AppState>,
    client: ClientAddr,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, JobsError> {
    // A stream like `/api/events`: the same limits, checked first.
    let permit = match state.streams.acquire(client) {
        Ok(p) => p,
        Err(refused) => return Ok(axum::response::IntoResponse::into_response(refused)),
    };
    let since = match headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    {
        Some(raw) => Some(raw.parse::<EventId>().map_err(|_| {
            JobsError::Invalid("Last-Event-ID is not an event id such as 1042".into())
        })?),
        None => None,
    };
    let (at, current) = state.hub.read(|s| (s.id, s.jobs.jobs.get(&id).cloned()));
    let current = match current {
        Some(j) => j,
        None => super::find(&state, &id).await?,
    };
    let mut head = vec![Bytes::from(frame::retry(state.config.retry_ms))];
    let live = if current.status.is_final() {
        head.push(job_frame(at, &current));
        None
    } else {
        let mut sub = state
            .hub
            .subscribe(vec![BuiltIn::Jobs.topic()], Some(since.unwrap_or(at)))
            .await;
        let replay = sub.take_replay();
        let reset = matches!(replay, Replay::Reset { .. });
        let newer = match replay {
            // Changes after the snapshot (or after the client's id), conflated.
            Replay::Events(events) => {
                newest_of(&id, events.iter().map(|e| (e.id, e.data.as_str())))
            }
            Replay::Reset { .. } => None,
        };
        match newer {
            Some((eid, job)) => {
                head.push(job_frame(eid, &job));
                (!job.status.is_final()).then_some(sub)
            }
            None => {
                // A fresh stream starts with the state now; a resume whose id is still
                // current has nothing to catch up on.
                if since.is_none() || reset {
                    head.push(job_frame(at, &current));
                }
                Some(sub)
            }
        }
    };
    let heartbeat = Duration::from_secs(state.config.heartbeat_secs);
    let stream = job_stream(id, head, live, heartbeat, state.shutdown.clone(), permit);
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}

/// The newest state of job `id` among `events`.
fn newest_of<'a>(
    id: &str,
    events: impl Iterator<Item = (EventId, &'a str)>,
) -> Option<(EventId, Job)> {
    let mut newest = None;
    for (eid, data) in events {
        if let Ok(job) = Job::parse(data) {
            if job.id == id {
                newest = Some((eid, job));
            }
        }
    }
    newest
}

fn job_stream(
    id: String,
    head: Vec<Bytes>,
    live: Option<Subscription>,
    heartbeat: Duration,
    shutdown: CancellationToken,
    permit: StreamPermit,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> {
    struct S {
        id: String,
        head: std::vec::IntoIter<Bytes>,
        live: Option<Subscription>,
        ticker: tokio::time::Interval,
        shutdown: CancellationToken,
        _permit: StreamPermit,
    }
    let mut ticker = interval_at(Instant::now() + heartbeat, heartbeat);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let s = S {
        id,
        head: head.into_iter(),
        live,
        ticker,
        shutdown,
        _permit: permit,
    };
    futures::stream::unfold(s, |mut s| async move {
        if let Some(b) = s.head.next() {
            return Some((Ok(b), s));
        }
        let sub = s.live.as_mut()?;
        loop {
            tokio::select! {
                biased;
                _ = s.shutdown.cancelled() => {
                    s.live = None;
                    return Some((Ok(Bytes::from(frame::retry(SHUTDOWN_RETRY_MS))), s));
                }
                ev = sub.next() => {
                    // `None`: cut off for lagging; the client reconnects and gets the state.
                    let first = ev?;
                    let mut batch = vec![first];
                    while let Some(more) = sub.try_next() {
                        batch.push(more);
                    }
                    let Some((eid, job)) = newest_of(&s.id, batch.iter().map(|e| (e.id, e.data.as_str()))) else {
                        continue;
                    };
                    s.ticker.reset();
                    if job.status.is_final() {
                        s.live = None;
                    }
                    return Some((Ok(job_frame(eid, &job)), s));
                }
                _ = s.ticker.tick() => return Some((Ok(Bytes::from_static(b":\n\n")), s)),
            }
        }
    })
}
