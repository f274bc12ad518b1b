//! Jobs on the server: creating them, taking progress reports, cancelling and retrying — the
//! operations the HTTP API ([`http`]), the `/jobs` page's server functions
//! ([`crate::api::jobs`]) and Pulse's own runner ([`crate::sources::jobs`]) share.
//!
//! Every change goes through the hub as a `jobs` event carrying the job's **whole new state**
//! (see [`crate::event::jobs`]): it is durable, reaches every instance, and every page applies
//! it by replacing the job. A change is read-compute-publish ([`update`]): one mutex per
//! process serializes it, and [`crate::hub::Hub::sync`] first waits until this instance has
//! committed everything acknowledged anywhere, so a worker whose reports land on different
//! instances in turn still moves its job forward from the newest state. Two reports of the
//! *same* job arriving at two instances at the same instant resolve last-writer-wins (workers
//! report from one loop, each report after the previous one's answer, so this does not arise
//! from a well-behaved worker).

pub mod http;
mod stream;

use serde::Deserialize;
use serde_json::{json, Value};

use super::AppState;
use crate::event::jobs::{ExportFormat, JobError, JobKind, Report};
use crate::event::notifications::Level;
use crate::event::{now_ms, BuiltIn, EventId, Job, JobStatus, NewNotice, Topic};
use crate::hub::PublishError;

pub use http::router;

/// Why a jobs operation was refused; each message says what to do. Internals are logged,
/// never sent.
#[derive(Debug)]
pub enum JobsError {
    /// 401: no or wrong token (`Authorization: Bearer <token>`), or no operator session.
    Unauthorized,
    /// 403: the token is valid but its topic patterns leave out `jobs` (names the token).
    Forbidden(String),
    /// 404: no job with this id.
    NotFound(String),
    /// 400: the body is not valid JSON for this call, or a value is out of range.
    Invalid(String),
    /// 409: the job cannot take this (finished, or not Pulse's own for retry).
    Conflict(String),
    /// 503: the event store is unavailable or the server is shutting down.
    Unavailable(PublishError),
    /// 429: this token is over `--publish-rate` (job reports are publishes); retry after
    /// `retry_after` seconds.
    RateLimited { retry_after: u64 },
}

impl JobsError {
    pub fn status(&self) -> u16 {
        match self {
            JobsError::Unauthorized => 401,
            JobsError::Forbidden(_) => 403,
            JobsError::NotFound(_) => 404,
            JobsError::Invalid(_) => 400,
            JobsError::Conflict(_) => 409,
            JobsError::Unavailable(_) => 503,
            JobsError::RateLimited { .. } => 429,
        }
    }

    /// `(error, detail)` for the JSON body.
    pub fn parts(&self) -> (&'static str, String) {
        match self {
            JobsError::Unauthorized => (
                "unauthorized",
                "send the publish token as `Authorization: Bearer <token>`".to_owned(),
            ),
            JobsError::Forbidden(name) => (
                "forbidden_topic",
                format!(
                    "the token {name:?} may not report jobs; use a token whose topic patterns \
                     include `jobs` (see --tokens-file)"
                ),
            ),
            JobsError::NotFound(id) => ("not_found", format!("no job with id {id:?}")),
            JobsError::Invalid(m) => ("invalid", m.clone()),
            JobsError::Conflict(m) => ("conflict", m.clone()),
            JobsError::Unavailable(e) => ("unavailable", e.to_string()),
            JobsError::RateLimited { retry_after } => (
                "rate_limited",
                format!("this token is publishing faster than allowed; retry in {retry_after} s"),
            ),
        }
    }
}

impl From<JobError> for JobsError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Invalid(m) => JobsError::Invalid(m),
            e @ JobError::Finished(_) => JobsError::Conflict(e.to_string()),
        }
    }
}

/// A job id as the API shows it: `j` and 16 hex digits.
fn new_id() -> String {
    format!("j{:016x}", rand::random::<u64>())
}

fn topic() -> Topic {
    BuiltIn::Jobs.topic()
}

/// A job's current state: the hub's snapshot (every running job and the recent finished ones),
/// else the jobs table (older finished jobs).
pub async fn find(state: &AppState, id: &str) -> Result<Job, JobsError> {
    if let Some(j) = state.hub.read(|s| s.jobs.jobs.get(id).cloned()) {
        return Ok(j);
    }
    let store = state.jobs.clone();
    let key = id.to_owned();
    let found = tokio::task::spawn_blocking(move || store.get(&key))
        .await
        .ok()
        .and_then(|r| {
            r.map_err(|e| tracing::error!("jobs table: {e}"))
                .ok()
                .flatten()
        });
    found.ok_or_else(|| JobsError::NotFound(id.chars().take(64).collect()))
}

/// Publishes a job's new state and waits until the jobs table has it.
async fn save(state: &AppState, job: &Job) -> Result<EventId, JobsError> {
    let data = serde_json::to_string(job).expect("a job serializes");
    let id = state
        .hub
        .publish(topic(), data)
        .await
        .map_err(JobsError::Unavailable)?;
    state.jobs_recorder.stored(id).await;
    Ok(id)
}

/// Reads job `id`, computes its next state with `f`, and publishes it — serialized in this
/// process and after this instance has caught up with every instance (see the module docs).
/// A job that ends sends a notification.
pub async fn update(
    state: &AppState,
    id: &str,
    f: impl FnOnce(&Job) -> Result<Job, JobsError>,
) -> Result<Job, JobsError> {
    let _one_at_a_time = state.job_lock.lock().await;
    state.hub.sync().await.map_err(JobsError::Unavailable)?;
    let current = find(state, id).await?;
    let next = f(&current)?;
    save(state, &next).await?;
    if next.status.is_final() && !current.status.is_final() {
        notify_finished(state, &next).await;
    }
    Ok(next)
}

/// A toast on every page when a job ends.
async fn notify_finished(state: &AppState, job: &Job) {
    let (level, verb) = match job.status {
        JobStatus::Completed => (Level::Success, "finished"),
        JobStatus::Failed => (Level::Error, "failed"),
        _ => (Level::Info, "was cancelled"),
    };
    let title: String = format!("Job {verb}: {}", job.name)
        .chars()
        .take(80)
        .collect();
    let notice = NewNotice {
        level,
        title,
        body: job.message.chars().take(300).collect(),
        source: Some("jobs".into()),
        link: Some("/jobs".into()),
        at: Some(now_ms()),
    };
    let data = serde_json::to_string(&notice).expect("a notice serializes");
    if let Err(e) = state
        .hub
        .publish(BuiltIn::Notifications.topic(), data)
        .await
    {
        tracing::debug!("job notice not sent: {e}");
    }
}

/// What the API answers about a job: its state plus the derived figures.
pub fn view(job: &Job) -> Value {
    let mut v = serde_json::to_value(job).expect("a job serializes");
    v["percentage"] = json!(job.percentage());
    v
}

/// A job reported by a worker elsewhere: `queued` until its first report.
pub async fn create(state: &AppState, name: &str, total: Option<i64>) -> Result<Job, JobsError> {
    let job = Job::new(new_id(), name, total, JobKind::External, now_ms())?;
    save(state, &job).await?;
    Ok(job)
}

/// What `POST /api/jobs/export` (and the page's form) asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExport {
    pub topics: Vec<String>,
    #[serde(default)]
    pub from_ms: Option<i64>,
    #[serde(default)]
    pub to_ms: Option<i64>,
    #[serde(default)]
    pub format: ExportFormat,
}

/// Checks an export request; the job's name says what it exports.
pub fn export_kind(req: NewExport) -> Result<(String, JobKind), JobsError> {
    if req.topics.is_empty() || req.topics.len() > 32 {
        return Err(JobsError::Invalid(
            "name 1 to 32 topics to export, e.g. [\"stocks\"]".into(),
        ));
    }
    for t in &req.topics {
        Topic::parse(t).map_err(|e| JobsError::Invalid(format!("topic {t:?}: {e}")))?;
    }
    if let (Some(f), Some(t)) = (req.from_ms, req.to_ms) {
        if f >= t {
            return Err(JobsError::Invalid("from_ms must be before to_ms".into()));
        }
    }
    let name = format!(
        "Export {} ({})",
        req.topics.join(", "),
        req.format.extension()
    );
    let name: String = name.chars().take(80).collect();
    Ok((
        name,
        JobKind::Export {
            topics: req.topics,
            from_ms: req.from_ms,
            to_ms: req.to_ms,
            format: req.format,
        },
    ))
}

/// Creates one of Pulse's own jobs, owned by this instance (queued; the runner starts it when
/// a slot is free).
pub async fn start_own(state: &AppState, name: &str, kind: JobKind) -> Result<Job, JobsError> {
    let mut job = Job::new(new_id(), name, None, kind, now_ms())?;
    job.owner = Some(state.instance.to_string());
    save(state, &job).await?;
    state.runner.wake();
    Ok(job)
}

/// A worker's progress report. A cancel requested meanwhile ends the job now: the worker
/// learns it from the answer and stops.
pub async fn report(state: &AppState, id: &str, report: &Report) -> Result<Job, JobsError> {
    update(state, id, |job| {
        if job.kind.is_own() {
            return Err(JobsError::Conflict(
                "Pulse runs this job itself; it takes no reports from workers".into(),
            ));
        }
        let mut next = job.report(report, now_ms())?;
        if job.cancel_requested && !next.status.is_final() {
            next.finish(JobStatus::Cancelled, now_ms());
        }
        Ok(next)
    })
    .await
}

/// Asks a job to stop. A worker learns it from its next report (cooperative, like BullMQ's
/// abort signal); a queued job that never started is cancelled at once; Pulse's own jobs stop
/// within a second.
pub async fn request_cancel(state: &AppState, id: &str) -> Result<Job, JobsError> {
    update(state, id, |job| {
        if job.status.is_final() {
            return Err(JobsError::Conflict(format!(
                "the job is already {}; nothing to cancel",
                job.status.as_str()
            )));
        }
        let mut job = job.clone();
        job.cancel_requested = true;
        job.updated_ms = now_ms();
        if job.status == JobStatus::Queued {
            job.message = "cancelled before it started".into();
            job.finish(JobStatus::Cancelled, now_ms());
        }
        Ok(job)
    })
    .await
}

/// Queues one of Pulse's own finished jobs again, on this instance.
pub async fn request_retry(state: &AppState, id: &str) -> Result<Job, JobsError> {
    let next = update(state, id, |job| {
        if !job.kind.is_own() {
            return Err(JobsError::Conflict(
                "only Pulse's own jobs (export, compact) can be retried; a worker starts its own job again".into(),
            ));
        }
        if !job.status.is_final() {
            return Err(JobsError::Conflict(format!(
                "the job is {}; retry it once it has finished",
                job.status.as_str()
            )));
        }
        let mut next = job.retried(now_ms());
        next.owner = Some(state.instance.to_string());
        Ok(next)
    })
    .await?;
    state.runner.wake();
    Ok(next)
}
