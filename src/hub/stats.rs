//! Counters the hub keeps for `/metrics` and the monitor view. Plain atomics: they are written
//! on every event, so no lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

#[derive(Default)]
pub struct Stats {
    /// Events acknowledged to publishers.
    pub published: AtomicU64,
    /// Event frames handed to subscriber queues (one per event per subscriber).
    pub delivered: AtomicU64,
    /// Events sent from the history on resume.
    pub replayed: AtomicU64,
    /// Subscribers cut off because their queue was full.
    pub lagged: AtomicU64,
    /// Resets sent because a resume id was outside the history.
    pub resets: AtomicU64,
    /// Batches written to the log (publishes / batches = the group-commit factor).
    pub batches: AtomicU64,
    /// Publishes refused because the log failed.
    pub storage_errors: AtomicU64,
    /// Events a slow reader skipped because a newer event of the same key (a job's newer
    /// state) was already queued behind them.
    pub conflated: AtomicU64,
    /// Subscriptions ever opened.
    pub subscribed: AtomicU64,
    /// Publish-to-acknowledge latency.
    pub ack_latency: Histogram,
}

/// Upper bounds (seconds) of the acknowledge-latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// A fixed-bucket histogram in the Prometheus style (cumulative on export).
#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add(d.as_micros() as u64, Relaxed);
    }

    /// (upper bound, cumulative count) per bucket, then the total count and the sum in seconds.
    pub fn read(&self) -> (Vec<(f64, u64)>, u64, f64) {
        let mut acc = 0;
        let buckets = LATENCY_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|(b, n)| {
                acc += n.load(Relaxed);
                (*b, acc)
            })
            .collect();
        (
            buckets,
            self.count.load(Relaxed),
            self.sum_micros.load(Relaxed) as f64 / 1e6,
        )
    }
}
