//! The jobs HTTP API: any worker reports progress (bearer token, like publishing), and anyone
//! can read jobs or watch one as an SSE stream.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/jobs` | `{"name", "total"?}` → 201 with the job |
//! | `POST /api/jobs/export` | `{"topics", "from_ms"?, "to_ms"?, "format"?}`: Pulse exports events itself |
//! | `POST /api/jobs/compact` | Pulse compacts its event log itself |
//! | `POST /api/jobs/{id}/progress` | a [`Report`] → 200 `{"cancel_requested": bool, ...}` |
//! | `POST /api/jobs/{id}/cancel`, `/retry` | cancel any job; retry one of Pulse's own |
//! | `GET /api/jobs`, `/api/jobs/{id}` | the jobs, running first |
//! | `GET /api/jobs/{id}/events` | `event: progress` with the job's state, then `event: done` ([`super::stream`]) |
//! | `GET /api/jobs/{id}/download` | a finished export's file (token or operator session) |

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{JobsError, NewExport};
use crate::event::jobs::{JobKind, Report};
use crate::event::{BuiltIn, JobStatus};
use crate::server::{auth, session::Sessions, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/jobs", post(create).get(list))
        .route("/api/jobs/export", post(create_export))
        .route("/api/jobs/compact", post(create_compact))
        .route("/api/jobs/{id}", get(one))
        .route("/api/jobs/{id}/progress", post(progress))
        .route("/api/jobs/{id}/cancel", post(cancel))
        .route("/api/jobs/{id}/retry", post(retry))
        .route("/api/jobs/{id}/events", get(super::stream::events))
        .route("/api/jobs/{id}/download", get(download))
}

impl IntoResponse for JobsError {
    fn into_response(self) -> Response {
        let (error, detail) = self.parts();
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut res = (status, Json(json!({ "error": error, "detail": detail }))).into_response();
        if matches!(self, JobsError::Unauthorized) {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(self, JobsError::Unavailable(_)) {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let JobsError::RateLimited { retry_after } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        res
    }
}

/// A token that may publish job states (its topic patterns, if any, include `jobs`).
fn jobs_caller<'a>(
    state: &'a AppState,
    headers: &HeaderMap,
) -> Result<&'a auth::Caller, JobsError> {
    let caller = state
        .tokens
        .identify(headers)
        .ok_or(JobsError::Unauthorized)?;
    if !caller.allows(BuiltIn::Jobs.topic().as_str()) {
        return Err(JobsError::Forbidden(caller.name.to_string()));
    }
    Ok(caller)
}

/// The token, and its publish rate: every call that takes a token publishes a job state.
fn check_token(state: &AppState, headers: &HeaderMap) -> Result<(), JobsError> {
    let caller = jobs_caller(state, headers)?;
    if let Some(limit) = &state.publish_limit {
        limit
            .check(caller.name.clone())
            .map_err(|wait| JobsError::RateLimited {
                retry_after: crate::api::request::retry_secs(wait),
            })?;
    }
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, JobsError> {
    serde_json::from_slice(body).map_err(|e| JobsError::Invalid(format!("body: {e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewJob {
    name: String,
    #[serde(default)]
    total: Option<i64>,
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, JobsError> {
    check_token(&state, &headers)?;
    let req: NewJob = parse(&body)?;
    let job = super::create(&state, &req.name, req.total).await?;
    Ok((StatusCode::CREATED, Json(super::view(&job))))
}

async fn create_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, JobsError> {
    check_token(&state, &headers)?;
    let (name, kind) = super::export_kind(parse::<NewExport>(&body)?)?;
    let job = super::start_own(&state, &name, kind).await?;
    Ok((StatusCode::CREATED, Json(super::view(&job))))
}

async fn create_compact(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, JobsError> {
    check_token(&state, &headers)?;
    let job = super::start_own(&state, "Compact the event log", JobKind::Compact).await?;
    Ok((StatusCode::CREATED, Json(super::view(&job))))
}

async fn list(State(state): State<AppState>) -> Json<Value> {
    let snap = state.snapshot();
    let jobs: Vec<Value> = snap.jobs.ordered().into_iter().map(super::view).collect();
    Json(json!({ "jobs": jobs }))
}

async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, JobsError> {
    Ok(Json(super::view(&super::find(&state, &id).await?)))
}

async fn progress(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, JobsError> {
    check_token(&state, &headers)?;
    let report: Report = parse(&body)?;
    let next = super::report(&state, &id, &report).await?;
    Ok(Json(json!({
        "cancel_requested": next.cancel_requested,
        "status": next.status,
        "step": next.step,
        "total": next.total,
        "percentage": next.percentage(),
        "eta_secs": next.eta_secs,
        "rate": next.rate,
    })))
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, JobsError> {
    check_token(&state, &headers)?;
    Ok(Json(super::view(
        &super::request_cancel(&state, &id).await?,
    )))
}

async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, JobsError> {
    check_token(&state, &headers)?;
    Ok(Json(super::view(&super::request_retry(&state, &id).await?)))
}

/// Whether the request comes from a signed-in operator's browser (the download link on the
/// page carries the session cookie, not the token).
async fn operator(state: &AppState, headers: &HeaderMap) -> bool {
    match Sessions::from_headers(headers) {
        Some(id) => state.sessions.is_valid(&id).await,
        None => false,
    }
}

async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, JobsError> {
    if jobs_caller(&state, &headers).is_err() && !operator(&state, &headers).await {
        return Err(JobsError::Unauthorized);
    }
    let job = super::find(&state, &id).await?;
    let Some(file) = job
        .artifact
        .as_deref()
        .filter(|_| job.status == JobStatus::Completed)
    else {
        return Err(JobsError::Conflict(
            "this job has no file to download (only a completed export has one)".into(),
        ));
    };
    if job.owner.as_deref() != Some(&*state.instance) {
        tracing::info!(
            "export {id} was written by {:?}, not this instance",
            job.owner
        );
    }
    // Only a name Pulse generated: no separators, so no path can be smuggled in.
    if file.contains(['/', '\\']) || file.starts_with('.') {
        return Err(JobsError::NotFound(id));
    }
    let path = state.config.exports_dir().join(file);
    let f = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::warn!("export file for {id}: {e}");
        JobsError::Conflict(format!(
            "the export file is not on this instance (written by {}); download it there",
            job.owner.as_deref().unwrap_or("another instance")
        ))
    })?;
    let len = f.metadata().await.map(|m| m.len()).ok();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(f));
    let mut res = Response::new(body);
    let h = res.headers_mut();
    let mime = if file.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else {
        "application/x-ndjson"
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"pulse-{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Ok(res)
}
