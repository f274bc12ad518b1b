//! The host monitor: one [`Sample`] every second or two from the sampler (or an external agent),
//! folded into [`MonitorState`]: the newest figures plus a few minutes of history per chart.

use serde::{Deserialize, Serialize};

use super::payload::Payload;
use super::topic::BuiltIn;
use super::view::{Changed, ViewState};
use super::EventId;

/// Points kept per chart: five minutes at the default two-second interval.
pub const SERIES_POINTS: usize = 150;

/// The most CPU cores a sample may list.
pub const MAX_CORES: usize = 1024;

/// The hub's own figures, sampled beside the host's so one page shows both sides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubFigures {
    /// Open streams right now.
    pub subscribers: u64,
    /// Events acknowledged per second since the previous sample.
    pub events_in: f64,
    /// Event frames queued to subscribers per second since the previous sample.
    pub events_out: f64,
    /// Subscribers cut off for lagging, since start.
    pub lagged: u64,
    /// Resets sent to resuming subscribers, since start.
    pub resets: u64,
    /// Events held for replay.
    pub history: u64,
}

/// One reading of the host, as published to `monitor`. Byte figures are bytes; rates are per
/// second; percentages are 0–100.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    /// Total CPU use across cores, percent.
    pub cpu: f64,
    /// CPU use per core, percent.
    #[serde(default)]
    pub cores: Vec<f64>,
    pub mem_used: u64,
    pub mem_total: u64,
    #[serde(default)]
    pub swap_used: u64,
    #[serde(default)]
    pub swap_total: u64,
    #[serde(default)]
    pub disk_used: u64,
    #[serde(default)]
    pub disk_total: u64,
    #[serde(default)]
    pub disk_read: f64,
    #[serde(default)]
    pub disk_write: f64,
    #[serde(default)]
    pub net_rx: f64,
    #[serde(default)]
    pub net_tx: f64,
    /// 1, 5 and 15 minute load averages.
    #[serde(default)]
    pub load: [f64; 3],
    #[serde(default)]
    pub processes: u64,
    /// Seconds since the host booted.
    #[serde(default)]
    pub uptime: u64,
    /// Present when the sample comes from Pulse's own sampler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<HubFigures>,
    /// The Pulse instance that sampled its host (`--instance`); absent from other publishers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// When the host was read, ms since the Unix epoch (UTC). Pulse's sampler always sets it;
    /// the server fills it in on publish when a publisher leaves it out. Events stored before
    /// it existed decode without it (their event's time stands in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

fn percent(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && (0.0..=100.0).contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "{name} is {v}; it must be a percentage from 0 to 100"
        ))
    }
}

fn rate(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(format!(
            "{name} is {v}; it must be a rate of 0 or more per second"
        ))
    }
}

fn part(name: &str, used: u64, total: u64) -> Result<(), String> {
    if used <= total {
        Ok(())
    } else {
        Err(format!(
            "{name}_used ({used}) is larger than {name}_total ({total})"
        ))
    }
}

impl Payload for Sample {
    const TOPIC: BuiltIn = BuiltIn::Monitor;

    fn check(&self) -> Result<(), String> {
        percent("cpu", self.cpu)?;
        if self
            .instance
            .as_ref()
            .is_some_and(|i| i.chars().count() > 64)
        {
            return Err("instance is longer than 64 characters".into());
        }
        if self.cores.len() > MAX_CORES {
            return Err(format!(
                "cores lists {} values; at most {MAX_CORES}",
                self.cores.len()
            ));
        }
        for (i, c) in self.cores.iter().enumerate() {
            percent(&format!("cores[{i}]"), *c)?;
        }
        part("mem", self.mem_used, self.mem_total)?;
        part("swap", self.swap_used, self.swap_total)?;
        part("disk", self.disk_used, self.disk_total)?;
        rate("disk_read", self.disk_read)?;
        rate("disk_write", self.disk_write)?;
        rate("net_rx", self.net_rx)?;
        rate("net_tx", self.net_tx)?;
        for (i, l) in self.load.iter().enumerate() {
            rate(&format!("load[{i}]"), *l)?;
        }
        if let Some(h) = &self.hub {
            rate("hub.events_in", h.events_in)?;
            rate("hub.events_out", h.events_out)?;
        }
        Ok(())
    }

    fn stamp(&mut self, now_ms: i64) {
        self.at.get_or_insert(now_ms);
    }
}

impl Sample {
    /// Memory in use, percent of the total (0 when the total is unknown).
    pub fn mem_pct(&self) -> f64 {
        ratio(self.mem_used, self.mem_total)
    }

    pub fn swap_pct(&self) -> f64 {
        ratio(self.swap_used, self.swap_total)
    }

    pub fn disk_pct(&self) -> f64 {
        ratio(self.disk_used, self.disk_total)
    }
}

fn ratio(used: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        used as f64 / total as f64 * 100.0
    }
}

/// The recent history each chart draws, oldest first, at most [`SERIES_POINTS`] each.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// When each point was sampled (ms since the Unix epoch; 0 where unknown), beside the values.
    #[serde(default)]
    pub at: Vec<i64>,
    pub cpu: Vec<f64>,
    pub mem: Vec<f64>,
    pub net_rx: Vec<f64>,
    pub net_tx: Vec<f64>,
    pub disk_read: Vec<f64>,
    pub disk_write: Vec<f64>,
    pub events_in: Vec<f64>,
    pub events_out: Vec<f64>,
}

/// What the monitor page shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorState {
    /// The newest sample; `None` until the first arrives.
    pub latest: Option<Sample>,
    pub series: Series,
    /// Samples folded in so far (shown, so a stalled sampler is visible).
    pub samples: u64,
}

fn push<T>(series: &mut Vec<T>, v: T) {
    if series.len() >= SERIES_POINTS {
        let excess = series.len() + 1 - SERIES_POINTS;
        series.drain(..excess);
    }
    series.push(v);
}

impl ViewState for MonitorState {
    type Event = Sample;
    const TOPIC: BuiltIn = BuiltIn::Monitor;

    fn apply(&mut self, _id: EventId, s: &Sample) -> Changed {
        let hub = s.hub.clone().unwrap_or_default();
        let sr = &mut self.series;
        push(&mut sr.at, s.at.unwrap_or(0));
        push(&mut sr.cpu, s.cpu);
        push(&mut sr.mem, s.mem_pct());
        push(&mut sr.net_rx, s.net_rx);
        push(&mut sr.net_tx, s.net_tx);
        push(&mut sr.disk_read, s.disk_read);
        push(&mut sr.disk_write, s.disk_write);
        push(&mut sr.events_in, hub.events_in);
        push(&mut sr.events_out, hub.events_out);
        self.latest = Some(s.clone());
        self.samples += 1;
        Changed::all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(cpu: f64) -> Sample {
        Sample {
            cpu,
            cores: vec![cpu, cpu],
            mem_used: 1,
            mem_total: 4,
            ..Sample::default()
        }
    }

    #[test]
    fn the_time_is_filled_on_publish_and_optional_in_old_events() {
        let old = Sample::parse(r#"{"cpu":1,"mem_used":1,"mem_total":2}"#).unwrap();
        assert_eq!(old.at, None);
        let out = crate::event::payload::normalize::<Sample>(
            serde_json::json!({"cpu":1,"mem_used":1,"mem_total":2}),
            42,
        )
        .unwrap();
        assert_eq!(Sample::parse(&out).unwrap().at, Some(42));
        let own = crate::event::payload::normalize::<Sample>(
            serde_json::json!({"cpu":1,"mem_used":1,"mem_total":2,"at":7}),
            42,
        )
        .unwrap();
        assert_eq!(Sample::parse(&own).unwrap().at, Some(7));
    }

    #[test]
    fn apply_keeps_latest_and_bounded_series() {
        let mut m = MonitorState::default();
        for i in 0..(SERIES_POINTS + 10) {
            let s = Sample {
                at: Some(i as i64),
                ..sample((i % 100) as f64)
            };
            m.apply(EventId::new(i as u64 + 1), &s);
        }
        assert_eq!(m.samples, (SERIES_POINTS + 10) as u64);
        assert_eq!(m.series.cpu.len(), SERIES_POINTS);
        assert_eq!(m.series.at.len(), SERIES_POINTS);
        assert_eq!(m.series.at.last(), Some(&((SERIES_POINTS + 9) as i64)));
        assert_eq!(m.series.cpu[0], 10.0);
        assert_eq!(m.series.mem.last(), Some(&25.0));
        assert_eq!(
            m.latest.as_ref().unwrap().cpu,
            ((SERIES_POINTS + 9) % 100) as f64
        );
    }

    #[test]
    fn samples_out_of_range_are_refused_with_the_field_named() {
        for (json, needle) in [
            (r#"{"cpu":101,"mem_used":1,"mem_total":2}"#, "cpu"),
            (
                r#"{"cpu":1,"cores":[1,-2],"mem_used":1,"mem_total":2}"#,
                "cores[1]",
            ),
            (r#"{"cpu":1,"mem_used":3,"mem_total":2}"#, "mem_used"),
            (
                r#"{"cpu":1,"mem_used":1,"mem_total":2,"net_rx":-1}"#,
                "net_rx",
            ),
            (r#"{"cpu":1,"mem_used":1,"mem_total":2,"cpus":1}"#, "cpus"),
        ] {
            let err = Sample::parse(json).unwrap_err().to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
        assert!(Sample::parse(r#"{"cpu":12.5,"mem_used":1,"mem_total":2}"#).is_ok());
    }
}
