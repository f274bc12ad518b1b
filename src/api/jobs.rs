//! Operator actions on `/jobs`: start an export or a compaction, cancel, retry — for a
//! signed-in operator ([`super::operator`]). The same operations as the jobs HTTP API
//! ([`crate::server::jobs`]), which takes the publish token instead.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// Why a jobs action was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobActionError {
    /// No operator session.
    NotSignedIn,
    /// A field is not valid; the message names it.
    Invalid(String),
    /// The job cannot do that now (finished, not Pulse's own, ...).
    Conflict(String),
    /// No job with this id.
    UnknownJob(String),
    /// The server could not record the change.
    Unavailable(String),
    /// The request failed before the server could answer.
    Request(String),
}

impl std::fmt::Display for JobActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobActionError::NotSignedIn => write!(
                f,
                "Only an operator can start or stop jobs. Sign in with the operator password first."
            ),
            JobActionError::Invalid(m) | JobActionError::Conflict(m) => write!(f, "{m}"),
            JobActionError::UnknownJob(id) => write!(f, "There is no job {id:?}."),
            JobActionError::Unavailable(m) => write!(f, "Not saved: {m}"),
            JobActionError::Request(m) => write!(
                f,
                "The request failed: {m}. Check your connection and try again."
            ),
        }
    }
}

impl std::error::Error for JobActionError {}

impl super::Refusal for JobActionError {
    fn status(&self) -> u16 {
        match self {
            JobActionError::NotSignedIn => 401,
            JobActionError::Invalid(_) => 400,
            JobActionError::Conflict(_) => 409,
            JobActionError::UnknownJob(_) => 404,
            JobActionError::Unavailable(_) | JobActionError::Request(_) => 503,
        }
    }
}

impl FromServerFnError for JobActionError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        super::request_failed(&value);
        JobActionError::Request(value.to_string())
    }
}

/// Starts an export of `topics` (comma-separated) as `format` (`ndjson` or `csv`); returns the
/// job id.
#[server(prefix = "/api/fn", endpoint = "start_export")]
pub async fn start_export(topics: String, format: String) -> Result<String, JobActionError> {
    super::request::answered(ssr::start_export(topics, format).await)
}

/// Starts compacting the event log; returns the job id.
#[server(prefix = "/api/fn", endpoint = "start_compact")]
pub async fn start_compact() -> Result<String, JobActionError> {
    super::request::answered(ssr::start_compact().await)
}

/// Asks a job to stop.
#[server(prefix = "/api/fn", endpoint = "cancel_job")]
pub async fn cancel_job(id: String) -> Result<(), JobActionError> {
    super::request::answered(ssr::cancel_job(id).await)
}

/// Runs one of Pulse's own finished jobs again.
#[server(prefix = "/api/fn", endpoint = "retry_job")]
pub async fn retry_job(id: String) -> Result<(), JobActionError> {
    super::request::answered(ssr::retry_job(id).await)
}

#[cfg(feature = "ssr")]
mod ssr {
    use std::future::Future;

    use super::JobActionError;
    use crate::api::request::{signed_in, state};
    use crate::event::jobs::{ExportFormat, JobKind};
    use crate::server::jobs::{self, JobsError, NewExport};
    use crate::server::AppState;

    impl From<JobsError> for JobActionError {
        fn from(e: JobsError) -> Self {
            match e {
                JobsError::Unauthorized | JobsError::Forbidden(_) => JobActionError::NotSignedIn,
                JobsError::NotFound(id) => JobActionError::UnknownJob(id),
                JobsError::Invalid(m) => JobActionError::Invalid(m),
                JobsError::Conflict(m) => JobActionError::Conflict(m),
                JobsError::Unavailable(e) => JobActionError::Unavailable(e.to_string()),
                e @ JobsError::RateLimited { .. } => JobActionError::Unavailable(e.parts().1),
            }
        }
    }

    /// Runs `act` for a signed-in operator.
    async fn as_operator<T, F>(act: impl FnOnce(AppState) -> F) -> Result<T, JobActionError>
    where
        F: Future<Output = Result<T, JobsError>>,
    {
        let state = state();
        if signed_in(&state).await.is_none() {
            return Err(JobActionError::NotSignedIn);
        }
        Ok(act(state).await?)
    }

    pub async fn start_export(topics: String, format: String) -> Result<String, JobActionError> {
        as_operator(|state| async move {
            let format = match format.trim() {
                "" | "ndjson" => ExportFormat::Ndjson,
                "csv" => ExportFormat::Csv,
                other => {
                    return Err(JobsError::Invalid(format!(
                        "format {other:?}: choose ndjson or csv"
                    )))
                }
            };
            let topics: Vec<String> = topics
                .split(',')
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty())
                .collect();
            let (name, kind) = jobs::export_kind(NewExport {
                topics,
                from_ms: None,
                to_ms: None,
                format,
            })?;
            Ok(jobs::start_own(&state, &name, kind).await?.id)
        })
        .await
    }

    pub async fn start_compact() -> Result<String, JobActionError> {
        as_operator(|state| async move {
            Ok(
                jobs::start_own(&state, "Compact the event log", JobKind::Compact)
                    .await?
                    .id,
            )
        })
        .await
    }

    pub async fn cancel_job(id: String) -> Result<(), JobActionError> {
        as_operator(|state| async move { jobs::request_cancel(&state, id.trim()).await.map(drop) })
            .await
    }

    pub async fn retry_job(id: String) -> Result<(), JobActionError> {
        as_operator(|state| async move { jobs::request_retry(&state, id.trim()).await.map(drop) })
            .await
    }
}
