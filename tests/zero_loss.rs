//! Zero loss: subscribers on a sequenced topic, a publisher at a steady rate, and the server
//! killed with SIGKILL (or stopped cleanly, or a subscriber's network cut) mid-run. Every
//! subscriber must end with every acknowledged event exactly once, in order.
//!
//! These run the real binary (`CARGO_BIN_EXE_pulse`) on loopback with a temporary data dir.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::process::{
    free_port, resuming_subscriber, steady_publisher, Proxy, PulseProcess, Received,
};

const TOPIC: &str = "seq";
const LIMIT: Duration = Duration::from_secs(60);

/// Checks one subscriber against the acknowledged ids and prints the counts.
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
        "{name}: {} acknowledged, {} received exactly once in order ({} published but unacknowledged), {} connections",
        acked.len(),
        got.ids.len(),
        got.ids.len() - acked.len(),
        got.connections
    );
}

enum Interruption {
    Kill9,
    Sigterm,
    CutNetwork,
}

async fn run(interruption: Interruption) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Some(PulseProcess::start(dir.path(), port).await);
    let base = format!("http://127.0.0.1:{port}");
    let proxy = Proxy::start(format!("127.0.0.1:{port}").parse().unwrap()).await;

    let target = Arc::new(AtomicU64::new(0));
    let subs = vec![
        (
            "direct-1",
            resuming_subscriber(base.clone(), TOPIC, target.clone(), LIMIT),
        ),
        (
            "direct-2",
            resuming_subscriber(base.clone(), TOPIC, target.clone(), LIMIT),
        ),
        (
            "via-proxy",
            resuming_subscriber(
                format!("http://{}", proxy.addr),
                TOPIC,
                target.clone(),
                LIMIT,
            ),
        ),
    ];
    tokio::time::sleep(Duration::from_millis(200)).await;
    let acked = Arc::new(AtomicU64::new(0));
    let total = 400;
    let publisher = steady_publisher(
        base.clone(),
        TOPIC,
        total,
        Duration::from_millis(4),
        acked.clone(),
        LIMIT,
    );

    let wait_for = |n: u64| {
        let acked = acked.clone();
        async move {
            while acked.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    wait_for(120).await;
    match interruption {
        Interruption::Kill9 => {
            server.take().unwrap().kill_9();
            tokio::time::sleep(Duration::from_millis(300)).await;
            server = Some(PulseProcess::start(dir.path(), port).await);
        }
        Interruption::Sigterm => {
            let took = server.take().unwrap().terminate();
            assert!(took < Duration::from_secs(5), "SIGTERM exit took {took:?}");
            println!("clean shutdown took {took:?}");
            server = Some(PulseProcess::start(dir.path(), port).await);
        }
        Interruption::CutNetwork => {
            proxy.cut();
            wait_for(250).await;
            proxy.cut();
        }
    }
    let acked_ids = publisher.await.unwrap();
    assert_eq!(acked_ids.len(), total, "publisher finished");
    target.store(*acked_ids.last().unwrap(), Ordering::SeqCst);
    for (name, sub) in subs {
        let got = sub.await.unwrap();
        check(name, &got, &acked_ids);
        let interrupted = !matches!(interruption, Interruption::CutNetwork) || name == "via-proxy";
        if interrupted {
            assert!(got.connections >= 2, "{name} was interrupted and resumed");
        }
    }
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_stream_loses_no_acknowledged_event() {
    run(Interruption::Kill9).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_restart_loses_no_acknowledged_event() {
    run(Interruption::Sigterm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_network_loses_no_event() {
    run(Interruption::CutNetwork).await;
}
