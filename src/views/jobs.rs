//! `/jobs`: long tasks with live progress. Running jobs first, then the recent finished ones.
//! Each row reads its own job from the store, so a progress event changes that row's bar and
//! figures in place; the row element is never re-created (rows are keyed by job id).
//!
//! Server-rendered from the snapshot (correct without JavaScript: the bar, the figures, the
//! log under a `<details>`, and the operator's forms all work as plain HTML), then live.

use leptos::prelude::*;
use leptos_meta::Title;

use super::format;
use super::operator::{Operator, OperatorSignIn};
use super::pause::PauseToggle;
use crate::api::jobs::{CancelJob, JobActionError, RetryJob, StartCompact, StartExport};
use crate::event::BuiltIn;
use crate::event::{Job, JobStatus};
use crate::live::LiveStore;

/// "1 m 37 s", "12 s", "2 h 05 m".
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} m {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} m", s / 3600, (s % 3600) / 60),
    }
}

/// Steps per second, short.
pub fn rate(r: f64) -> String {
    if r <= 0.0 {
        "–".into()
    } else if r >= 100.0 {
        format!("{:.0}/s", r)
    } else {
        format!("{:.1}/s", r)
    }
}

/// Seconds the job has run: to its end when finished, else to its last update (the same on
/// the server and in the browser, so hydration agrees).
fn elapsed(job: &Job) -> Option<f64> {
    let start = job.started_ms?;
    let end = job.finished_ms.unwrap_or(job.updated_ms);
    Some((end - start) as f64 / 1000.0)
}

#[component]
pub fn JobsPage() -> AnyView {
    let jobs = expect_context::<LiveStore>().jobs;
    let op = Operator::get();
    let running = move || {
        jobs.keys.with(|keys| {
            keys.iter()
                .filter_map(|k| jobs.row(k))
                .filter(|j| j.with(|j| j.status == JobStatus::Running))
                .count()
        })
    };
    view! {
        <Title text="Jobs · Pulse"/>
        <section class="panel" aria-labelledby="jobs-title">
            <div class="panel-head">
                <h1 id="jobs-title">"Jobs"</h1>
                <p class="muted" data-testid="jobs-summary">
                    {move || format!("{} running · {} shown", running(), jobs.len())}
                </p>
                <PauseToggle topic=BuiltIn::Jobs/>
            </div>
            <details class="operator" open=move || op.is_signed_in()>
                <summary>"Operator"</summary>
                <OperatorSignIn can="start, cancel and retry jobs"/>
                <Show when=move || op.is_signed_in()>
                    <OperatorControls/>
                </Show>
            </details>
            <Show
                when=move || !jobs.is_empty()
                fallback=|| {
                    view! {
                        <p class="empty">
                            "No jobs yet. Workers report progress with "
                            <code>"POST /api/jobs"</code>
                            " (see the README); an operator can start an export here."
                        </p>
                    }
                }
            >
                <ul class="jobs" aria-label="Jobs">
                    <For each=move || jobs.keys.get() key=|id| id.clone() let:id>
                        <JobRow id/>
                    </For>
                </ul>
            </Show>
        </section>
    }
    .into_any()
}

/// The message of a refused action; a refusal because the session is gone signs the page out.
fn refusal(op: Operator, result: Option<Result<impl Sized, JobActionError>>) -> Option<String> {
    let err = result?.err()?;
    if err == JobActionError::NotSignedIn {
        op.lost();
    }
    Some(err.to_string())
}

#[component]
fn OperatorControls() -> AnyView {
    let op = Operator::get();
    let export = ServerAction::<StartExport>::new();
    let compact = ServerAction::<StartCompact>::new();
    let error = move || {
        refusal(op, export.value().get())
            .or_else(|| refusal(op, compact.value().get()))
            .unwrap_or_default()
    };
    view! {
        <div class="job-controls">
            <ActionForm action=export attr:class="form-row" attr:data-testid="start-export">
                <label>
                    "Topics "
                    <input type="text" name="topics" value="stocks,scores,feed" required/>
                </label>
                <label>
                    "Format "
                    <select name="format">
                        <option value="ndjson" selected>"NDJSON"</option>
                        <option value="csv">"CSV"</option>
                    </select>
                </label>
                <button type="submit" disabled=move || export.pending().get()>"Start export"</button>
            </ActionForm>
            <ActionForm action=compact attr:class="form-row">
                <button type="submit" disabled=move || compact.pending().get()>
                    "Compact the event log"
                </button>
            </ActionForm>
            <p class="form-error" role="alert">{error}</p>
        </div>
    }
    .into_any()
}

#[component]
fn JobRow(id: String) -> AnyView {
    let jobs = expect_context::<LiveStore>().jobs;
    let op = Operator::get();
    // The row's own signal: an event for this job changes this row only.
    let job: Signal<Option<Job>> = {
        let key = id.clone();
        Signal::derive(move || jobs.row(&key).map(|j| j.get()))
    };
    let get =
        move |f: fn(&Job) -> String| move || job.with(|j| j.as_ref().map(f).unwrap_or_default());
    let status = move || job.with(|j| j.as_ref().map_or(JobStatus::Queued, |j| j.status));
    let pct = move || job.with(|j| j.as_ref().and_then(Job::percentage));
    let cancel = ServerAction::<CancelJob>::new();
    let retry = ServerAction::<RetryJob>::new();
    let action_error = move || {
        refusal(op, cancel.value().get())
            .or_else(|| refusal(op, retry.value().get()))
            .unwrap_or_default()
    };
    let can_cancel = move || op.is_signed_in() && !status().is_final();
    let can_retry = move || {
        op.is_signed_in()
            && status().is_final()
            && job.with(|j| j.as_ref().is_some_and(|j| j.kind.is_own()))
    };
    let download = move || {
        job.with(|j| {
            j.as_ref()
                .filter(|j| j.status == JobStatus::Completed && j.artifact.is_some())
                .map(|j| format!("/api/jobs/{}/download", j.id))
        })
    };
    // Copyable handles: the forms are rebuilt each time their `Show` opens.
    let form_id = StoredValue::new(id.clone());
    let name = get(|j| j.name.clone());
    view! {
        <li
            class="job"
            data-testid="job"
            data-job-id=id.clone()
            data-status=move || status().as_str()
            class:finished=move || status().is_final()
        >
            <div class="job-head">
                <span class="job-name">{name}</span>
                <span class=move || format!("job-status {}", status().as_str())>
                    {move || status().as_str()}
                </span>
            </div>
            <div
                class="bar"
                class:indeterminate=move || pct().is_none() && !status().is_final()
                role="progressbar"
                data-testid="job-progress"
                aria-label=move || format!("{} progress", job.with(|j| j.as_ref().map(|j| j.name.clone()).unwrap_or_default()))
                aria-valuemin="0"
                aria-valuemax=move || job.with(|j| j.as_ref().and_then(|j| j.total).map(|t| t.to_string()))
                aria-valuenow=move || job.with(|j| j.as_ref().filter(|j| j.total.is_some()).map(|j| j.step.to_string()))
            >
                <span
                    class="bar-fill"
                    style:width=move || pct().map(|p| format!("{p:.1}%")).unwrap_or_else(|| "100%".into())
                ></span>
            </div>
            <dl class="job-figures">
                <div>
                    <dt>"Steps"</dt>
                    <dd data-testid="job-steps">
                        {get(|j| match j.total {
                            Some(t) => format!("{} / {}", j.step, t),
                            None => j.step.to_string(),
                        })}
                    </dd>
                </div>
                <div>
                    <dt>"Done"</dt>
                    <dd data-testid="job-percent">{move || pct().map(format::pct).unwrap_or_else(|| "–".into())}</dd>
                </div>
                <div>
                    <dt>"Rate"</dt>
                    <dd>{get(|j| rate(j.rate))}</dd>
                </div>
                <div>
                    <dt>"ETA"</dt>
                    <dd data-testid="job-eta">{get(|j| j.eta_secs.map(duration).unwrap_or_else(|| "–".into()))}</dd>
                </div>
                <div>
                    <dt>"Elapsed"</dt>
                    <dd>{get(|j| elapsed(j).map(duration).unwrap_or_else(|| "–".into()))}</dd>
                </div>
            </dl>
            <p class="job-message muted" data-testid="job-message">{get(|j| j.message.clone())}</p>
            <div class="job-actions">
                <Show when=can_cancel>
                    <ActionForm action=cancel>
                        <input type="hidden" name="id" value=form_id.get_value()/>
                        <button type="submit" data-testid="job-cancel">"Cancel"</button>
                    </ActionForm>
                </Show>
                <Show when=can_retry>
                    <ActionForm action=retry>
                        <input type="hidden" name="id" value=form_id.get_value()/>
                        <button type="submit" data-testid="job-retry">"Retry"</button>
                    </ActionForm>
                </Show>
                {move || download().map(|href| view! {
                    <a class="button" href=href download data-testid="job-download">"Download"</a>
                })}
                <span class="form-error" role="alert">{action_error}</span>
            </div>
            <details class="job-log">
                <summary>
                    {get(|j| format!("Log ({} lines)", j.log_total))}
                </summary>
                <pre data-testid="job-log">{get(|j| j.log.join("\n"))}</pre>
            </details>
        </li>
    }
    .into_any()
}
