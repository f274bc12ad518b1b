//! `storm` (issue 11): the reconnect storm. Every subscriber holds a stream while events flow
//! at a fixed rate; at one instant all of them close their connections and reconnect at once,
//! each sending `Last-Event-ID` = the id of the last event it received (what a browser's
//! EventSource does by itself). Two questions:
//!
//! - **Exact resume**: each subscriber, over its two connections, must receive every event the
//!   publishers had accepted exactly once (no loss, no duplicate, no `reset`). Counted per
//!   subscriber, not in total, so one subscriber's duplicate cannot hide another's loss.
//! - **Recovery time**: from the drop until every subscriber is live again, i.e. has received
//!   an event *published after* its new stream answered 200 (a replayed event proves only the
//!   replay). When the run's events are used up first, timed probes stand in for them.
//!
//! The drop closes the socket without reading what is in flight (as a tab that goes away):
//! events the server wrote after the last complete one are lost on the wire and must come
//! back by the replay. Reconnects go out all at once unless `--reconnect-concurrency` caps
//! them; the server's accept backlog is part of what is measured.

use super::*;

/// One subscriber: a stream until the drop, then a second one resuming after the last id.
async fn subscriber(
    sh: Arc<Shared>,
    idx: usize,
    mut stop: watch::Receiver<bool>,
    mut drop_rx: watch::Receiver<bool>,
) -> Sub {
    let mut sub = Sub {
        reader: true,
        ..Sub::default()
    };
    let (conn, framing) = match open(&sh, idx, true, &sh.open, None).await {
        Ok(c) => c,
        Err(e) => {
            sh.failed.fetch_add(1, Relaxed);
            sub.error = Some(e);
            return sub;
        }
    };
    sub.connected = true;
    sub.got = vec![0; sh.events.div_ceil(64)];
    sh.readers_up.fetch_add(1, Relaxed);
    let mut parser = sse::Parser::new();
    let first = read_stream(
        &sh,
        &mut sub,
        conn,
        framing,
        &mut parser,
        &mut stop,
        Some(&mut drop_rx),
    )
    .await;
    match first {
        Ended::Drop => {} // the connection is closed: read_stream owned it
        Ended::Stop => return sub,
        Ended::Broken(e) => {
            // Ended before the storm: reported, not retried (the run would no longer be a storm).
            sh.broken_early.fetch_add(1, Relaxed);
            sub.ended = true;
            sub.error = Some(format!("before the drop: {e}"));
            return sub;
        }
    }
    sub.dropped_ns = Some(now_ns());
    sh.dropped.fetch_add(1, Relaxed);
    let last_id = parser.last_event_id().to_vec();
    sub.resumed_from = Some(String::from_utf8_lossy(&last_id).into_owned());
    let (conn, framing) = match open(&sh, idx, true, &sh.reconnect, Some(&last_id)).await {
        Ok(c) => c,
        Err(e) => {
            sh.failed.fetch_add(1, Relaxed);
            sub.error = Some(format!("reconnect: {e}"));
            return sub;
        }
    };
    // Set before any byte of the new stream is parsed: events stamped after this instant
    // make the subscriber live again.
    sub.reconnected_ns = Some(now_ns());
    sh.reconnected.fetch_add(1, Relaxed);
    let mut parser = sse::Parser::new();
    if let Ended::Broken(e) =
        read_stream(&sh, &mut sub, conn, framing, &mut parser, &mut stop, None).await
    {
        sub.ended = true;
        sub.error = Some(format!("after the reconnect: {e}"));
    }
    sub
}

fn ms_since(t0: u64, t: u64) -> f64 {
    t.saturating_sub(t0) as f64 / 1e6
}

/// Nearest-rank percentile of milliseconds.
fn pct_ms(sorted: &[f64], p: f64) -> Option<f64> {
    crate::hist::nearest_rank(sorted, p)
}

pub async fn run(a: &Args) -> Result<Json, String> {
    if a.rate <= 0.0 {
        return Err("storm needs --rate > 0 (events keep flowing through the storm)".into());
    }
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let sh = new_shared(a, deadline);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (drop_tx, drop_rx) = watch::channel(false);
    let tasks: Vec<JoinHandle<Sub>> = (0..a.subscribers)
        .map(|i| tokio::spawn(subscriber(sh.clone(), i, stop_rx.clone(), drop_rx.clone())))
        .collect();
    let opened = open_phase(a, &sh, deadline).await;
    let held = sh.readers_up.load(Relaxed);
    probe(a).await?;
    wait_until(
        deadline.min(Instant::now() + Duration::from_secs(30)),
        Some(Duration::from_secs(5)),
        || sh.probed.load(Relaxed) as u64,
        || sh.probed.load(Relaxed) >= held,
    )
    .await;
    let probed = sh.probed.load(Relaxed);
    let cpu0 = cpu_seconds(a.pid, a.clk_tck)?;

    // Events flow at the fixed rate for the whole run; the storm hits a third of the way in
    // (or at --drop-after-ms), so there is history before it and live traffic after it.
    let run_ms = (a.events as f64 / a.rate * 1000.0) as u64;
    let drop_after = match a.drop_after_ms {
        0 => run_ms / 3,
        ms => ms,
    };
    let pa = a.clone();
    let publisher = tokio::spawn(async move { publish_all(&pa, deadline).await });
    sleep_until((Instant::now() + Duration::from_millis(drop_after)).min(deadline)).await;
    let failed_before = sh.failed.load(Relaxed);
    let t_drop = now_ns();
    let _ = drop_tx.send(true);

    // Every stream that was up is back (or its reconnect failed) and live again. Once the
    // publishers are done, a timed probe every 500 ms gives late subscribers a fresh event.
    let refailed = || sh.failed.load(Relaxed) - failed_before;
    let mut last_progress = (0, 0);
    let mut last_change = Instant::now();
    loop {
        let back = sh.reconnected.load(Relaxed);
        let live = sh.live_again.load(Relaxed);
        // Streams that broke before the drop do not reconnect: not waited for.
        let up_at_drop = held.saturating_sub(sh.broken_early.load(Relaxed));
        if back + refailed() >= up_at_drop && live >= back {
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if (back, live) != last_progress {
            last_progress = (back, live);
            last_change = now;
        } else if now - last_change >= Duration::from_secs(20) {
            break; // nothing moved for 20 s: report what there is
        }
        if publisher.is_finished() && back > 0 {
            let _ = probe_with(a, &mut timed_probe).await;
            sleep(Duration::from_millis(500)).await;
        } else {
            sleep(Duration::from_millis(10)).await;
        }
    }
    let published = publisher
        .await
        .map_err(|e| format!("publisher task: {e}"))?;
    // Then every accepted event reaches every subscriber (or nothing moves for --quiet-ms).
    let expected = (published.accepted_count * held) as u64;
    wait_until(
        deadline,
        Some(Duration::from_millis(a.quiet_ms)),
        || sh.delivered.load(Relaxed),
        || sh.delivered.load(Relaxed) >= expected,
    )
    .await;
    let cpu = cpu_seconds(a.pid, a.clk_tck)? - cpu0;
    let hwm = status_kb(a.pid, "VmHWM")?;
    let subs = stop_all(stop_tx, tasks).await;

    let (mut loss, mut dups, mut extra, mut resets, mut ended) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut exact, mut with_loss, mut with_dups, mut never_live) = (0u64, 0u64, 0u64, 0u64);
    // How long the load tool itself took to close every stream: a storm is "at once" only if
    // this is small against the recovery times.
    let mut drop_spread_ms: f64 = 0.0;
    let mut back_ms = Vec::new();
    let mut live_ms = Vec::new();
    let mut lat: Vec<u32> = Vec::new();
    let mut sample_resume = None;
    for s in subs.iter().filter(|s| s.connected) {
        let (l, d, x) = s.tally(&published.accepted);
        loss += l;
        dups += d;
        extra += x;
        resets += s.resets;
        ended += s.ended as u64;
        with_loss += (l > 0) as u64;
        with_dups += (d > 0) as u64;
        if let Some(t) = s.dropped_ns {
            drop_spread_ms = drop_spread_ms.max(ms_since(t_drop, t));
        }
        if let Some(t) = s.reconnected_ns {
            back_ms.push(ms_since(t_drop, t));
        }
        match s.live_ns {
            Some(t) => live_ms.push(ms_since(t_drop, t)),
            None => never_live += 1,
        }
        if l == 0 && d == 0 && x == 0 && s.resets == 0 && s.live_ns.is_some() {
            exact += 1;
        }
        if sample_resume.is_none() {
            sample_resume = s.resumed_from.clone();
        }
        lat.extend_from_slice(&s.lat_us);
    }
    back_ms.sort_by(f64::total_cmp);
    live_ms.sort_by(f64::total_cmp);
    lat.sort_unstable();
    let connected = subs.iter().filter(|s| s.connected).count() as u64;
    let all_live = never_live == 0 && connected > 0;
    let mut j = header(a);
    j.int("subscribers", a.subscribers as u64)
        .int("held", held as u64)
        .int("probed", probed as u64)
        .int("events", a.events as u64)
        .num("rate", Some(a.rate))
        .int("publishers", a.publishers as u64)
        .int("drop_after_ms", drop_after)
        .int("reconnect_concurrency", a.reconnect_concurrency as u64)
        .int("accepted", published.accepted_count as u64)
        .int("publish_errors", published.errors as u64)
        .int("dropped", sh.dropped.load(Relaxed) as u64)
        .int("reconnected", sh.reconnected.load(Relaxed) as u64)
        .int("reconnect_failed", refailed() as u64)
        .int("live_again", live_ms.len() as u64)
        .int("resumed_exact", exact)
        .int("subs_with_loss", with_loss)
        .int("subs_with_dups", with_dups)
        .int("loss", loss)
        .int("dups", dups)
        .int("extra", extra)
        .int("resets", resets)
        .int("streams_ended", ended)
        .num("drop_spread_ms", Some(drop_spread_ms))
        .num("all_back_ms", back_ms.last().copied())
        .num(
            "all_live_ms",
            if all_live {
                live_ms.last().copied()
            } else {
                None
            },
        )
        .num("live_p50_ms", pct_ms(&live_ms, 0.50))
        .num("live_p99_ms", pct_ms(&live_ms, 0.99))
        .num("p50_ms", percentile(&lat, 0.50))
        .num("p99_ms", percentile(&lat, 0.99))
        .num("cpu_s", Some(cpu))
        .int("rss_hwm_kb", hwm);
    if let Some(id) = &sample_resume {
        j.str("sample_last_event_id", id);
    }
    if let Err(e) = opened {
        j.str("warning", &e);
    } else if !all_live {
        j.str(
            "warning",
            &format!("{never_live} subscribers were not live again before the run ended"),
        );
    }
    if let Some(e) = &published.first_error {
        j.str("first_publish_error", e);
    }
    if let Some(e) = first_error(&subs) {
        j.str("first_stream_error", &e);
    }
    eprintln!(
        "[{}] storm: {held} subscribers, {}/{} events accepted at {}/s; drop at {drop_after} ms: \
         {} back within {:.0} ms, {} live again within {:.0} ms (p50 {:.0} ms); resumed exactly \
         {exact}/{connected}; loss {loss}, dups {dups}, resets {resets}",
        a.label,
        published.accepted_count,
        a.events,
        a.rate,
        back_ms.len(),
        back_ms.last().copied().unwrap_or(f64::NAN),
        live_ms.len(),
        live_ms.last().copied().unwrap_or(f64::NAN),
        pct_ms(&live_ms, 0.5).unwrap_or(f64::NAN),
    );
    Ok(j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_ms() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(pct_ms(&v, 0.5), Some(100.0));
        assert_eq!(pct_ms(&v, 0.99), Some(198.0));
        assert_eq!(pct_ms(&[], 0.5), None);
    }
}
