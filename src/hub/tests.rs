//! The hub against the in-memory backend: resume, reset, lag and order, with no HTTP and no
//! disk. Two hubs on one [`MemoryBroker`] stand in for two instances on one Redis.

use std::sync::Arc;
use std::time::Duration;

use super::backend::memory::MemoryBroker;
use super::{Hub, HubConfig, PublishError, Replay};
use crate::event::{EventId, Topic};

fn topic(name: &str) -> Topic {
    Topic::parse(name).unwrap()
}

async fn hub_on(broker: &MemoryBroker, config: HubConfig) -> Hub {
    Hub::open(Arc::new(broker.clone()), config).await.unwrap()
}

async fn publish_n(hub: &Hub, name: &str, n: usize) -> Vec<EventId> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            hub.publish(topic(name), format!(r#"{{"n":{i}}}"#))
                .await
                .unwrap(),
        );
    }
    ids
}

fn replayed(replay: Replay) -> Vec<EventId> {
    match replay {
        Replay::Events(events) => events.iter().map(|e| e.id).collect(),
        Replay::Reset { latest } => panic!("reset (latest {latest}) instead of a replay"),
    }
}

#[tokio::test]
async fn resume_replays_exactly_what_came_after_the_id() {
    let broker = MemoryBroker::new(100);
    let hub = hub_on(&broker, HubConfig::default()).await;
    let ids = publish_n(&hub, "a", 5).await;
    publish_n(&hub, "b", 2).await;
    let mut sub = hub.subscribe(vec![topic("a")], Some(ids[1])).await;
    assert_eq!(replayed(sub.take_replay()), ids[2..].to_vec());
    // Live events follow the replay with nothing between and nothing twice.
    let next = publish_n(&hub, "a", 1).await[0];
    assert_eq!(sub.next().await.unwrap().id, next);
    assert!(sub.try_next().is_none());
}

#[tokio::test]
async fn an_id_outside_the_window_gets_reset() {
    let broker = MemoryBroker::new(100);
    let config = HubConfig {
        history: 3,
        ..HubConfig::default()
    };
    let hub = hub_on(&broker, config).await;
    let ids = publish_n(&hub, "a", 6).await;
    let mut old = hub.subscribe(vec![topic("a")], Some(ids[0])).await;
    assert!(
        matches!(old.take_replay(), Replay::Reset { latest } if latest == ids[5]),
        "too old: reset to the newest id"
    );
    let mut future = hub.subscribe(vec![topic("a")], Some(ids[5].skip(10))).await;
    assert!(
        matches!(future.take_replay(), Replay::Reset { .. }),
        "from the future: reset"
    );
    let mut edge = hub.subscribe(vec![topic("a")], Some(ids[2])).await;
    assert_eq!(replayed(edge.take_replay()), ids[3..].to_vec());
}

#[tokio::test]
async fn a_full_queue_cuts_the_subscriber_off_and_it_resumes_exactly() {
    let broker = MemoryBroker::new(100);
    let config = HubConfig {
        queue: 4,
        ..HubConfig::default()
    };
    let hub = hub_on(&broker, config).await;
    let mut slow = hub.subscribe(vec![topic("a")], None).await;
    let mut fast = hub.subscribe(vec![topic("a")], None).await;
    // The fast one reads as events come; the slow one never does.
    let mut all = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..8 {
        all.extend(publish_n(&hub, "a", 1).await);
        while let Some(e) = fast.try_next() {
            seen.push(e.id);
        }
    }
    assert_eq!(seen, all, "a reader that keeps up is never cut off");
    assert!(!fast.lagged());
    // The slow one got what fit in its queue, then its stream ends: lagged, not skipped.
    let mut got = Vec::new();
    while let Some(e) = slow.next().await {
        got.push(e.id);
    }
    assert!(slow.lagged());
    assert_eq!(got.len(), 4);
    assert_eq!(
        hub.stats()
            .lagged
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // Resuming from the last id it has replays exactly the rest.
    let last = *got.last().unwrap();
    let mut again = hub.subscribe(vec![topic("a")], Some(last)).await;
    let rest = replayed(again.take_replay());
    let expected: Vec<EventId> = all.into_iter().filter(|id| *id > last).collect();
    assert_eq!(rest, expected);
}

#[tokio::test]
async fn two_instances_on_one_backend_see_the_same_ids_in_the_same_order() {
    let broker = MemoryBroker::new(1000);
    let a = hub_on(&broker, HubConfig::default()).await;
    let b = hub_on(&broker, HubConfig::default()).await;
    let mut on_a = a.subscribe(vec![topic("t")], None).await;
    let mut on_b = b.subscribe(vec![topic("t")], None).await;
    let mut acked = Vec::new();
    for i in 0..20 {
        let hub = if i % 2 == 0 { &a } else { &b };
        acked.push(
            hub.publish(topic("t"), format!(r#"{{"i":{i}}}"#))
                .await
                .unwrap(),
        );
    }
    assert!(
        acked.windows(2).all(|w| w[0] < w[1]),
        "ids increase across instances"
    );
    for sub in [&mut on_a, &mut on_b] {
        let mut got = Vec::new();
        while let Some(e) = sub.try_next() {
            got.push((e.id, e.data.clone()));
        }
        let ids: Vec<EventId> = got.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, acked);
        assert_eq!(got[3].1, r#"{"i":3}"#);
    }
    // An instance that starts later is seeded with the same history and resumes exactly.
    let c = hub_on(&broker, HubConfig::default()).await;
    let mut late = c.subscribe(vec![topic("t")], Some(acked[9])).await;
    assert_eq!(replayed(late.take_replay()), acked[10..].to_vec());
    assert_eq!(c.snapshot().id, a.snapshot().id);
}

#[tokio::test]
async fn a_discontinuity_resets_older_ids_but_not_newer_ones() {
    let broker = MemoryBroker::new(100);
    let hub = hub_on(&broker, HubConfig::default()).await;
    let ids = publish_n(&hub, "a", 3).await;
    let through = ids[2].skip(1000);
    hub.core.discontinuity(through);
    let mut old = hub.subscribe(vec![topic("a")], Some(ids[1])).await;
    assert!(matches!(old.take_replay(), Replay::Reset { .. }));
    assert_eq!(
        hub.snapshot().id,
        through,
        "pages hand off from past the gap"
    );
    let mut fresh = hub.subscribe(vec![topic("a")], Some(through)).await;
    assert_eq!(replayed(fresh.take_replay()), vec![]);
}

#[tokio::test]
async fn a_backend_outage_refuses_publishes_and_changes_nothing() {
    let broker = MemoryBroker::new(100);
    let hub = hub_on(&broker, HubConfig::default()).await;
    publish_n(&hub, "a", 2).await;
    let before = hub.snapshot();
    broker.set_down(true);
    let err = hub.publish(topic("a"), "{}".into()).await.unwrap_err();
    assert_eq!(err, PublishError::Unavailable);
    assert!(!hub.health().up);
    assert_eq!(hub.snapshot(), before);
    broker.set_down(false);
    let id = publish_n(&hub, "a", 1).await[0];
    assert_eq!(
        id,
        before.id.next(),
        "no id was burned by the refused publish"
    );
}

#[tokio::test]
async fn internal_consumers_do_not_count_as_streams() {
    let broker = MemoryBroker::new(100);
    let hub = hub_on(&broker, HubConfig::default()).await;
    let _recorder = hub.observe(vec![topic("feed")], None).await;
    assert_eq!(hub.gauges().0, 0);
    let stream = hub.subscribe(vec![topic("feed")], None).await;
    assert_eq!(hub.gauges().0, 1);
    drop(stream);
    assert_eq!(hub.gauges().0, 0);
    assert!(hub.wait_for(EventId::ZERO, Duration::from_millis(10)).await);
}

#[tokio::test]
async fn a_lazy_replay_reads_the_window_in_chunks_then_switches_to_live_exactly() {
    let broker = MemoryBroker::new(1000);
    let hub = hub_on(&broker, HubConfig::default()).await;
    let ids = publish_n(&hub, "a", 200).await;
    let mut sub = hub.subscribe(vec![topic("a")], Some(ids[10])).await;
    assert!(sub.replaying());
    assert_eq!(hub.gauges().0, 1, "a replaying stream counts as open");
    let mut got = Vec::new();
    for _ in 0..50 {
        got.push(sub.try_next().unwrap().id);
    }
    // Published while the replay is read: they come after it, once each.
    let live = publish_n(&hub, "a", 5).await;
    while got.len() < 189 + 5 {
        got.push(sub.next().await.unwrap().id);
    }
    assert!(!sub.replaying());
    let expected: Vec<EventId> = ids[11..].iter().chain(&live).copied().collect();
    assert_eq!(got, expected);
    assert!(sub.try_next().is_none());
}

#[tokio::test]
async fn a_replay_the_window_moves_past_ends_like_a_lagging_reader() {
    let broker = MemoryBroker::new(1000);
    let config = HubConfig {
        history: 200,
        ..HubConfig::default()
    };
    let hub = hub_on(&broker, config).await;
    let ids = publish_n(&hub, "a", 200).await;
    let mut sub = hub.subscribe(vec![topic("a")], Some(ids[0])).await;
    let first = sub.try_next().unwrap().id;
    assert_eq!(first, ids[1]);
    // The reader stalls; the window moves on past what it has not read.
    publish_n(&hub, "a", 300).await;
    let mut got = vec![first];
    while let Some(ev) = sub.next().await {
        got.push(ev.id);
    }
    assert!(sub.lagged(), "ended as a lagging reader, not silently");
    assert_eq!(
        got,
        ids[1..got.len() + 1].to_vec(),
        "what it got has no gap"
    );
    assert_eq!(hub.gauges().0, 0);
    // Resuming from its last id now gets a reset: never a replay with a hole in it.
    let mut again = hub.subscribe(vec![topic("a")], got.last().copied()).await;
    assert!(matches!(again.take_replay(), Replay::Reset { .. }));
}

#[tokio::test]
async fn monitor_history_is_fed_by_commits_and_rebuilt_by_a_restart() {
    use crate::event::history::Range;
    let broker = MemoryBroker::new(100);
    let hub = hub_on(&broker, HubConfig::default()).await;
    // A minute ago, on a 30 s boundary, so the three samples share one bucket of the 1 h tier.
    let t0 = crate::event::now_ms() / 30_000 * 30_000 - 60_000;
    for (i, cpu) in [10.0, 90.0, 20.0].into_iter().enumerate() {
        let data = format!(
            r#"{{"cpu":{cpu},"mem_used":1,"mem_total":2,"at":{}}}"#,
            t0 + i as i64 * 2_000
        );
        hub.publish(topic("monitor"), data).await.unwrap();
    }
    // An old event without a time still counts, at its event's time.
    let last = hub
        .publish(
            topic("monitor"),
            r#"{"cpu":5,"mem_used":1,"mem_total":2}"#.into(),
        )
        .await
        .unwrap();
    let five = hub.monitor_history(Range::FiveMinutes);
    assert_eq!(five.through, last.get());
    let cpu: Vec<f64> = five.tier.buckets.iter().map(|b| b.mean[0]).collect();
    assert_eq!(cpu, [10.0, 90.0, 20.0, 5.0]);
    let hour = hub.monitor_history(Range::Hour).tier.buckets[0].clone();
    assert_eq!((hour.n, hour.max[0], hour.mean[1]), (3, 90.0, 50.0));

    // A second instance on the same log starts with the same history.
    let again = hub_on(&broker, HubConfig::default()).await;
    assert_eq!(again.monitor_history(Range::Hour).tier.buckets[0], hour);
    assert_eq!(
        again.monitor_history(Range::FiveMinutes).through,
        last.get()
    );
}

#[tokio::test]
async fn the_shared_snapshot_is_current_after_every_event_and_unchanged_for_its_holders() {
    let broker = MemoryBroker::new(100);
    let hub = hub_on(&broker, HubConfig::default()).await;
    let stocks = topic("stocks");
    hub.publish(stocks.clone(), r#"{"symbol":"ACME","price":10}"#.into())
        .await
        .unwrap();
    let before = hub.snapshot();
    // Readers between two events share one copy.
    assert!(Arc::ptr_eq(&before, &hub.snapshot()));
    let id = hub
        .publish(stocks, r#"{"symbol":"ACME","price":12.5}"#.into())
        .await
        .unwrap();
    let after = hub.snapshot();
    assert_eq!(after.id, id);
    assert_eq!(after.stocks.quotes["ACME"].price, 12.5);
    // A page still rendering from the older copy sees the state it started with.
    assert_eq!(before.stocks.quotes["ACME"].price, 10.0);
    assert!(before.id < after.id);
}
