//! The single writer: takes publish commands in arrival order, gives them ids, writes each batch
//! to the log in one transaction (group commit), then commits it to the hub and acknowledges.
//!
//! It runs on its own OS thread because the log's calls block (SQLite fsync); keeping them off
//! the async runtime means a slow disk slows publishers, never streams.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use super::core::{Core, Event};
use super::log::{EventLog, StoredEvent};
use super::PublishError;
use crate::event::Topic;

/// The most publishes written in one transaction.
const MAX_BATCH: usize = 1024;

/// How often (in batches) retention runs.
const TRIM_EVERY: u64 = 64;

pub enum Command {
    Publish {
        topic: Topic,
        data: String,
        ack: oneshot::Sender<Result<u64, PublishError>>,
    },
    /// Finish everything queued before this, close the log, then answer.
    Stop(oneshot::Sender<()>),
}

pub fn spawn(
    log: Box<dyn EventLog>,
    commands: mpsc::Receiver<Command>,
    core: Arc<Core>,
    last_id: u64,
    keep: usize,
) {
    std::thread::Builder::new()
        .name("pulse-sequencer".into())
        .spawn(move || run(log, commands, core, last_id, keep))
        .expect("the OS refused to start the sequencer thread");
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn run(
    mut log: Box<dyn EventLog>,
    mut commands: mpsc::Receiver<Command>,
    core: Arc<Core>,
    mut last_id: u64,
    keep: usize,
) {
    let mut batches = 0u64;
    let mut stop = None;
    while stop.is_none() {
        let Some(first) = commands.blocking_recv() else {
            break;
        };
        let mut pending = Vec::new();
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Command::Publish { topic, data, ack } => pending.push((topic, data, ack)),
                Command::Stop(done) => {
                    stop = Some(done);
                    break;
                }
            }
            if pending.len() < MAX_BATCH {
                next = commands.try_recv().ok();
            }
        }
        if pending.is_empty() {
            continue;
        }
        let at_ms = now_ms();
        let mut events = Vec::with_capacity(pending.len());
        let mut acks = Vec::with_capacity(pending.len());
        for (topic, data, ack) in pending {
            last_id += 1;
            events.push(Arc::new(Event::new(last_id, topic, data, at_ms)));
            acks.push(ack);
        }
        let stored: Vec<StoredEvent> = events.iter().map(|e| e.stored()).collect();
        match log.append(&stored) {
            Ok(()) => {
                core.commit(&events);
                for (ack, ev) in acks.into_iter().zip(&events) {
                    let _ = ack.send(Ok(ev.id));
                }
            }
            Err(e) => {
                tracing::error!(
                    "event log write failed, {} publishes refused: {e}",
                    acks.len()
                );
                core.stats
                    .storage_errors
                    .fetch_add(acks.len() as u64, std::sync::atomic::Ordering::Relaxed);
                for ack in acks {
                    let _ = ack.send(Err(PublishError::Storage(e.to_string())));
                }
            }
        }
        batches += 1;
        core.stats
            .batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if batches.is_multiple_of(TRIM_EVERY) && last_id > keep as u64 {
            if let Err(e) = log.trim(last_id - keep as u64) {
                tracing::warn!("event log retention failed (will retry): {e}");
            }
        }
    }
    // Refuse what is still queued, then close the log before answering Stop, so the caller
    // knows the file is flushed and closed.
    commands.close();
    while let Ok(cmd) = commands.try_recv() {
        if let Command::Publish { ack, .. } = cmd {
            let _ = ack.send(Err(PublishError::ShuttingDown));
        }
    }
    drop(log);
    if let Some(done) = stop {
        let _ = done.send(());
    }
}
