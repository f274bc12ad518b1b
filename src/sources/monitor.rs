//! The host sampler: reads the real machine with `sysinfo` every `--monitor-interval-ms`, adds
//! the hub's own figures, and publishes one [`Sample`] to `monitor`. It also watches CPU and
//! memory against `--alert-cpu` / `--alert-memory` and sends a notification when one stays high.
//!
//! Rates (disk, network, events) are computed here from cumulative counters and the time
//! between readings, so a late tick gives a correct rate rather than a spike.

use std::collections::HashSet;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use sysinfo::{
    CpuRefreshKind, Disks, MemoryRefreshKind, Networks, ProcessRefreshKind, ProcessesToUpdate,
    System,
};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::event::monitor::HubFigures;
use crate::event::notifications::Level;
use crate::event::BuiltIn;
use crate::event::{NewNotice, Sample};
use crate::hub::Hub;

/// Readings in a row above a threshold before an alert (so one busy moment is not an alert).
const ALERT_AFTER: u32 = 3;
/// Points below the threshold a figure must fall before the alert can fire again.
const ALERT_HYSTERESIS: f64 = 5.0;

pub struct Sampler {
    period: Duration,
    alerts: Alerts,
    /// Which instance's host this is, on every sample.
    instance: Option<String>,
}

impl Sampler {
    /// `Ok(None)` when the interval is 0 (sampler off).
    pub fn from_config(config: &Config) -> Result<Option<Sampler>, String> {
        // Every flag is checked even with the sampler off, so a typo does not wait to surface
        // until the day someone turns it on.
        for (flag, v) in [
            ("--alert-cpu", config.alert_cpu),
            ("--alert-memory", config.alert_memory),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= 100.0) {
                return Err(format!(
                    "{flag} {v} must be a percentage above 0, at most 100"
                ));
            }
        }
        let ms = config.monitor_interval_ms;
        if ms == 0 {
            return Ok(None);
        }
        if !(250..=60_000).contains(&ms) {
            return Err(format!(
                "--monitor-interval-ms {ms} must be 0 (off) or between 250 and 60000"
            ));
        }
        Ok(Some(Sampler {
            period: Duration::from_millis(ms),
            alerts: Alerts::new(config.alert_cpu, config.alert_memory),
            instance: None,
        }))
    }

    /// Labels every sample with this instance's name.
    pub fn set_instance(&mut self, name: &str) {
        self.instance = Some(name.to_owned());
    }

    pub async fn run(mut self, hub: Hub, stop: CancellationToken) {
        let monitor = BuiltIn::Monitor.topic();
        let notifications = BuiltIn::Notifications.topic();
        // Reading /proc takes a few milliseconds: done on the blocking pool, not a runtime worker.
        let mut host = match tokio::task::spawn_blocking(Host::new).await {
            Ok(Ok(host)) => host,
            Ok(Err(e)) => {
                tracing::warn!("monitor: cannot read this host ({e}); the sampler is off");
                return;
            }
            Err(_) => return,
        };
        let mut events = EventRates::new(&hub);
        // The first reading comes one period after the baseline, so CPU use and every rate
        // cover a real interval (an immediate first tick would divide by almost nothing).
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + self.period, self.period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let Ok((back, mut sample)) = tokio::task::spawn_blocking(move || {
                let s = host.read();
                (host, s)
            })
            .await
            else {
                return;
            };
            host = back;
            sample.hub = Some(events.read(&hub));
            sample.instance.clone_from(&self.instance);
            for notice in self.alerts.check(sample.cpu, sample.mem_pct()) {
                let data = serde_json::to_string(&notice).expect("a notice always serializes");
                if super::stopped(hub.publish(notifications.clone(), data).await) {
                    return;
                }
            }
            let data = serde_json::to_string(&sample).expect("a sample always serializes");
            if super::stopped(hub.publish(monitor.clone(), data).await) {
                return; // shutting down
            }
        }
    }
}

/// The sysinfo handles, kept between readings (CPU use and I/O are deltas between refreshes).
struct Host {
    sys: System,
    disks: Disks,
    networks: Networks,
    last: Instant,
    disk_io: (u64, u64),
    net_io: (u64, u64),
}

impl Host {
    fn new() -> Result<Host, String> {
        let mut sys = System::new().map_err(|e| e.to_string())?;
        sys.refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        let disks = Disks::new_with_refreshed_list().map_err(|e| e.to_string())?;
        let networks = Networks::new_with_refreshed_list().map_err(|e| e.to_string())?;
        let mut host = Host {
            sys,
            disks,
            networks,
            last: Instant::now(),
            disk_io: (0, 0),
            net_io: (0, 0),
        };
        host.disk_io = host.disk_totals();
        host.net_io = host.net_totals();
        Ok(host)
    }

    /// Cumulative bytes (read, written) over distinct devices: a device mounted twice counts once.
    fn disk_totals(&self) -> (u64, u64) {
        let mut seen = HashSet::new();
        self.disks
            .iter()
            .filter(|d| seen.insert(d.name().to_owned()))
            .map(|d| d.usage())
            .fold((0, 0), |(r, w), u| {
                (r + u.total_read_bytes, w + u.total_written_bytes)
            })
    }

    fn net_totals(&self) -> (u64, u64) {
        self.networks
            .iter()
            .filter(|(name, _)| name.as_os_str() != "lo")
            .fold((0, 0), |(rx, tx), (_, n)| {
                (rx + n.total_received(), tx + n.total_transmitted())
            })
    }

    fn read(&mut self) -> Sample {
        self.sys
            .refresh_cpu_specifics(CpuRefreshKind::nothing().with_usage());
        self.sys
            .refresh_memory_specifics(MemoryRefreshKind::everything());
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing(),
        );
        self.disks.refresh(true);
        self.networks.refresh(true);
        let now = Instant::now();
        let secs = now.duration_since(self.last).as_secs_f64().max(1e-3);
        self.last = now;
        let disk = self.disk_totals();
        let net = self.net_totals();
        let per_sec = |now: u64, before: u64| (now.saturating_sub(before) as f64 / secs).round();
        let sample_disk = (
            per_sec(disk.0, self.disk_io.0),
            per_sec(disk.1, self.disk_io.1),
        );
        let sample_net = (per_sec(net.0, self.net_io.0), per_sec(net.1, self.net_io.1));
        self.disk_io = disk;
        self.net_io = net;
        let mut seen = HashSet::new();
        let (disk_total, disk_free) = self
            .disks
            .iter()
            .filter(|d| seen.insert(d.name().to_owned()))
            .fold((0u64, 0u64), |(t, f), d| {
                (t + d.total_space(), f + d.available_space())
            });
        let load = System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]);
        // One decimal for percentages and whole bytes for rates: what the page shows, and a
        // payload a third the size.
        let clamp = |v: f32| (f64::from(v).clamp(0.0, 100.0) * 10.0).round() / 10.0;
        let mem_total = self.sys.total_memory();
        let swap_total = self.sys.total_swap();
        Sample {
            cpu: clamp(self.sys.global_cpu_usage()),
            cores: self.sys.cpus().iter().map(|c| clamp(c.usage())).collect(),
            mem_used: self.sys.used_memory().min(mem_total),
            mem_total,
            swap_used: self.sys.used_swap().min(swap_total),
            swap_total,
            disk_used: disk_total.saturating_sub(disk_free),
            disk_total,
            disk_read: sample_disk.0,
            disk_write: sample_disk.1,
            net_rx: sample_net.0,
            net_tx: sample_net.1,
            load: load.map(|l| if l.is_finite() { l.max(0.0) } else { 0.0 }),
            processes: self.sys.processes().len() as u64,
            uptime: System::uptime().unwrap_or(0),
            hub: None,
            instance: None,
            at: Some(crate::event::now_ms()),
        }
    }
}

/// Events per second in and out of the hub, from its counters.
struct EventRates {
    last: Instant,
    published: u64,
    delivered: u64,
}

impl EventRates {
    fn new(hub: &Hub) -> EventRates {
        let s = hub.stats();
        EventRates {
            last: Instant::now(),
            published: s.published.load(Relaxed),
            delivered: s.delivered.load(Relaxed),
        }
    }

    fn read(&mut self, hub: &Hub) -> HubFigures {
        let s = hub.stats();
        let (subscribers, history, _) = hub.gauges();
        let now = Instant::now();
        let secs = now.duration_since(self.last).as_secs_f64().max(1e-3);
        let published = s.published.load(Relaxed);
        let delivered = s.delivered.load(Relaxed);
        let figures = HubFigures {
            subscribers: subscribers as u64,
            events_in: round1(published.saturating_sub(self.published) as f64 / secs),
            events_out: round1(delivered.saturating_sub(self.delivered) as f64 / secs),
            lagged: s.lagged.load(Relaxed),
            resets: s.resets.load(Relaxed),
            history: history as u64,
        };
        self.last = now;
        self.published = published;
        self.delivered = delivered;
        figures
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Threshold alerts with a debounce ([`ALERT_AFTER`] readings) and hysteresis: one notice per
/// episode, re-armed only once the figure has clearly come back down.
#[derive(Debug)]
pub struct Alerts {
    cpu: Watch,
    mem: Watch,
}

#[derive(Debug)]
struct Watch {
    threshold: f64,
    above: u32,
    fired: bool,
}

impl Watch {
    fn check(&mut self, v: f64) -> bool {
        if v >= self.threshold {
            self.above += 1;
        } else {
            self.above = 0;
            if v < self.threshold - ALERT_HYSTERESIS {
                self.fired = false;
            }
        }
        if self.above >= ALERT_AFTER && !self.fired {
            self.fired = true;
            return true;
        }
        false
    }
}

impl Alerts {
    pub fn new(cpu: f64, mem: f64) -> Alerts {
        let watch = |threshold| Watch {
            threshold,
            above: 0,
            fired: false,
        };
        Alerts {
            cpu: watch(cpu),
            mem: watch(mem),
        }
    }

    /// The notices this reading triggers.
    pub fn check(&mut self, cpu: f64, mem: f64) -> Vec<NewNotice> {
        let mut out = Vec::new();
        if self.cpu.check(cpu) {
            out.push(alert(
                format!("CPU high: {cpu:.0}%"),
                format!(
                    "CPU use has been at or above {:.0}% for {ALERT_AFTER} readings in a row.",
                    self.cpu.threshold
                ),
            ));
        }
        if self.mem.check(mem) {
            out.push(alert(
                format!("Memory high: {mem:.0}%"),
                format!(
                    "Memory use has been at or above {:.0}% for {ALERT_AFTER} readings in a row.",
                    self.mem.threshold
                ),
            ));
        }
        out
    }
}

fn alert(title: String, body: String) -> NewNotice {
    NewNotice {
        level: Level::Warning,
        title,
        body,
        source: Some("monitor".into()),
        link: Some("/monitor".into()),
        at: Some(crate::event::now_ms()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Payload;

    #[test]
    fn alerts_fire_once_per_episode_after_a_debounce() {
        let mut a = Alerts::new(90.0, 80.0);
        assert!(a.check(95.0, 10.0).is_empty());
        assert!(a.check(95.0, 10.0).is_empty());
        let fired = a.check(97.0, 10.0);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].title, "CPU high: 97%");
        assert_eq!(fired[0].level, Level::Warning);
        for _ in 0..10 {
            assert!(a.check(99.0, 10.0).is_empty(), "still the same episode");
        }
        // Dipping just under the threshold does not re-arm; falling clearly below does.
        for _ in 0..3 {
            a.check(88.0, 10.0);
        }
        assert!((0..3).all(|_| a.check(95.0, 10.0).is_empty()));
        a.check(50.0, 10.0);
        let again: Vec<_> = (0..3).flat_map(|_| a.check(95.0, 10.0)).collect();
        assert_eq!(again.len(), 1);
        let mem: Vec<_> = (0..3).flat_map(|_| a.check(10.0, 85.0)).collect();
        assert_eq!(mem.len(), 1);
        assert!(mem[0].title.starts_with("Memory high"));
    }

    #[test]
    fn flags_are_checked_even_when_the_sampler_is_off() {
        use clap::Parser;
        let config = |args: &[&str]| Config::parse_from([&["pulse"], args].concat());
        let off = Sampler::from_config(&config(&["--monitor-interval-ms", "0"]));
        assert!(off.unwrap().is_none());
        let bad = ["--monitor-interval-ms", "0", "--alert-cpu", "150"];
        let err = Sampler::from_config(&config(&bad)).err().unwrap();
        assert!(err.contains("--alert-cpu 150"), "{err}");
        let fast = ["--monitor-interval-ms", "10"];
        let err = Sampler::from_config(&config(&fast)).err().unwrap();
        assert!(err.contains("between 250 and 60000"), "{err}");
    }

    #[test]
    fn reads_this_host() {
        let mut host = Host::new().expect("sysinfo works here");
        std::thread::sleep(Duration::from_millis(200));
        let s = host.read();
        assert!(s.mem_total > 0 && s.mem_used <= s.mem_total);
        assert!(!s.cores.is_empty());
        assert!(s.processes > 0);
        serde_json::to_string(&s)
            .map(|j| Sample::parse(&j).expect("the sampler's own output validates"))
            .unwrap();
    }
}
