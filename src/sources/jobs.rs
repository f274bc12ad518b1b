//! Pulse's own jobs: exporting events to a file and compacting the event log, with progress.
//!
//! The [`Runner`] starts queued jobs of this instance, at most `--jobs-max` at once (the rest
//! wait as `queued`). Each job reports progress through the hub like any worker, so every page
//! and every instance shows it. A cancel is seen between batches — within a second — and an
//! export then removes its partial file. Jobs this instance was running when it died are
//! marked `failed` at the next start (with the reason); they can be retried.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::event::jobs::{ExportFormat, JobKind, Report};
use crate::event::{now_ms, Job, JobStatus};
use crate::server::jobs::update;
use crate::server::AppState;

/// Wakes the runner when a job is queued; cheap to clone.
#[derive(Clone, Default)]
pub struct RunnerHandle {
    wake: Arc<Notify>,
}

impl RunnerHandle {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

pub struct Runner {
    state: AppState,
    handle: RunnerHandle,
    /// Jobs this runner has started and not finished.
    running: Arc<Mutex<HashSet<String>>>,
}

/// Why a job of Pulse's own stopped early.
enum Stop {
    Cancelled,
    Failed(String),
}

impl Runner {
    pub fn new(state: AppState, handle: RunnerHandle) -> Runner {
        Runner {
            state,
            handle,
            running: Arc::default(),
        }
    }

    fn mine(&self, j: &Job) -> bool {
        j.kind.is_own() && j.owner.as_deref() == Some(&*self.state.instance)
    }

    pub async fn run(self, stop: CancellationToken) {
        // Jobs this instance was running when it stopped: say so instead of leaving them
        // "running" forever.
        let stale: Vec<String> = self
            .state
            .snapshot()
            .jobs
            .jobs
            .values()
            .filter(|j| self.mine(j) && j.status == JobStatus::Running)
            .map(|j| j.id.clone())
            .collect();
        for id in stale {
            // An export killed mid-write leaves its partial file behind: remove it before the
            // job says it failed.
            for format in [ExportFormat::Ndjson, ExportFormat::Csv] {
                let part = self
                    .state
                    .config
                    .exports_dir()
                    .join(format!("{id}.{}.part", format.extension()));
                let _ = std::fs::remove_file(part);
            }
            let _ = update(&self.state, &id, |j| {
                let mut j = j.clone();
                j.message = "Pulse stopped while this job ran; retry it".into();
                j.finish(JobStatus::Failed, now_ms());
                Ok(j)
            })
            .await;
        }
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.handle.wake.notified() => {}
                _ = tick.tick() => {}
            }
            let max = self.state.config.jobs_max as usize;
            let mut queued: Vec<Job> = self.state.hub.read(|s| {
                s.jobs
                    .jobs
                    .values()
                    .filter(|j| self.mine(j) && j.status == JobStatus::Queued)
                    .cloned()
                    .collect()
            });
            queued.extend(
                self.state
                    .pages
                    .jobs_seed()
                    .iter()
                    .filter(|j| self.mine(j) && j.status == JobStatus::Queued)
                    .filter(|j| self.state.hub.read(|s| !s.jobs.jobs.contains_key(&j.id)))
                    .cloned(),
            );
            queued.sort_by_key(|j| j.created_ms);
            for job in queued {
                let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
                if running.len() >= max || running.contains(&job.id) {
                    continue;
                }
                running.insert(job.id.clone());
                drop(running);
                let state = self.state.clone();
                let set = self.running.clone();
                let stop = stop.clone();
                tokio::spawn(async move {
                    let id = job.id.clone();
                    run_one(&state, job, stop).await;
                    set.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                });
            }
        }
    }
}

async fn run_one(state: &AppState, job: Job, stop: CancellationToken) {
    let id = job.id.clone();
    let started = update(state, &id, |j| {
        let mut j = j.clone();
        if j.status == JobStatus::Queued {
            j.status = JobStatus::Running;
            j.started_ms = Some(now_ms());
            j.updated_ms = now_ms();
            j.message = "starting".into();
        }
        Ok(j)
    })
    .await;
    let Ok(started) = started else { return };
    if started.status != JobStatus::Running {
        return; // cancelled while queued
    }
    let result = match &started.kind {
        JobKind::Export {
            topics,
            from_ms,
            to_ms,
            format,
        } => export(state, &started, topics, *from_ms, *to_ms, *format, &stop).await,
        JobKind::Compact => compact(state, &started).await,
        JobKind::External => return,
    };
    let _ = update(state, &id, |j| {
        let mut j = j.clone();
        match &result {
            Ok(artifact) => {
                j.artifact = artifact.clone();
                if let Some(t) = j.total {
                    j.step = t;
                }
                if j.message.is_empty() || j.message == "starting" {
                    j.message = "done".into();
                }
                j.finish(JobStatus::Completed, now_ms());
            }
            Err(Stop::Cancelled) => {
                j.message = "cancelled".into();
                j.finish(JobStatus::Cancelled, now_ms());
            }
            Err(Stop::Failed(why)) => {
                j.message = why.clone();
                j.finish(JobStatus::Failed, now_ms());
            }
        }
        Ok(j)
    })
    .await;
}

/// Reports progress; returns whether a cancel was requested.
async fn report(state: &AppState, id: &str, r: Report) -> Result<bool, Stop> {
    let job = update(state, id, |j| {
        Ok(j.report(&r, now_ms()).unwrap_or_else(|_| j.clone()))
    })
    .await
    .map_err(|e| Stop::Failed(format!("cannot report progress: {e:?}")))?;
    Ok(job.cancel_requested)
}

/// One CSV field: quoted, with quotes doubled (RFC 4180).
fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Writes the events of `topics` accepted in `[from, to)` from the replay window, one batch
/// (`--export-batch` events) per progress report.
async fn export(
    state: &AppState,
    job: &Job,
    topics: &[String],
    from: Option<i64>,
    to: Option<i64>,
    format: ExportFormat,
    stop: &CancellationToken,
) -> Result<Option<String>, Stop> {
    let events = state.hub.window(|e| {
        topics.iter().any(|t| t == e.topic.as_str())
            && from.is_none_or(|f| e.at_ms >= f)
            && to.is_none_or(|t| e.at_ms < t)
    });
    let dir = state.config.exports_dir();
    tokio::fs::create_dir_all(&dir).await.map_err(|e| {
        tracing::error!("exports dir {}: {e}", dir.display());
        Stop::Failed("cannot create the exports directory (see the server log)".into())
    })?;
    let name = format!("{}.{}", job.id, format.extension());
    let part: PathBuf = dir.join(format!("{name}.part"));
    let total = events.len() as i64;
    report(
        state,
        &job.id,
        Report {
            step: Some(0),
            total: (total > 0).then_some(total),
            message: Some(format!("{total} events to write")),
            ..Report::default()
        },
    )
    .await?;
    let file = std::fs::File::create(&part).map_err(|e| {
        tracing::error!("export file {}: {e}", part.display());
        Stop::Failed("cannot create the export file (see the server log)".into())
    })?;
    let mut out = std::io::BufWriter::new(file);
    if format == ExportFormat::Csv {
        let _ = writeln!(out, "id,topic,at_ms,data");
    }
    let batch = state.config.export_batch.max(1) as usize;
    let mut written = 0i64;
    let cleanup = |part: &PathBuf| {
        let _ = std::fs::remove_file(part);
    };
    for chunk in events.chunks(batch) {
        if stop.is_cancelled() {
            cleanup(&part);
            return Err(Stop::Failed(
                "Pulse stopped while this job ran; retry it".into(),
            ));
        }
        for e in chunk {
            let line = match format {
                ExportFormat::Ndjson => format!(
                    r#"{{"id":{},"topic":"{}","at_ms":{},"data":{}}}"#,
                    e.id,
                    e.topic.as_str(),
                    e.at_ms,
                    e.data
                ),
                ExportFormat::Csv => format!(
                    "{},{},{},{}",
                    e.id,
                    e.topic.as_str(),
                    e.at_ms,
                    csv_field(&e.data)
                ),
            };
            if let Err(err) = writeln!(out, "{line}") {
                tracing::error!("export file {}: {err}", part.display());
                cleanup(&part);
                return Err(Stop::Failed(
                    "writing the export failed (see the server log)".into(),
                ));
            }
        }
        written += chunk.len() as i64;
        let cancelled = match report(
            state,
            &job.id,
            Report {
                step: Some(written),
                message: Some(format!("{written} of {total} events written")),
                ..Report::default()
            },
        )
        .await
        {
            Ok(c) => c,
            Err(e) => {
                cleanup(&part);
                return Err(e);
            }
        };
        if cancelled {
            drop(out);
            cleanup(&part);
            return Err(Stop::Cancelled);
        }
    }
    let file = out.into_inner().map_err(|e| {
        tracing::error!("export file {}: {e}", part.display());
        Stop::Failed("writing the export failed (see the server log)".into())
    })?;
    let _ = file.sync_all();
    let done = dir.join(&name);
    std::fs::rename(&part, &done).map_err(|e| {
        tracing::error!("export file {}: {e}", done.display());
        Stop::Failed("finishing the export file failed (see the server log)".into())
    })?;
    Ok(Some(name))
}

/// Rows one retention statement deletes at most: each is a short write transaction, so the
/// sequencer's group commits keep going in between (SQLite waits for the lock, up to the busy
/// timeout).
const COMPACT_CHUNK: i64 = 2000;

/// Applies retention (`--history` rows, `--retention-secs`) to the event log now, then
/// checkpoints the WAL into the file and rebuilds it without free pages (`VACUUM`) — on a
/// connection of its own, with progress: one step per deleted chunk, then one per phase.
async fn compact(state: &AppState, job: &Job) -> Result<Option<String>, Stop> {
    if state.config.redis_url.is_some() {
        return Err(Stop::Failed(
            "compaction applies to the embedded event log; Redis trims its stream itself".into(),
        ));
    }
    let path = state.config.log_path();
    let history = state.config.history as i64;
    let before_ms = match state.config.retention_secs {
        0 => i64::MIN,
        secs => now_ms() - secs as i64 * 1000,
    };
    let failed = |what: &str, e: &dyn std::fmt::Debug| {
        tracing::error!("compact {}: {what}: {e:?}", path.display());
        Stop::Failed(format!("{what} failed (see the server log)"))
    };
    let db = |sql: String, args: Vec<i64>| {
        let p = path.clone();
        tokio::task::spawn_blocking(move || -> rusqlite::Result<i64> {
            let conn = rusqlite::Connection::open(&p)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            if sql.trim_start().starts_with("SELECT") {
                conn.query_row(&sql, rusqlite::params_from_iter(args), |r| r.get(0))
            } else if args.is_empty() {
                conn.execute_batch(&sql).map(|()| 0)
            } else {
                conn.execute(&sql, rusqlite::params_from_iter(args))
                    .map(|n| n as i64)
            }
        })
    };
    let through: i64 = match db("SELECT COALESCE(MAX(id), 0) FROM events".into(), vec![]).await {
        Ok(Ok(max)) => max - history,
        other => return Err(failed("reading the event log", &other)),
    };
    let stale = match db(
        "SELECT COUNT(*) FROM events WHERE id <= ?1 OR at_ms < ?2".into(),
        vec![through, before_ms],
    )
    .await
    {
        Ok(Ok(n)) => n,
        other => return Err(failed("reading the event log", &other)),
    };
    let chunks = (stale + COMPACT_CHUNK - 1) / COMPACT_CHUNK;
    let total = chunks + 2;
    let progress = |step: i64, message: String| Report {
        step: Some(step),
        total: Some(total),
        message: Some(message),
        ..Report::default()
    };
    let mut deleted = 0;
    for chunk in 0..chunks {
        let msg = format!("retention: {deleted} of {stale} old events removed");
        if report(state, &job.id, progress(chunk, msg)).await? {
            return Err(Stop::Cancelled);
        }
        match db(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ?1 OR at_ms < ?2 ORDER BY id LIMIT ?3)".into(),
            vec![through, before_ms, COMPACT_CHUNK],
        )
        .await
        {
            Ok(Ok(n)) => deleted += n,
            other => return Err(failed("applying retention", &other)),
        }
    }
    let phases = [
        (
            "checkpointing the write-ahead log",
            "PRAGMA wal_checkpoint(TRUNCATE);",
        ),
        ("rebuilding the file without free pages (VACUUM)", "VACUUM;"),
    ];
    for (i, (what, sql)) in phases.iter().enumerate() {
        if report(state, &job.id, progress(chunks + i as i64, (*what).into())).await? {
            return Err(Stop::Cancelled);
        }
        match db((*sql).into(), vec![]).await {
            Ok(Ok(_)) => {}
            other => return Err(failed(what, &other)),
        }
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let _ = report(
        state,
        &job.id,
        Report {
            step: Some(total),
            message: Some(format!(
                "{deleted} old events removed; the event log is {size} bytes"
            )),
            ..Report::default()
        },
    )
    .await;
    Ok(None)
}
