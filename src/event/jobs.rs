//! Jobs: long tasks with live progress, reported by any worker over HTTP or run by Pulse itself.
//!
//! Every `jobs` event carries a job's **whole state** after a change, not a delta. The server
//! computes the next state from the one it knows ([`Job::report`], a pure function of the
//! previous state, the report and the clock) and publishes it; every instance and every browser
//! then only replaces the job by id ([`JobsState::apply`]). So the rate and the ETA are computed
//! once, the same everywhere, and a slow client may skip to the newest state of a job
//! (conflation) without missing anything.
//!
//! ## ETA
//! The rate is an exponentially weighted moving average of steps per second over the recent
//! reports, weighted by the time each covers (`α = 1 − e^(−Δt/τ)`, τ = [`RATE_TAU_SECS`]), so a
//! job that speeds up or slows down is followed within seconds, and the start time alone never
//! decides. The ETA is `(total − step) / rate`, shown only once it means something: a known
//! total, at least [`ETA_MIN_REPORTS`] reports that moved the step, over at least
//! [`ETA_MIN_SECS`] seconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::payload::{check_text, Payload};
use super::topic::BuiltIn;
use super::view::{Changed, KeyedState, ViewState};
use super::EventId;

/// Time constant of the rate average, in seconds.
pub const RATE_TAU_SECS: f64 = 10.0;
/// Reports that moved the step before an ETA is shown.
pub const ETA_MIN_REPORTS: u32 = 3;
/// Seconds of progress before an ETA is shown.
pub const ETA_MIN_SECS: f64 = 2.0;
/// Log lines kept per job (the newest).
pub const LOG_KEEP: usize = 200;
/// Longest log line, in characters.
pub const MAX_LOG_LINE: usize = 500;
/// Log lines one report may add.
pub const MAX_LOG_PER_REPORT: usize = 100;
/// Finished jobs the state keeps (the newest); running and queued jobs are always kept.
pub const KEEP_FINISHED: usize = 50;
pub const MAX_NAME_CHARS: usize = 80;
pub const MAX_MESSAGE_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    #[default]
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// What kind of work a job is. Pulse runs `Export` and `Compact` itself; `External` jobs are
/// reported by a worker elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum JobKind {
    #[default]
    External,
    /// Events of `topics` accepted in `[from_ms, to_ms)` to a file in `format`.
    Export {
        topics: Vec<String>,
        #[serde(default)]
        from_ms: Option<i64>,
        #[serde(default)]
        to_ms: Option<i64>,
        format: ExportFormat,
    },
    /// Retention and compaction of the event log.
    Compact,
}

impl JobKind {
    /// Whether Pulse runs this job itself (so it can be retried).
    pub fn is_own(&self) -> bool {
        !matches!(self, JobKind::External)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Ndjson,
    Csv,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Csv => "csv",
        }
    }
}

/// One job, as every instance and browser sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub kind: JobKind,
    pub status: JobStatus,
    #[serde(default)]
    pub step: u64,
    /// `None`: indeterminate (a spinner, not a bar).
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub message: String,
    /// The newest log lines (at most [`LOG_KEEP`]).
    #[serde(default)]
    pub log: Vec<String>,
    /// Log lines ever appended (so a client can tell how many scrolled away).
    #[serde(default)]
    pub log_total: u64,
    /// Steps per second (moving average); 0 until the step moves.
    #[serde(default)]
    pub rate: f64,
    /// Seconds until done, when meaningful (see the module docs).
    #[serde(default)]
    pub eta_secs: Option<f64>,
    /// Reports that moved the step.
    #[serde(default)]
    pub moves: u32,
    pub created_ms: i64,
    #[serde(default)]
    pub started_ms: Option<i64>,
    pub updated_ms: i64,
    #[serde(default)]
    pub finished_ms: Option<i64>,
    /// Set by a cancel; the worker learns it from its next report's answer.
    #[serde(default)]
    pub cancel_requested: bool,
    /// The instance that runs a job of Pulse's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// A finished export's file name (under the data dir's `exports/`), for download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// Times this job was retried.
    #[serde(default)]
    pub attempt: u32,
}

/// A worker's progress report (`POST /api/jobs/{id}/progress`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    #[serde(default)]
    pub step: Option<i64>,
    #[serde(default)]
    pub total: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    /// `completed` or `failed` ends the job; `running` is accepted and changes nothing else.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub log: Vec<String>,
}

/// Why a report or a new job was refused. The message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// 400: a value is out of range or malformed.
    Invalid(String),
    /// 409: the job already finished; it takes no more reports.
    Finished(JobStatus),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Invalid(m) => f.write_str(m),
            JobError::Finished(s) => write!(
                f,
                "the job is already {}; it takes no more progress (start a new job)",
                s.as_str()
            ),
        }
    }
}

fn invalid(m: impl Into<String>) -> JobError {
    JobError::Invalid(m.into())
}

fn check_total(total: Option<i64>) -> Result<Option<u64>, JobError> {
    match total {
        None => Ok(None),
        Some(t) if t <= 0 => Err(invalid(format!(
            "total is {t}; it must be a positive number of steps (or absent when unknown)"
        ))),
        Some(t) => Ok(Some(t as u64)),
    }
}

fn check_lines(lines: &[String]) -> Result<(), JobError> {
    if lines.len() > MAX_LOG_PER_REPORT {
        return Err(invalid(format!(
            "log has {} lines; send at most {MAX_LOG_PER_REPORT} per report",
            lines.len()
        )));
    }
    for (i, l) in lines.iter().enumerate() {
        if l.chars().count() > MAX_LOG_LINE {
            return Err(invalid(format!(
                "log[{i}] is longer than {MAX_LOG_LINE} characters"
            )));
        }
    }
    Ok(())
}

impl Job {
    /// A new job, `queued` until its first report (or until Pulse starts running it).
    pub fn new(
        id: String,
        name: &str,
        total: Option<i64>,
        kind: JobKind,
        now_ms: i64,
    ) -> Result<Job, JobError> {
        check_text("name", name, 1, MAX_NAME_CHARS).map_err(JobError::Invalid)?;
        Ok(Job {
            id,
            name: name.trim().to_owned(),
            kind,
            total: check_total(total)?,
            created_ms: now_ms,
            updated_ms: now_ms,
            ..Job::default()
        })
    }

    /// Percent done, when the total is known.
    pub fn percentage(&self) -> Option<f64> {
        self.total
            .map(|t| (self.step as f64 / t as f64 * 100.0).clamp(0.0, 100.0))
    }

    /// The state after `report` at `now_ms`. Pure: the server calls it and publishes the
    /// result; tests replay a clock through it.
    pub fn report(&self, report: &Report, now_ms: i64) -> Result<Job, JobError> {
        if self.status.is_final() {
            return Err(JobError::Finished(self.status));
        }
        let total = match report.total {
            Some(_) => check_total(report.total)?,
            None => self.total,
        };
        let step = match report.step {
            None => self.step,
            Some(s) if s < 0 => return Err(invalid(format!("step is {s}; it must be 0 or more"))),
            Some(s) => s as u64,
        };
        if let Some(t) = total {
            if step > t {
                return Err(invalid(format!(
                    "step {step} is past the total {t}; send a larger total or a smaller step"
                )));
            }
        }
        let finish = match report.status.as_deref() {
            None | Some("running") => None,
            Some("completed") => Some(JobStatus::Completed),
            Some("failed") => Some(JobStatus::Failed),
            Some(other) => {
                return Err(invalid(format!(
                    "status {other:?} is not one a worker can report; use \"completed\", \"failed\" or leave it out"
                )))
            }
        };
        if let Some(m) = &report.message {
            if m.chars().count() > MAX_MESSAGE_CHARS {
                return Err(invalid(format!(
                    "message is longer than {MAX_MESSAGE_CHARS} characters"
                )));
            }
        }
        check_lines(&report.log)?;

        let mut next = self.clone();
        next.total = total;
        if let Some(m) = &report.message {
            next.message = m.trim().to_owned();
        }
        next.append_log(&report.log);
        if self.status == JobStatus::Running {
            next.advance(step, now_ms);
        } else {
            // The first report starts the clock: its steps were made over a time nobody
            // measured (the job may have waited queued for hours), so they set the baseline
            // and the rate comes from the reports after it.
            next.step = step;
            next.started_ms = Some(now_ms);
        }
        next.status = JobStatus::Running;
        next.updated_ms = now_ms;
        if let Some(done) = finish {
            if done == JobStatus::Completed {
                if let Some(t) = next.total {
                    next.step = t;
                }
            }
            next.finish(done, now_ms);
        }
        Ok(next)
    }

    /// Moves the step and folds the move into the rate (see the module docs).
    fn advance(&mut self, step: u64, now_ms: i64) {
        let dt = (now_ms - self.updated_ms) as f64 / 1000.0;
        if step > self.step && dt > 0.0 {
            let instant = (step - self.step) as f64 / dt;
            let alpha = if self.moves == 0 {
                1.0
            } else {
                1.0 - (-dt / RATE_TAU_SECS).exp()
            };
            self.rate = alpha * instant + (1.0 - alpha) * self.rate;
            self.moves += 1;
        } else if step > self.step {
            // Two reports in the same millisecond: count the move, keep the rate.
            self.moves += 1;
        } else if dt > 0.0 && self.moves > 0 {
            // No progress for `dt`: a sample of rate 0, so a stalled job's ETA grows honestly.
            self.rate *= (-dt / RATE_TAU_SECS).exp();
        }
        self.step = step;
        let ran = self
            .started_ms
            .map_or(0.0, |s| (now_ms - s) as f64 / 1000.0);
        self.eta_secs = match self.total {
            Some(t) if self.moves >= ETA_MIN_REPORTS && ran >= ETA_MIN_SECS && self.rate > 0.0 => {
                Some(((t - self.step.min(t)) as f64 / self.rate * 10.0).round() / 10.0)
            }
            _ => None,
        };
    }

    pub fn append_log(&mut self, lines: &[String]) {
        for l in lines {
            self.log.push(l.clone());
            self.log_total += 1;
        }
        if self.log.len() > LOG_KEEP {
            let excess = self.log.len() - LOG_KEEP;
            self.log.drain(..excess);
        }
    }

    /// Ends the job with `status` (no more reports are taken).
    /// Once finished, the rate shown is the job's average over its whole run (steps per
    /// second from start to end), or 0 when it ran for less than a second and an average
    /// would mean nothing.
    pub fn finish(&mut self, status: JobStatus, now_ms: i64) {
        self.status = status;
        self.finished_ms = Some(now_ms);
        self.updated_ms = now_ms;
        self.eta_secs = None;
        let ran = self
            .started_ms
            .map_or(0.0, |s| (now_ms - s) as f64 / 1000.0);
        self.rate = if ran >= 1.0 {
            self.step as f64 / ran
        } else {
            0.0
        };
    }

    /// The state a retry starts from: queued again, progress and log cleared.
    pub fn retried(&self, now_ms: i64) -> Job {
        Job {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind.clone(),
            total: None,
            created_ms: self.created_ms,
            updated_ms: now_ms,
            attempt: self.attempt + 1,
            ..Job::default()
        }
    }
}

impl Payload for Job {
    const TOPIC: BuiltIn = BuiltIn::Jobs;

    fn check(&self) -> Result<(), String> {
        check_text("name", &self.name, 1, MAX_NAME_CHARS)?;
        if self.id.is_empty() || self.id.len() > 64 {
            return Err("id must be 1 to 64 characters".into());
        }
        if self.total.is_some_and(|t| self.step > t) {
            return Err("step is past the total".into());
        }
        if self.log.len() > LOG_KEEP {
            return Err(format!("log keeps at most {LOG_KEEP} lines"));
        }
        Ok(())
    }
}

/// How a `jobs` event may be conflated for a reader that is behind: a newer event of the same
/// job supersedes it (events carry whole states), unless it is the job's final state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersede {
    /// The job's id.
    pub key: Box<str>,
    /// A final state: never skipped, though it supersedes older ones.
    pub last_word: bool,
}

impl Supersede {
    /// Reads the job id and status of a `jobs` event's data (`None` if they are missing).
    pub fn of(data: &str) -> Option<Supersede> {
        #[derive(Deserialize)]
        struct Key<'a> {
            #[serde(borrow)]
            id: std::borrow::Cow<'a, str>,
            status: JobStatus,
        }
        let key: Key = serde_json::from_str(data).ok()?;
        Some(Supersede {
            key: key.id.into(),
            last_word: key.status.is_final(),
        })
    }
}

/// The jobs the page shows: every queued and running job, and the newest finished ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobsState {
    pub jobs: BTreeMap<String, Job>,
}

impl ViewState for JobsState {
    type Event = Job;
    const TOPIC: BuiltIn = BuiltIn::Jobs;

    /// Replaces the job by id (events carry whole states), then drops the oldest finished
    /// jobs beyond [`KEEP_FINISHED`].
    fn apply(&mut self, _id: EventId, job: &Job) -> Changed {
        let before = self.keys();
        self.put(job);
        let order = self.keys() != before;
        Changed::row(&job.id, order)
    }
}

impl KeyedState for JobsState {
    type Row = Job;

    /// Running and queued first, then finished ones newest first (see [`JobsState::ordered`]).
    fn keys(&self) -> Vec<String> {
        self.ordered().into_iter().map(|j| j.id.clone()).collect()
    }

    fn row(&self, key: &str) -> Option<&Job> {
        self.jobs.get(key)
    }
}

impl JobsState {
    /// Fills in jobs the event history no longer holds (from the jobs table, after a restart);
    /// a job the state already has is newer here.
    pub fn backfill(&mut self, stored: &[Job]) {
        for job in stored {
            if !self.jobs.contains_key(&job.id) {
                self.put(job);
            }
        }
    }

    fn put(&mut self, job: &Job) {
        self.jobs.insert(job.id.clone(), job.clone());
        let finished = self.jobs.values().filter(|j| j.status.is_final()).count();
        if finished > KEEP_FINISHED {
            let mut done: Vec<(i64, String)> = self
                .jobs
                .values()
                .filter(|j| j.status.is_final())
                .map(|j| (j.finished_ms.unwrap_or(j.updated_ms), j.id.clone()))
                .collect();
            done.sort();
            for (_, id) in done.into_iter().take(finished - KEEP_FINISHED) {
                self.jobs.remove(&id);
            }
        }
    }

    /// Running and queued first (oldest first, they have been waiting longest), then finished
    /// ones newest first: the order of the page.
    pub fn ordered(&self) -> Vec<&Job> {
        let mut v: Vec<&Job> = self.jobs.values().collect();
        v.sort_by(|a, b| {
            let rank = |j: &Job| match j.status {
                JobStatus::Running => 0,
                JobStatus::Queued => 1,
                _ => 2,
            };
            rank(a).cmp(&rank(b)).then_with(|| {
                if a.status.is_final() {
                    b.finished_ms.cmp(&a.finished_ms)
                } else {
                    a.created_ms.cmp(&b.created_ms)
                }
            })
        });
        v
    }

    pub fn running(&self) -> usize {
        self.jobs
            .values()
            .filter(|j| j.status == JobStatus::Running)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(total: Option<i64>) -> Job {
        Job::new("j1".into(), "Nightly export", total, JobKind::External, 0).unwrap()
    }

    fn at(step: i64) -> Report {
        Report {
            step: Some(step),
            ..Report::default()
        }
    }

    #[test]
    fn eta_follows_a_steady_rate_and_appears_only_once_it_means_something() {
        // 10 steps per second, reported every second from t = 0.
        let mut j = job(Some(1000));
        j = j.report(&at(0), 0).unwrap();
        j = j.report(&at(10), 1000).unwrap();
        assert_eq!(
            j.eta_secs, None,
            "one move in one second is not enough to promise"
        );
        j = j.report(&at(20), 2000).unwrap();
        assert_eq!(j.eta_secs, None);
        j = j.report(&at(30), 3000).unwrap();
        assert!((j.rate - 10.0).abs() < 1e-9, "rate {}", j.rate);
        assert_eq!(j.eta_secs, Some(97.0));
        assert_eq!(j.percentage(), Some(3.0));
    }

    #[test]
    fn the_rate_follows_a_slowdown_within_seconds_not_the_average_since_start() {
        let mut j = job(Some(10_000));
        let mut t = 0;
        j = j.report(&at(0), t).unwrap();
        // 100 steps/s for 60 s ...
        for s in 1..=60 {
            t += 1000;
            j = j.report(&at(s * 100), t).unwrap();
        }
        assert!((j.rate - 100.0).abs() < 1e-6);
        // ... then 10 steps/s for 30 s (3 time constants).
        let base = j.step as i64;
        for s in 1..=30 {
            t += 1000;
            j = j.report(&at(base + s * 10), t).unwrap();
        }
        // The average since start would say ~70/s; the moving average is near the new pace.
        assert!(
            j.rate < 15.0,
            "rate {} still remembers the fast phase",
            j.rate
        );
        let left = (10_000 - j.step) as f64;
        let eta = j.eta_secs.unwrap();
        assert!((eta - left / j.rate).abs() < 0.1);
        assert!(eta > left / 15.0, "ETA {eta} trusts the old pace");
    }

    #[test]
    fn time_spent_queued_is_not_progress_the_first_report_is_the_baseline() {
        // Created at 0, first report 10 ms later already at step 60 (made long before, or in
        // a burst): then 100 steps per second, reported every 600 ms.
        let mut j = job(Some(1200));
        j = j.report(&at(60), 10).unwrap();
        assert_eq!((j.rate, j.eta_secs), (0.0, None), "no rate from one report");
        assert_eq!(j.started_ms, Some(10));
        let mut t = 10;
        for i in 1..=6 {
            t += 600;
            j = j.report(&at(60 + i * 60), t).unwrap();
        }
        assert!((j.rate - 100.0).abs() < 1e-6, "rate {}", j.rate);
        let eta = j.eta_secs.expect("an ETA after 6 moves over 3.6 s");
        assert!((eta - 7.8).abs() < 0.11, "ETA {eta}");
    }

    #[test]
    fn a_finished_job_shows_its_average_rate_over_the_whole_run() {
        let mut j = job(Some(100)).report(&at(0), 0).unwrap();
        j = j.report(&at(50), 1_000).unwrap();
        j = j
            .report(
                &Report {
                    status: Some("completed".into()),
                    ..Report::default()
                },
                4_000,
            )
            .unwrap();
        assert_eq!(j.step, 100);
        assert!((j.rate - 25.0).abs() < 1e-9, "100 steps in 4 s: {}", j.rate);
        // Too short a run to average.
        let quick = job(Some(10)).report(&at(10), 5).unwrap();
        let quick = quick
            .report(
                &Report {
                    status: Some("completed".into()),
                    ..Report::default()
                },
                300,
            )
            .unwrap();
        assert_eq!(quick.rate, 0.0);
    }

    #[test]
    fn reports_are_checked_and_a_bad_one_changes_nothing() {
        let j = job(Some(100)).report(&at(5), 10).unwrap();
        for (r, what) in [
            (at(-1), "0 or more"),
            (at(101), "past the total"),
            (
                Report {
                    total: Some(0),
                    ..Report::default()
                },
                "positive",
            ),
            (
                Report {
                    status: Some("done".into()),
                    ..Report::default()
                },
                "completed",
            ),
        ] {
            let e = j.report(&r, 20).unwrap_err();
            assert!(e.to_string().contains(what), "{e}");
        }
        let done = j
            .report(
                &Report {
                    status: Some("completed".into()),
                    ..Report::default()
                },
                30,
            )
            .unwrap();
        assert_eq!(done.status, JobStatus::Completed);
        assert_eq!(done.step, 100, "completed means all steps");
        assert_eq!(
            done.report(&at(1), 40).unwrap_err(),
            JobError::Finished(JobStatus::Completed)
        );
    }

    #[test]
    fn log_keeps_the_newest_lines_and_counts_all() {
        let mut j = job(None);
        for i in 0..3 {
            let lines: Vec<String> = (0..100).map(|n| format!("{i}:{n}")).collect();
            j = j
                .report(
                    &Report {
                        log: lines,
                        ..Report::default()
                    },
                    i,
                )
                .unwrap();
        }
        assert_eq!(j.log.len(), LOG_KEEP);
        assert_eq!(j.log_total, 300);
        assert_eq!(j.log.last().unwrap(), "2:99");
        assert_eq!(j.percentage(), None, "indeterminate");
    }

    #[test]
    fn state_keeps_every_running_job_and_the_newest_finished() {
        let mut s = JobsState::default();
        for i in 0..(KEEP_FINISHED as i64 + 10) {
            let mut j = Job::new(format!("f{i}"), "x", None, JobKind::External, i).unwrap();
            j.finish(JobStatus::Completed, i);
            s.apply(EventId::new(1), &j);
        }
        let running = job(Some(5)).report(&at(1), 1).unwrap();
        s.apply(EventId::new(2), &running);
        assert_eq!(s.jobs.len(), KEEP_FINISHED + 1);
        assert!(!s.jobs.contains_key("f0"), "oldest finished dropped");
        assert_eq!(s.ordered()[0].id, "j1", "running first");
        assert_eq!(s.ordered()[1].id, format!("f{}", KEEP_FINISHED + 9));
    }
}
