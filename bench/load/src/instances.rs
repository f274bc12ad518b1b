//! `instances` (issue 8): one load process of `--parts`, each holding `--subscribers` streams on
//! one instance of a scaled-out Pulse (several processes because one holds at most 19,500
//! streams). Part 0 also publishes, event `i` on instance `i mod n` (the `--publish` URLs), so
//! every event must cross Redis to reach the other instances' subscribers.
//!
//! The processes meet through files in `--sync-dir` (written whole, then renamed, so a
//! reader never sees half a file):
//!
//! 1. every part opens its streams and writes `opened.K`;
//! 2. part 0, once all are opened, publishes one probe; every part waits until each of its
//!    streams has it (the streams are live, through Redis) and writes `ready.K`;
//! 3. part 0, once all are ready, publishes the run and writes `published`: the publish start
//!    time and which events were accepted;
//! 4. every part counts loss and duplicates per subscriber against those accepted events and
//!    prints its result, with its latencies as a mergeable histogram (`hist.rs`).
//!
//! Any part that fails writes `abort` with the reason; the others stop waiting. Every wait
//! ends by `--seconds` at the latest. Publish times come from `CLOCK_MONOTONIC`, one clock for
//! every process on the machine, so a latency measured in part 3 of an event stamped by part
//! 0 is a real publish→receive time. `bench/merge_parts.py` adds the parts up.

use std::path::{Path, PathBuf};

use super::*;
use hist::Hist;

fn write_file(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text).map_err(|e| format!("write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(name)).map_err(|e| format!("rename to {name}: {e}"))
}

/// Waits until every file in `names` exists in `dir`; an `abort` file or the deadline ends the
/// wait with an error.
async fn wait_files(dir: &Path, names: &[String], deadline: Instant) -> Result<(), String> {
    loop {
        if let Ok(why) = std::fs::read_to_string(dir.join("abort")) {
            return Err(format!("another part aborted: {}", why.trim()));
        }
        if names.iter().all(|n| dir.join(n).exists()) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let missing: Vec<&String> = names.iter().filter(|n| !dir.join(n).exists()).collect();
            return Err(format!("deadline while waiting for {missing:?}"));
        }
        sleep(Duration::from_millis(20)).await;
    }
}

fn all_parts(prefix: &str, parts: usize) -> Vec<String> {
    (0..parts).map(|k| format!("{prefix}.{k}")).collect()
}

/// What part 0 tells the others after publishing.
struct Outcome {
    t0_ns: u64,
    accepted: Vec<bool>,
}

fn render_outcome(t0_ns: u64, p: &Published) -> String {
    let bits: String = p
        .accepted
        .iter()
        .map(|&a| if a { '1' } else { '0' })
        .collect();
    format!("t0_ns {t0_ns}\naccepted {bits}\n")
}

fn parse_outcome(text: &str) -> Result<Outcome, String> {
    let mut t0_ns = None;
    let mut accepted = None;
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("t0_ns", v)) => t0_ns = v.parse().ok(),
            Some(("accepted", v)) => accepted = Some(v.bytes().map(|b| b == b'1').collect()),
            _ => {}
        }
    }
    Ok(Outcome {
        t0_ns: t0_ns.ok_or("published: no t0_ns")?,
        accepted: accepted.ok_or("published: no accepted")?,
    })
}

pub async fn run(a: &Args) -> Result<Json, String> {
    let dir: PathBuf = a.sync_dir.clone().expect("checked in parse_args");
    let r = run_part(a, &dir).await;
    if let Err(e) = &r {
        // Tell the others at once, rather than letting them wait for the deadline.
        let _ = write_file(&dir, "abort", &format!("part {}: {e}", a.part));
    }
    r
}

async fn run_part(a: &Args, dir: &Path) -> Result<Json, String> {
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let rss0 = status_kb(a.pid, "VmRSS")?;
    let (sh, tasks, stop) = spawn_subscribers(a, deadline);
    let opened = open_phase(a, &sh, deadline).await;
    let readers = sh.readers_up.load(Relaxed);
    let rss_open = status_kb(a.pid, "VmRSS")?;
    write_file(dir, &format!("opened.{}", a.part), &readers.to_string())?;

    if a.part == 0 {
        wait_files(dir, &all_parts("opened", a.parts), deadline).await?;
        probe(a).await?;
    }
    wait_until(
        deadline.min(Instant::now() + Duration::from_secs(60)),
        Some(Duration::from_secs(10)),
        || sh.probed.load(Relaxed) as u64,
        || sh.probed.load(Relaxed) >= readers,
    )
    .await;
    let probed = sh.probed.load(Relaxed);
    write_file(dir, &format!("ready.{}", a.part), &probed.to_string())?;

    let cpu0 = cpu_seconds(a.pid, a.clk_tck)?;
    let mut published = None;
    if a.part == 0 {
        wait_files(dir, &all_parts("ready", a.parts), deadline).await?;
        let t0 = now_ns();
        let p = publish_all(a, deadline).await;
        write_file(dir, "published", &render_outcome(t0, &p))?;
        published = Some(p);
    }
    wait_files(dir, &["published".to_string()], deadline).await?;
    let text = std::fs::read_to_string(dir.join("published"))
        .map_err(|e| format!("read published: {e}"))?;
    let outcome = parse_outcome(&text)?;
    let accepted_count = outcome.accepted.iter().filter(|&&x| x).count();
    let expected = (accepted_count * readers) as u64;
    // Wait for every publish, not only the accepted ones: a publish answered 503 may still
    // have been stored (its acknowledgement timed out) and be delivered, and counting it
    // towards the accepted total would stop the wait while accepted events are in flight,
    // which would then show as loss.
    let every_publish = (outcome.accepted.len() * readers) as u64;
    wait_until(
        deadline,
        Some(Duration::from_millis(a.quiet_ms)),
        || sh.delivered.load(Relaxed),
        || sh.delivered.load(Relaxed) >= every_publish,
    )
    .await;
    let cpu = cpu_seconds(a.pid, a.clk_tck)? - cpu0;
    let rss_end = status_kb(a.pid, "VmRSS")?;
    let hwm = status_kb(a.pid, "VmHWM")?;
    let subs = stop_all(stop, tasks).await;

    let (mut loss, mut dups, mut extra, mut other, mut ended, mut delivered) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut lat: Vec<u32> = Vec::new();
    let mut hist = Hist::default();
    for s in subs.iter().filter(|s| s.reader && s.connected) {
        let (l, d, x) = s.tally(&outcome.accepted);
        loss += l;
        dups += d;
        extra += x;
        other += s.other;
        ended += s.ended as u64;
        delivered += s.distinct;
        for &us in &s.lat_us {
            hist.add(us);
        }
        lat.extend_from_slice(&s.lat_us);
    }
    lat.sort_unstable();
    let last_rx = sh.last_rx_ns.load(Relaxed);
    let mut j = header(a);
    j.int("part", a.part as u64)
        .int("parts", a.parts as u64)
        .int("subscribers", a.subscribers as u64)
        .int("held", readers as u64)
        .int("failed", sh.failed.load(Relaxed) as u64)
        .int("probed", probed as u64)
        .int("events", a.events as u64)
        .num("rate", Some(a.rate))
        .int("accepted", accepted_count as u64)
        .int("expected", expected)
        .int("delivered", delivered)
        .int("loss", loss)
        .int("dups", dups)
        .int("extra", extra)
        .int("other_events", other)
        .int("streams_ended", ended)
        .int("t0_ns", outcome.t0_ns)
        .int("last_rx_ns", last_rx)
        .num("p50_ms", percentile(&lat, 0.50))
        .num("p99_ms", percentile(&lat, 0.99))
        .num("cpu_s", Some(cpu))
        .int("rss_before_kb", rss0)
        .int("rss_open_kb", rss_open)
        .int("rss_after_kb", rss_end)
        .int("rss_hwm_kb", hwm)
        .raw("hist_us", hist.to_json());
    if let Some(p) = &published {
        j.int("publishers", a.publishers as u64)
            .int("publish_urls", a.publish.len() as u64)
            .int("publish_errors", p.errors as u64)
            .num("publish_s", Some(p.elapsed.as_secs_f64()))
            .num("ack_p50_ms", percentile(&p.ack_us, 0.50))
            .num("ack_p99_ms", percentile(&p.ack_us, 0.99));
        if let Some(e) = &p.first_error {
            j.str("first_publish_error", e);
        }
    }
    if let Err(e) = opened {
        j.str("warning", &e);
    } else if probed < readers {
        j.str(
            "warning",
            &format!("{probed} of {readers} streams received the probe"),
        );
    }
    if let Some(e) = first_error(&subs) {
        j.str("first_stream_error", &e);
    }
    eprintln!(
        "[{}] instances part {}/{}: {readers}/{} held, {accepted_count} accepted events: \
         delivered {delivered}/{expected}, loss {loss}, dups {dups}; p50 {:.2} ms p99 {:.2} ms; \
         instance CPU {cpu:.2} s, RSS {:.1} MB",
        a.label,
        a.part,
        a.parts,
        a.subscribers,
        percentile(&lat, 0.5).unwrap_or(f64::NAN),
        percentile(&lat, 0.99).unwrap_or(f64::NAN),
        rss_end as f64 / 1024.0,
    );
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_round_trip() {
        let p = Published {
            accepted: vec![true, false, true],
            ..Published::default()
        };
        let o = parse_outcome(&render_outcome(42, &p)).unwrap();
        assert_eq!(o.t0_ns, 42);
        assert_eq!(o.accepted, vec![true, false, true]);
        assert!(parse_outcome("t0_ns 1\n").is_err());
    }
}
