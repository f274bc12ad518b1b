//! Chart history the server keeps for the monitor, downsampled so a day fits in a few hundred
//! points per range: one [`Tier`] per [`Range`], each a row of fixed-width time buckets that
//! remember the min, max and mean of every series over their width.
//!
//! | range  | bucket | buckets kept (at most) |
//! |--------|--------|------------------------|
//! | 5 min  | 1 s    | 301                    |
//! | 1 h    | 30 s   | 121                    |
//! | 24 h   | 10 min | 145                    |
//!
//! A bucket starts on a multiple of its width (UTC), so the server and a browser folding the
//! same samples get the same buckets. Keeping the max (not only the mean) is what lets a one
//! second spike still show on the 24 h chart. Buckets older than the range before the newest
//! one are dropped, so each tier's length is bounded by `span / width + 1` whatever the rate of
//! samples. Time without samples has no bucket: [`segments`] splits a line at such gaps.
//!
//! Pure: the hub folds every committed monitor event into a [`MonitorHistory`], and the browser
//! folds live samples into the [`Tier`] it was served with the same [`Tier::push`].

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::monitor::Sample;

/// A time range a chart can show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Range {
    #[default]
    #[serde(rename = "5m")]
    FiveMinutes,
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "24h")]
    Day,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::FiveMinutes, Range::Hour, Range::Day];

    /// The name used in URLs (`?range=1h`) and the API.
    pub fn name(self) -> &'static str {
        match self {
            Range::FiveMinutes => "5m",
            Range::Hour => "1h",
            Range::Day => "24h",
        }
    }

    /// What a reader sees on the range switch.
    pub fn label(self) -> &'static str {
        match self {
            Range::FiveMinutes => "5 min",
            Range::Hour => "1 h",
            Range::Day => "24 h",
        }
    }

    pub fn parse(s: &str) -> Option<Range> {
        Range::ALL.into_iter().find(|r| r.name() == s)
    }

    /// How much time the range covers, in ms.
    pub fn span_ms(self) -> i64 {
        match self {
            Range::FiveMinutes => 5 * MINUTE,
            Range::Hour => 60 * MINUTE,
            Range::Day => 24 * 60 * MINUTE,
        }
    }

    /// The width of one bucket of this range's tier, in ms.
    pub fn bucket_ms(self) -> i64 {
        match self {
            Range::FiveMinutes => 1_000,
            Range::Hour => 30_000,
            Range::Day => 10 * MINUTE,
        }
    }

    fn index(self) -> usize {
        match self {
            Range::FiveMinutes => 0,
            Range::Hour => 1,
            Range::Day => 2,
        }
    }
}

const MINUTE: i64 = 60_000;

/// Several series over one bucket of time. `min`, `max` and `mean` hold one value per series,
/// in the order the tier's owner pushes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Start of the bucket, ms since the Unix epoch (UTC), a multiple of the tier's width.
    pub at: i64,
    /// Samples folded in.
    pub n: u32,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    pub mean: Vec<f64>,
}

impl Bucket {
    fn new(at: i64, values: &[f64]) -> Bucket {
        Bucket {
            at,
            n: 1,
            min: values.to_vec(),
            max: values.to_vec(),
            mean: values.to_vec(),
        }
    }

    fn fold(&mut self, values: &[f64]) {
        self.n = self.n.saturating_add(1);
        let n = f64::from(self.n);
        for (i, v) in values.iter().enumerate().take(self.mean.len()) {
            self.min[i] = self.min[i].min(*v);
            self.max[i] = self.max[i].max(*v);
            self.mean[i] += (v - self.mean[i]) / n;
        }
    }
}

/// One range's buckets, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tier {
    pub range: Range,
    pub buckets: VecDeque<Bucket>,
}

impl Tier {
    pub fn new(range: Range) -> Tier {
        Tier {
            range,
            buckets: VecDeque::new(),
        }
    }

    /// The most buckets this tier ever holds.
    pub fn capacity(&self) -> usize {
        (self.range.span_ms() / self.range.bucket_ms()) as usize + 1
    }

    /// Folds values sampled at `at` (ms since the epoch) into their bucket. A sample older than
    /// the range before the newest bucket is ignored; one between existing buckets (a publisher
    /// with its own clock) lands in its place, so the buckets stay in time order.
    pub fn push(&mut self, at: i64, values: &[f64]) {
        let width = self.range.bucket_ms();
        let start = at.div_euclid(width) * width;
        let newest = self.buckets.back().map(|b| b.at);
        match newest {
            Some(n) if start == n => {
                if let Some(b) = self.buckets.back_mut() {
                    b.fold(values);
                }
            }
            Some(n) if start < n => {
                if start <= n - self.range.span_ms() {
                    return;
                }
                match self.buckets.binary_search_by_key(&start, |b| b.at) {
                    Ok(i) => self.buckets[i].fold(values),
                    Err(i) => self.buckets.insert(i, Bucket::new(start, values)),
                }
            }
            _ => self.buckets.push_back(Bucket::new(start, values)),
        }
        let newest = self.buckets.back().map_or(start, |b| b.at);
        let oldest_kept = newest - self.range.span_ms();
        while self.buckets.front().is_some_and(|b| b.at < oldest_kept) {
            self.buckets.pop_front();
        }
    }

    /// The start of the newest bucket, if any.
    pub fn newest(&self) -> Option<i64> {
        self.buckets.back().map(|b| b.at)
    }
}

/// The monitor's series, in the order each [`Bucket`] holds them.
pub const MONITOR_SERIES: [&str; 8] = [
    "cpu",
    "mem",
    "net_rx",
    "net_tx",
    "disk_read",
    "disk_write",
    "events_in",
    "events_out",
];

/// The values of one sample, in [`MONITOR_SERIES`] order.
pub fn monitor_values(s: &Sample) -> [f64; 8] {
    let hub = s.hub.clone().unwrap_or_default();
    [
        s.cpu,
        s.mem_pct(),
        s.net_rx,
        s.net_tx,
        s.disk_read,
        s.disk_write,
        hub.events_in,
        hub.events_out,
    ]
}

/// Every range's tier for the monitor, fed by every monitor sample.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorHistory {
    tiers: [Tier; 3],
}

impl Default for MonitorHistory {
    fn default() -> Self {
        MonitorHistory {
            tiers: Range::ALL.map(Tier::new),
        }
    }
}

impl MonitorHistory {
    /// Folds `s` in at `at` (the sample's own time, or its event's when it has none).
    pub fn push(&mut self, at: i64, s: &Sample) {
        let values = monitor_values(s);
        for t in &mut self.tiers {
            t.push(at, &values);
        }
    }

    pub fn tier(&self, range: Range) -> &Tier {
        &self.tiers[range.index()]
    }
}

/// A tier as served to a page: current to event `through`, so the browser folds in only the
/// samples that came after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryView {
    pub through: u64,
    pub tier: Tier,
}

/// Index ranges of `times` (ascending) between gaps: a gap is a step longer than three times
/// the typical (median) step and than two bucket widths, so a stopped sampler or a server that
/// was down breaks the line instead of drawing a straight bridge over the time nothing was known.
pub fn segments(times: &[i64], width: i64) -> Vec<std::ops::Range<usize>> {
    if times.is_empty() {
        return vec![];
    }
    let mut steps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    steps.sort_unstable();
    let typical = steps.get(steps.len() / 2).copied().unwrap_or(width);
    let limit = (typical * 3).max(width * 2);
    let mut out = vec![];
    let mut start = 0;
    for (i, pair) in times.windows(2).enumerate() {
        if pair[1] - pair[0] > limit {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    out.push(start..times.len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000_000; // a multiple of 10 min

    #[test]
    fn samples_fall_into_buckets_aligned_on_their_width() {
        let mut t = Tier::new(Range::Hour);
        t.push(T0, &[1.0]);
        t.push(T0 + 29_999, &[3.0]);
        t.push(T0 + 30_000, &[10.0]);
        let b: Vec<_> = t.buckets.iter().collect();
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].at, b[0].n), (T0, 2));
        assert_eq!((b[0].min[0], b[0].max[0], b[0].mean[0]), (1.0, 3.0, 2.0));
        assert_eq!((b[1].at, b[1].n, b[1].mean[0]), (T0 + 30_000, 1, 10.0));
        // A sample just before T0 belongs to the bucket before, not to T0's.
        t.push(T0 - 1, &[5.0]);
        assert_eq!(t.buckets[0].at, T0 - 30_000);
        assert_eq!(t.buckets.len(), 3);
    }

    #[test]
    fn a_day_of_samples_every_two_seconds_stays_bounded() {
        let mut h = MonitorHistory::default();
        let s = Sample {
            cpu: 10.0,
            mem_used: 1,
            mem_total: 2,
            ..Sample::default()
        };
        for i in 0..(2 * 24 * 3600 / 2) {
            h.push(T0 + i * 2_000, &s);
        }
        for r in Range::ALL {
            let t = h.tier(r);
            assert!(
                t.buckets.len() <= t.capacity(),
                "{r:?}: {}",
                t.buckets.len()
            );
            let span = t.newest().unwrap() - t.buckets[0].at;
            assert!(span <= r.span_ms(), "{r:?} covers {span} ms");
            if r != Range::FiveMinutes {
                // Wider buckets than the sampling interval: every one is filled.
                assert!(t.buckets.len() >= t.capacity() - 1, "{r:?} full");
            }
        }
        assert_eq!(h.tier(Range::FiveMinutes).buckets.len(), 151);
        assert_eq!(h.tier(Range::Day).buckets.len(), 145);
        assert_eq!(h.tier(Range::Hour).buckets[0].mean[1], 50.0);
    }

    #[test]
    fn a_one_second_spike_survives_as_the_max_of_its_day_bucket() {
        let mut h = MonitorHistory::default();
        let quiet = Sample {
            cpu: 2.0,
            ..Sample::default()
        };
        for i in 0..300 {
            let cpu = if i == 123 { 99.0 } else { 2.0 };
            h.push(
                T0 + i * 2_000,
                &Sample {
                    cpu,
                    ..quiet.clone()
                },
            );
        }
        let day = &h.tier(Range::Day).buckets[0];
        assert_eq!(day.n, 300);
        assert_eq!(day.max[0], 99.0);
        assert_eq!(day.min[0], 2.0);
        assert!(day.mean[0] < 3.0, "mean {}", day.mean[0]);
    }

    #[test]
    fn late_samples_land_in_place_and_too_old_ones_are_dropped() {
        let mut t = Tier::new(Range::FiveMinutes);
        t.push(T0, &[1.0]);
        t.push(T0 + 4_000, &[3.0]);
        t.push(T0 + 2_000, &[2.0]);
        let at: Vec<_> = t.buckets.iter().map(|b| b.at).collect();
        assert_eq!(at, [T0, T0 + 2_000, T0 + 4_000]);
        t.push(T0 - 10 * 60_000, &[7.0]);
        assert_eq!(t.buckets.len(), 3);
        // A sample far ahead pushes everything older than five minutes before it out.
        t.push(T0 + 5 * 60_000 + 3_000, &[9.0]);
        let at: Vec<_> = t.buckets.iter().map(|b| b.at).collect();
        assert_eq!(at, [T0 + 4_000, T0 + 303_000]);
    }

    #[test]
    fn lines_break_at_gaps_not_at_regular_steps() {
        assert!(segments(&[], 1_000).is_empty());
        assert_eq!(segments(&[5], 1_000), vec![0..1]);
        // Every two seconds, then nothing for a minute, then every two seconds again.
        let times = [0, 2_000, 4_000, 6_000, 66_000, 68_000, 70_000];
        assert_eq!(segments(&times, 1_000), vec![0..4, 4..7]);
        // A slower sampler (every 10 s) is not a gap.
        let slow = [0, 10_000, 20_000, 30_000];
        assert_eq!(segments(&slow, 1_000), vec![0..4]);
    }

    #[test]
    fn ranges_round_trip_through_their_url_names() {
        for r in Range::ALL {
            assert_eq!(Range::parse(r.name()), Some(r));
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.name())
            );
        }
        assert_eq!(Range::parse("2h"), None);
    }
}
