//! Several Pulse instances on one Redis: one ordered stream with the same ids everywhere,
//! failover by SIGKILL (direct and through the repository's nginx config), Redis restarted and
//! flushed mid-run, and the simulators on one leader at a time.
//!
//! Everything is real and on loopback: `redis-server` and `nginx` started here on free ports
//! with their files in temporary directories, and the `pulse` binary as child processes.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::process::{free_port, steady_publisher, PulseProcess, Received};
use common::servers::{Nginx, RedisServer};
use common::{SseClient, TOKEN};
use tempfile::TempDir;

const TOPIC: &str = "seq";
const LIMIT: Duration = Duration::from_secs(60);

/// Quiet instances (no simulators, no sampler) on `redis`, each with its own data dir.
struct Cluster {
    dirs: Vec<TempDir>,
    ports: Vec<u16>,
    nodes: Vec<Option<PulseProcess>>,
}

impl Cluster {
    async fn start(redis: &RedisServer, n: usize, extra: &[(&str, &str)]) -> Cluster {
        let mut c = Cluster {
            dirs: Vec::new(),
            ports: Vec::new(),
            nodes: Vec::new(),
        };
        for i in 0..n {
            c.dirs.push(tempfile::tempdir().unwrap());
            c.ports.push(free_port());
            let node = c.spawn(redis, i, extra).await;
            c.nodes.push(Some(node));
        }
        c
    }

    async fn spawn(&self, redis: &RedisServer, i: usize, extra: &[(&str, &str)]) -> PulseProcess {
        let url = redis.url();
        let name = format!("node-{i}");
        let mut env = vec![
            ("PULSE_REDIS_URL", url.as_str()),
            ("PULSE_INSTANCE", name.as_str()),
            ("PULSE_STOCKS_RATE", "0"),
            ("PULSE_SCORES_GAMES", "0"),
            ("PULSE_MONITOR_INTERVAL_MS", "0"),
        ];
        env.extend_from_slice(extra);
        PulseProcess::start_with(self.dirs[i].path(), self.ports[i], &env).await
    }

    fn base(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[i])
    }

    fn kill_9(&mut self, i: usize) {
        self.nodes[i].take().expect("running").kill_9();
    }
}

async fn publish(base: &str, topic: &str, body: &str) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/topics/{topic}/events"))
        .bearer_auth(TOKEN)
        .body(body.to_owned())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("publish request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

async fn health(base: &str) -> Option<(u16, serde_json::Value)> {
    let res = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    Some((status, res.json().await.ok()?))
}

/// Subscribes like a browser behind a load balancer: on any end or error it reconnects with
/// `Last-Event-ID`, to the same base if it answers, else to the next one in `bases`.
fn failover_subscriber(
    bases: Vec<String>,
    topic: &'static str,
    target: Arc<AtomicU64>,
    limit: Duration,
) -> tokio::task::JoinHandle<Received> {
    tokio::spawn(async move {
        let deadline = Instant::now() + limit;
        let mut got = Received::default();
        let mut last: Option<u64> = None;
        let mut at = 0;
        let done = |last: Option<u64>| {
            let t = target.load(Ordering::SeqCst);
            t != 0 && last.is_some_and(|l| l >= t)
        };
        while !done(last) && Instant::now() < deadline {
            let url = format!("{}/api/events?topics={topic}", bases[at % bases.len()]);
            let id = last.map(|l| l.to_string());
            let Some(mut sub) = SseClient::try_connect(&url, id.as_deref()).await else {
                at += 1;
                tokio::time::sleep(Duration::from_millis(30)).await;
                continue;
            };
            got.connections += 1;
            while !done(last) && Instant::now() < deadline {
                match sub.next_event(Duration::from_millis(100)).await {
                    Some(ev) if ev.event == "reset" => got.resets += 1,
                    Some(ev) => {
                        let id: u64 = ev.id.as_deref().unwrap().parse().unwrap();
                        got.ids.push(id);
                        last = Some(id);
                    }
                    None if sub.ended => break,
                    None => {}
                }
            }
        }
        got
    })
}

/// How many events arrive on `sub` within `dur`.
async fn count_events(sub: &mut SseClient, dur: Duration) -> usize {
    let end = Instant::now() + dur;
    let mut n = 0;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        if sub.next_event(left).await.is_some() {
            n += 1;
        }
    }
    n
}

/// Every acknowledged id exactly once, in order, without a reset.
fn check(name: &str, got: &Received, acked: &[u64]) {
    assert!(
        got.ids.windows(2).all(|w| w[0] < w[1]),
        "{name}: ids out of order or repeated"
    );
    let seen: std::collections::HashSet<u64> = got.ids.iter().copied().collect();
    let missing: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{name}: lost acknowledged events {missing:?}"
    );
    assert_eq!(got.resets, 0, "{name}: was reset instead of resumed");
    println!(
        "{name}: {} acknowledged, {} received exactly once in order, {} connections",
        acked.len(),
        got.ids.len(),
        got.connections
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_serve_one_stream_with_the_same_ids() {
    let rdir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(rdir.path());
    let cluster = Cluster::start(&redis, 3, &[]).await;
    let mut subs = Vec::new();
    for i in 0..3 {
        let url = format!("{}/api/events?topics={TOPIC}", cluster.base(i));
        subs.push(SseClient::connect(&url, None).await);
    }
    let mut acked = Vec::new();
    for n in 0..30 {
        let (status, body) = publish(&cluster.base(n % 3), TOPIC, &format!(r#"{{"n":{n}}}"#)).await;
        assert_eq!(status, 202, "{body}");
        acked.push(body["id"].as_u64().unwrap());
    }
    assert!(
        acked.windows(2).all(|w| w[0] < w[1]),
        "ids increase across instances: {acked:?}"
    );
    for (i, sub) in subs.iter_mut().enumerate() {
        let events = sub.take(30, Duration::from_secs(10)).await;
        let ids = common::ids(&events);
        assert_eq!(ids, acked, "instance {i} saw another order");
        let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data[7], r#"{"n":7}"#);
    }
    // Derived state is the same everywhere: a post made on instance 1 is in every snapshot,
    // and in instance 2's posts table (served as the page's older posts).
    let (status, body) = publish(
        &cluster.base(1),
        "feed",
        r#"{"author":"ann","text":"hello from B"}"#,
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let post_id = body["id"].as_u64().unwrap();
    for i in 0..3 {
        let snap: serde_json::Value =
            reqwest::get(format!("{}/api/topics/feed/snapshot", cluster.base(i)))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(
            snap["id"].as_u64(),
            Some(post_id),
            "instance {i} is current"
        );
        assert_eq!(
            snap["state"]["posts"][0]["text"], "hello from B",
            "instance {i}"
        );
    }
    // A client that was on instance 0 resumes on instance 2 from its id.
    let url = format!("{}/api/events?topics={TOPIC}", cluster.base(2));
    let mut moved = SseClient::connect(&url, Some(&acked[19].to_string())).await;
    let rest = common::ids(&moved.take(10, Duration::from_secs(5)).await);
    assert_eq!(rest, acked[20..].to_vec());
    let (_, h) = health(&cluster.base(0)).await.unwrap();
    assert_eq!(h["backend"], "redis");
    assert_eq!(h["redis"], "up");
    assert_eq!(h["instance"], "node-0");
}

/// A subscriber on B, B killed with SIGKILL mid-stream, the subscriber continues on C.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_an_instance_loses_nothing_for_a_subscriber_that_moves() {
    let rdir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(rdir.path());
    let mut cluster = Cluster::start(&redis, 3, &[]).await;
    let target = Arc::new(AtomicU64::new(0));
    let sub = failover_subscriber(
        vec![cluster.base(1), cluster.base(2)],
        TOPIC,
        target.clone(),
        LIMIT,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acked_n = Arc::new(AtomicU64::new(0));
    let publisher = steady_publisher(
        cluster.base(0),
        TOPIC,
        150,
        Duration::from_millis(10),
        acked_n.clone(),
        LIMIT,
    );
    while acked_n.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cluster.kill_9(1);
    let acked = publisher.await.unwrap();
    assert_eq!(acked.len(), 150);
    target.store(*acked.last().unwrap(), Ordering::SeqCst);
    let got = sub.await.unwrap();
    check("subscriber moved from B to C", &got, &acked);
    assert!(got.connections >= 2, "the subscriber did move");
}

/// The same through the repository's nginx config: publisher and subscriber both go through
/// the proxy, an instance is killed, nobody notices more than a reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_behind_nginx_loses_nothing() {
    let rdir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(rdir.path());
    let mut cluster = Cluster::start(&redis, 3, &[]).await;
    let ndir = tempfile::tempdir().unwrap();
    let nginx = Nginx::start(ndir.path(), &cluster.ports);
    let target = Arc::new(AtomicU64::new(0));
    let subs: Vec<_> = (0..3)
        .map(|_| failover_subscriber(vec![nginx.base()], TOPIC, target.clone(), LIMIT))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acked_n = Arc::new(AtomicU64::new(0));
    let publisher = steady_publisher(
        nginx.base(),
        TOPIC,
        150,
        Duration::from_millis(10),
        acked_n.clone(),
        LIMIT,
    );
    while acked_n.load(Ordering::SeqCst) < 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    cluster.kill_9(1);
    let acked = publisher.await.unwrap();
    assert_eq!(acked.len(), 150);
    target.store(*acked.last().unwrap(), Ordering::SeqCst);
    for (i, s) in subs.into_iter().enumerate() {
        check(
            &format!("subscriber {i} through nginx"),
            &s.await.unwrap(),
            &acked,
        );
    }
}

/// Redis killed and restarted (append-only file, fsync always): publishes during the outage
/// get 503 and `/healthz` says so; afterwards nothing acknowledged is lost and subscribers on
/// every instance see no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_loses_nothing_acknowledged() {
    let rdir = tempfile::tempdir().unwrap();
    let mut redis = RedisServer::start(rdir.path());
    let cluster = Cluster::start(&redis, 2, &[]).await;
    let target = Arc::new(AtomicU64::new(0));
    let sub_a = failover_subscriber(vec![cluster.base(0)], TOPIC, target.clone(), LIMIT);
    let sub_b = failover_subscriber(vec![cluster.base(1)], TOPIC, target.clone(), LIMIT);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut acked = Vec::new();
    for n in 0..20 {
        let (status, body) = publish(&cluster.base(n % 2), TOPIC, &format!(r#"{{"n":{n}}}"#)).await;
        assert_eq!(status, 202);
        acked.push(body["id"].as_u64().unwrap());
    }
    redis.kill();
    // During the outage: a clear 503, nothing acknowledged, and health says Redis is down.
    let (status, body) = publish(&cluster.base(0), TOPIC, r#"{"n":"lost"}"#).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    assert!(
        !body["detail"].as_str().unwrap().contains("127.0.0.1"),
        "no internals: {body}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, h) = health(&cluster.base(1)).await.expect("health answers");
        if status == 503 && h["redis"] == "down" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "healthz never reported redis down: {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Streams stay open through the outage (they get heartbeats, not an error).
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut n = 100;
    while acked.len() < 40 {
        assert!(
            Instant::now() < deadline,
            "publishes never succeeded after the restart"
        );
        let (status, body) = publish(&cluster.base(n % 2), TOPIC, &format!(r#"{{"n":{n}}}"#)).await;
        n += 1;
        if status == 202 {
            acked.push(body["id"].as_u64().unwrap());
        } else {
            assert_eq!(status, 503);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(acked.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        acked[20],
        acked[19] + 1,
        "no id was skipped: Redis kept its data"
    );
    target.store(*acked.last().unwrap(), Ordering::SeqCst);
    check("subscriber on A", &sub_a.await.unwrap(), &acked);
    check("subscriber on B", &sub_b.await.unwrap(), &acked);
    let (status, h) = health(&cluster.base(0)).await.unwrap();
    assert_eq!((status, h["redis"].as_str()), (200, Some("up")));
}

/// Redis flushed: clients holding ids from before get `reset`, never a wrong replay, and every
/// new id is larger than any id handed out before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushed_redis_never_reuses_ids() {
    let rdir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(rdir.path());
    let cluster = Cluster::start(&redis, 2, &[]).await;
    let mut before = Vec::new();
    for n in 0..5 {
        let (status, body) = publish(&cluster.base(n % 2), TOPIC, &format!(r#"{{"n":{n}}}"#)).await;
        assert_eq!(status, 202);
        before.push(body["id"].as_u64().unwrap());
    }
    let highest = *before.last().unwrap();
    // Both instances have seen everything before the flush.
    for i in 0..2 {
        let deadline = Instant::now() + Duration::from_secs(5);
        while health(&cluster.base(i)).await.unwrap().1["last_id"].as_u64() != Some(highest) {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    redis.command(&["FLUSHALL"]).await;
    let (status, body) = publish(&cluster.base(0), TOPIC, r#"{"n":"after"}"#).await;
    assert_eq!(status, 202, "{body}");
    let after = body["id"].as_u64().unwrap();
    assert!(
        after > highest,
        "id {after} after the flush is not above {highest}"
    );
    let (status, body) = publish(&cluster.base(1), TOPIC, r#"{"n":"after 2"}"#).await;
    assert_eq!(status, 202);
    assert_eq!(body["id"].as_u64(), Some(after + 1));
    for i in 0..2 {
        let url = format!("{}/api/events?topics={TOPIC}", cluster.base(i));
        let mut old = SseClient::connect(&url, Some(&before[2].to_string())).await;
        let first = old
            .next_event(Duration::from_secs(5))
            .await
            .expect("an answer");
        assert_eq!(
            first.event, "reset",
            "instance {i} must reset an id from before the flush"
        );
        // A client that has the new ids resumes exactly.
        let mut new = SseClient::connect(&url, Some(&after.to_string())).await;
        let ev = new
            .next_event(Duration::from_secs(5))
            .await
            .expect("the next event");
        assert_eq!(ev.id.as_deref(), Some((after + 1).to_string().as_str()));
    }
}

/// The simulators run on one instance: killing it hands them to another within seconds, and
/// at no point do two instances tick at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulators_run_on_one_leader_and_fail_over() {
    const RATE: f64 = 20.0;
    let rdir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(rdir.path());
    let rate = RATE.to_string();
    let mut cluster = Cluster::start(
        &redis,
        2,
        &[
            ("PULSE_STOCKS_RATE", rate.as_str()),
            ("PULSE_STOCKS_SYMBOLS", "AAA,BBB"),
        ],
    )
    .await;
    let leader_of = |h: &[Option<(u16, serde_json::Value)>]| -> Vec<usize> {
        h.iter()
            .enumerate()
            .filter(|(_, h)| h.as_ref().is_some_and(|(_, v)| v["simulators"] == true))
            .map(|(i, _)| i)
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let leader = loop {
        let h = vec![
            health(&cluster.base(0)).await,
            health(&cluster.base(1)).await,
        ];
        let leaders = leader_of(&h);
        assert!(leaders.len() <= 1, "two leaders at once");
        if let [l] = leaders[..] {
            break l;
        }
        assert!(Instant::now() < deadline, "no instance took the simulators");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let other = 1 - leader;
    // Watch the ticks on the other instance for the whole run.
    let url = format!("{}/api/events?topics=stocks", cluster.base(other));
    let mut ticks = SseClient::connect(&url, None).await;
    let before = count_events(&mut ticks, Duration::from_secs(3)).await;
    let expected = RATE * 3.0;
    assert!(
        (before as f64) > expected * 0.5 && (before as f64) < expected * 1.4,
        "{before} ticks in 3 s at {RATE}/s from one leader"
    );
    let killed_at = Instant::now();
    cluster.kill_9(leader);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let h = health(&cluster.base(other)).await.unwrap();
        if h.1["simulators"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other instance never took over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let takeover = killed_at.elapsed();
    let after = count_events(&mut ticks, Duration::from_secs(3)).await;
    assert!(
        (after as f64) > expected * 0.5 && (after as f64) < expected * 1.4,
        "{after} ticks in 3 s after the takeover"
    );
    println!("takeover after {takeover:?}; ticks per 3 s: {before} before, {after} after");
    assert!(
        takeover < Duration::from_secs(8),
        "takeover took {takeover:?}"
    );
}

async fn post_json(base: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// A worker whose reports land on a different instance each time moves its job forward on
/// every instance: each report starts from the newest state, wherever it was made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_progress_reported_to_one_instance_shows_on_all() {
    let rdir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(rdir.path());
    let cluster = Cluster::start(&redis, 3, &[]).await;
    let (status, job) = post_json(
        &cluster.base(0),
        "/api/jobs",
        serde_json::json!({"name": "Nightly export", "total": 30}),
    )
    .await;
    assert_eq!(status, 201, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    for step in 1..=30u64 {
        let node = (step % 3) as usize;
        let (status, body) = post_json(
            &cluster.base(node),
            &format!("/api/jobs/{id}/progress"),
            serde_json::json!({"step": step, "log": [format!("step {step} on node {node}")]}),
        )
        .await;
        assert_eq!(status, 200, "step {step} on node {node}: {body}");
        assert_eq!(body["step"], step, "node {node} started from a stale state");
    }
    let (status, body) = post_json(
        &cluster.base(2),
        &format!("/api/jobs/{id}/progress"),
        serde_json::json!({"status": "completed", "message": "done on node 2"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    for i in 0..3 {
        let base = cluster.base(i);
        let deadline = Instant::now() + Duration::from_secs(5);
        let job: serde_json::Value = loop {
            let j: serde_json::Value = reqwest::get(format!("{base}/api/jobs/{id}"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if j["status"] == "completed" || Instant::now() > deadline {
                break j;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(job["status"], "completed", "instance {i}: {job}");
        assert_eq!(job["step"], 30, "instance {i}");
        assert_eq!(
            job["log_total"], 30,
            "instance {i}: every report's log line kept"
        );
        // The page each instance serves shows it too.
        let html = reqwest::get(format!("{base}/jobs"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            html.contains(&format!("data-job-id=\"{id}\"")) && html.contains("done on node 2"),
            "instance {i}'s /jobs page does not show the job"
        );
    }
}
