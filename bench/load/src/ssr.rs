//! `ssr` (issue 11): server-side rendering throughput. `--connections` keep-alive connections
//! GET one page (`--get`, e.g. `/stocks`) as fast as the answers come back, `--requests` in
//! all, after `--warmup` unmeasured ones on the same connections (first renders, allocator
//! and caches warm). Reported: requests/s, p50/p99/max latency, the page's size, and the
//! server's CPU over the measured requests (its share of one core says whether the server or
//! something else was the limit). A non-200 answer or a broken connection is counted, never
//! retried silently, and the first one is reported.

use super::*;

/// (status, or 0 for a failed request; body bytes; latency µs) per request.
type Done = Vec<(u16, usize, u32)>;

/// `n` requests over the given connections; returns them for the next phase.
async fn phase(
    clients: Vec<Client>,
    n: usize,
    deadline: Instant,
) -> (Vec<Client>, Done, Option<String>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let next = next.clone();
            tokio::spawn(async move {
                let mut done = Vec::new();
                let mut first_error = None;
                while next.fetch_add(1, Relaxed) < n {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    let t0 = Instant::now();
                    let r = client
                        .get((deadline - now).min(Duration::from_secs(10)))
                        .await;
                    let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    match r {
                        Ok((status, bytes)) => {
                            if status != 200 && first_error.is_none() {
                                first_error = Some(format!("page answered {status}"));
                            }
                            done.push((status, bytes, us));
                        }
                        Err(e) => {
                            first_error.get_or_insert(e);
                            done.push((0, 0, us));
                        }
                    }
                }
                (client, done, first_error)
            })
        })
        .collect();
    let mut clients = Vec::new();
    let mut all = Vec::with_capacity(n);
    let mut first_error = None;
    for t in tasks {
        if let Ok((c, done, err)) = t.await {
            clients.push(c);
            all.extend(done);
            if first_error.is_none() {
                first_error = err;
            }
        }
    }
    (clients, all, first_error, start.elapsed())
}

pub async fn run(a: &Args) -> Result<Json, String> {
    let deadline = Instant::now() + Duration::from_secs(a.seconds);
    let url = a.get.clone().expect("checked in parse_args");
    let clients: Vec<Client> = (0..a.connections)
        .map(|i| Client::new(url.clone(), None, local_ip(i, &url)))
        .collect();
    let (clients, warm, warm_error, _) = phase(clients, a.warmup, deadline).await;
    if a.warmup > 0 && !warm.iter().any(|d| d.0 == 200) {
        return Err(format!(
            "no warm-up request succeeded: {}",
            warm_error.unwrap_or_else(|| "deadline".into())
        ));
    }
    let cpu0 = cpu_seconds(a.pid, a.clk_tck)?;
    let (_, done, first_error, elapsed) = phase(clients, a.requests, deadline).await;
    let cpu = cpu_seconds(a.pid, a.clk_tck)? - cpu0;
    let hwm = status_kb(a.pid, "VmHWM")?;

    let ok: Vec<&(u16, usize, u32)> = done.iter().filter(|d| d.0 == 200).collect();
    let failed = done.iter().filter(|d| d.0 == 0).count();
    let non_200 = done.len() - ok.len() - failed;
    let mut lat: Vec<u32> = ok.iter().map(|d| d.2).collect();
    lat.sort_unstable();
    let mut sizes: Vec<usize> = ok.iter().map(|d| d.1).collect();
    sizes.sort_unstable();
    let secs = elapsed.as_secs_f64();
    let rps = (secs > 0.0 && !ok.is_empty()).then(|| ok.len() as f64 / secs);
    let mut j = header(a);
    j.str("url", &url.target)
        .int("requests", a.requests as u64)
        .int("connections", a.connections as u64)
        .int("warmup", a.warmup as u64)
        .int("done", done.len() as u64)
        .int("ok", ok.len() as u64)
        .int("non_200", non_200 as u64)
        .int("failed", failed as u64)
        .num("elapsed_s", Some(secs))
        .num("req_per_s", rps)
        .num("p50_ms", percentile(&lat, 0.50))
        .num("p99_ms", percentile(&lat, 0.99))
        .num("max_ms", percentile(&lat, 1.0))
        .int(
            "page_bytes",
            sizes.get(sizes.len() / 2).copied().unwrap_or(0) as u64,
        )
        .num("cpu_s", Some(cpu))
        .num("cpu_share", (secs > 0.0).then(|| cpu / secs))
        .num(
            "cpu_per_req_us",
            (!ok.is_empty()).then(|| cpu * 1e6 / ok.len() as f64),
        )
        .int("rss_hwm_kb", hwm);
    if done.len() < a.requests {
        j.str(
            "warning",
            &format!(
                "{} of {} requests done before the deadline",
                done.len(),
                a.requests
            ),
        );
    }
    if let Some(e) = &first_error {
        j.str("first_request_error", e);
    }
    eprintln!(
        "[{}] ssr: GET {} × {} over {} connections: {} ok ({non_200} non-200, {failed} failed) \
         in {secs:.2} s = {:.0}/s; p50 {:.2} ms p99 {:.2} ms; page {} B; server CPU {cpu:.2} s \
         ({:.0}% of one core)",
        a.label,
        url.target,
        a.requests,
        a.connections,
        ok.len(),
        rps.unwrap_or(0.0),
        percentile(&lat, 0.5).unwrap_or(f64::NAN),
        percentile(&lat, 0.99).unwrap_or(f64::NAN),
        sizes.get(sizes.len() / 2).copied().unwrap_or(0),
        if secs > 0.0 { cpu / secs * 100.0 } else { 0.0 },
    );
    Ok(j)
}
