//! The jobs API end to end over HTTP: every status code, a worker loop that learns of a cancel,
//! the per-job stream, Pulse's own export (byte for byte, cancel removes the partial file) and
//! job state after a restart. Real server on loopback, real SQLite files.

mod common;

use std::time::Duration;

use common::{SseClient, TestServer, TOKEN};
use serde_json::{json, Value};

async fn call(
    server: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut req = match method {
        "GET" => client.get(server.url(path)),
        _ => client.post(server.url(path)),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post(server: &TestServer, path: &str, body: Value) -> (u16, Value) {
    call(server, "POST", path, Some(body), Some(TOKEN)).await
}

async fn job(server: &TestServer, id: &str) -> Value {
    let (status, body) = call(server, "GET", &format!("/api/jobs/{id}"), None, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn every_bad_input_gets_a_clear_answer_and_changes_nothing() {
    let server = TestServer::start(&[]).await;
    // No token, wrong token.
    let (s, b) = call(
        &server,
        "POST",
        "/api/jobs",
        Some(json!({"name": "x"})),
        None,
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (401, Some("unauthorized")));
    let (s, _) = call(
        &server,
        "POST",
        "/api/jobs",
        Some(json!({"name": "x"})),
        Some("nope"),
    )
    .await;
    assert_eq!(s, 401);
    // Bad new jobs.
    for (body, what) in [
        (json!({"name": ""}), "name"),
        (json!({"name": "x", "total": 0}), "positive"),
        (json!({"name": "x", "total": -5}), "positive"),
        (json!({"name": "x", "colour": "red"}), "unknown field"),
    ] {
        let (s, b) = post(&server, "/api/jobs", body).await;
        assert_eq!(s, 400, "{b}");
        assert!(b["detail"].as_str().unwrap().contains(what), "{b}");
    }
    let (s, b) = post(
        &server,
        "/api/jobs",
        json!({"name": "Nightly export", "total": 1200}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_owned();
    assert_eq!(b["status"], "queued");
    // Unknown job.
    let (s, b) = post(&server, "/api/jobs/jnope/progress", json!({"step": 1})).await;
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
    // Bad reports change nothing.
    let before = job(&server, &id).await;
    for (body, what) in [
        (json!({"step": -1}), "0 or more"),
        (json!({"step": 1201}), "past the total"),
        (json!({"total": 0}), "positive"),
        (json!({"status": "finished"}), "completed"),
        (json!({"step": "ten"}), "body"),
    ] {
        let (s, b) = post(&server, &format!("/api/jobs/{id}/progress"), body).await;
        assert_eq!(s, 400, "{b}");
        assert!(b["detail"].as_str().unwrap().contains(what), "{b}");
    }
    assert_eq!(
        job(&server, &id).await,
        before,
        "a refused report changed the job"
    );
    // A final status, then progress after it: 409.
    let (s, b) = post(
        &server,
        &format!("/api/jobs/{id}/progress"),
        json!({"status": "completed", "message": "all rows"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "completed");
    let (s, b) = post(
        &server,
        &format!("/api/jobs/{id}/progress"),
        json!({"step": 5}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (409, Some("conflict")), "{b}");
    assert!(b["detail"].as_str().unwrap().contains("already completed"));
    // Retry is for Pulse's own jobs; cancel of a finished job is a conflict.
    let (s, _) = post(&server, &format!("/api/jobs/{id}/retry"), json!({})).await;
    assert_eq!(s, 409);
    let (s, _) = post(&server, &format!("/api/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(s, 409);
    // Job progress cannot be forged through the publish API.
    let (s, _) = server
        .publish_raw(
            "jobs",
            r#"{"id":"x","name":"x","status":"completed","created_ms":0,"updated_ms":0}"#,
        )
        .await;
    assert_eq!(s, 400);
    server.stop().await.unwrap();
}

/// A worker loop reports steps; the stream shows each state and ends with `done`; a cancel
/// reaches the worker on its next report.
#[tokio::test]
async fn a_worker_reports_progress_watches_its_stream_and_learns_of_a_cancel() {
    let server = TestServer::start(&[]).await;
    let (_, b) = post(
        &server,
        "/api/jobs",
        json!({"name": "Import", "total": 100}),
    )
    .await;
    let id = b["id"].as_str().unwrap().to_owned();
    let mut stream = SseClient::connect(&server.url(&format!("/api/jobs/{id}/events")), None).await;
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    let first = stream.next_event(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.event, "progress");
    let v: Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["step"].as_u64()),
        (Some("queued"), Some(0))
    );
    for step in [10, 20, 30] {
        let (s, b) = post(
            &server,
            &format!("/api/jobs/{id}/progress"),
            json!({"step": step, "log": [format!("row {step}")]}),
        )
        .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["cancel_requested"], false);
    }
    // Each state arrives (or, for a slow reader, the newest one: never an older one after it).
    let mut last_step = 0;
    while last_step < 30 {
        let ev = stream
            .next_event(Duration::from_secs(5))
            .await
            .expect("progress");
        assert_eq!(ev.event, "progress");
        let v: Value = serde_json::from_str(&ev.data).unwrap();
        let step = v["step"].as_u64().unwrap();
        assert!(step >= last_step);
        last_step = step;
        assert_eq!(v["percentage"].as_f64(), Some(step as f64));
        for key in [
            "id", "name", "total", "status", "message", "eta_secs", "rate",
        ] {
            assert!(v.get(key).is_some(), "{key} missing from {v}");
        }
    }
    // Resume mid-job: a new stream (with the last id) starts from the current state.
    let mut resumed =
        SseClient::connect(&server.url(&format!("/api/jobs/{id}/events")), Some("1")).await;
    let now = resumed.next_event(Duration::from_secs(5)).await.unwrap();
    let v: Value = serde_json::from_str(&now.data).unwrap();
    assert_eq!(v["step"], 30);
    assert_eq!(
        job(&server, &id).await["log"],
        json!(["row 10", "row 20", "row 30"])
    );
    // Cancel: the worker's next report hears it and the job ends as cancelled.
    let (s, b) = post(&server, &format!("/api/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(
        (s, b["cancel_requested"].as_bool()),
        (200, Some(true)),
        "{b}"
    );
    let (s, b) = post(
        &server,
        &format!("/api/jobs/{id}/progress"),
        json!({"step": 40}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b["cancel_requested"], true);
    assert_eq!(b["status"], "cancelled");
    let rest = stream.drain_to_end(Duration::from_secs(5)).await;
    assert!(stream.ended, "the stream ends after the final state");
    let done = rest.last().expect("a last event");
    assert_eq!(done.event, "done");
    assert_eq!(
        serde_json::from_str::<Value>(&done.data).unwrap()["status"],
        "cancelled"
    );
    // A finished job answers with its final state and `done` at once.
    let mut late = SseClient::connect(&server.url(&format!("/api/jobs/{id}/events")), None).await;
    let evs = late.drain_to_end(Duration::from_secs(5)).await;
    let names: Vec<&str> = evs.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["progress", "done"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_export_writes_exactly_the_chosen_events_and_downloads() {
    let server = TestServer::start(&[]).await;
    let mut expected_ndjson = String::new();
    let mut expected_csv = String::from("id,topic,at_ms,data\n");
    for n in 0..25 {
        let topic = if n % 2 == 0 { "orders" } else { "other" };
        let id = server
            .publish(topic, &format!(r#"{{"n":{n},"q":"a\"b"}}"#))
            .await;
        if topic == "orders" {
            let ev = server_event(&server, id).await;
            expected_ndjson.push_str(&format!(
                "{{\"id\":{id},\"topic\":\"orders\",\"at_ms\":{},\"data\":{}}}\n",
                ev.0, ev.1
            ));
            expected_csv.push_str(&format!(
                "{id},orders,{},\"{}\"\n",
                ev.0,
                ev.1.replace('"', "\"\"")
            ));
        }
    }
    for (format, expected) in [("ndjson", &expected_ndjson), ("csv", &expected_csv)] {
        let (s, b) = post(
            &server,
            "/api/jobs/export",
            json!({"topics": ["orders"], "format": format}),
        )
        .await;
        assert_eq!(s, 201, "{b}");
        let id = b["id"].as_str().unwrap().to_owned();
        let done = wait_final(&server, &id).await;
        assert_eq!(done["status"], "completed", "{done}");
        assert_eq!(done["step"], 13);
        let res = reqwest::Client::new()
            .get(server.url(&format!("/api/jobs/{id}/download")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let disposition = res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            disposition,
            format!("attachment; filename=\"pulse-{id}.{format}\"")
        );
        let body = res.text().await.unwrap();
        assert_eq!(&body, expected, "{format} export differs");
        // Without a token or operator session: 401.
        let res = reqwest::get(server.url(&format!("/api/jobs/{id}/download")))
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    server.stop().await.unwrap();
}

/// `(at_ms, data)` of event `id`, from the custom topic's snapshot of the newest event.
async fn server_event(server: &TestServer, id: u64) -> (i64, String) {
    let snap: Value = reqwest::get(server.url("/api/topics/orders/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(snap["state"]["last_id"].as_u64(), Some(id));
    let data = serde_json::to_string(&snap["state"]["last"]).unwrap();
    // The export writes the stored compact JSON; the snapshot's parse/serialize keeps it.
    let at = server_at(server, id).await;
    (at, data)
}

/// The accept time of event `id`, read back through a one-event export would be circular; the
/// stream does not carry it either, so read it from the event log file.
async fn server_at(server: &TestServer, id: u64) -> i64 {
    let conn = rusqlite::Connection::open(server.dir.join("events.db")).unwrap();
    conn.query_row("SELECT at_ms FROM events WHERE id = ?1", [id as i64], |r| {
        r.get(0)
    })
    .unwrap()
}

async fn wait_final(server: &TestServer, id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let j = job(server, id).await;
        if matches!(
            j["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        ) {
            return j;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {id} never finished: {j}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn cancelling_an_export_stops_it_and_removes_the_partial_file() {
    // One event per progress report, each report durable: a real, slow-enough export.
    let server = TestServer::start(&["--export-batch", "1", "--sync", "full"]).await;
    for n in 0..400 {
        server.publish("bulk", &format!(r#"{{"n":{n}}}"#)).await;
    }
    let (_, b) = post(&server, "/api/jobs/export", json!({"topics": ["bulk"]})).await;
    let id = b["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let j = job(&server, &id).await;
        if j["step"].as_u64().unwrap_or(0) >= 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "export never progressed: {j}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let part = server.dir.join("exports").join(format!("{id}.ndjson.part"));
    assert!(part.exists(), "a partial file while it runs");
    let asked = tokio::time::Instant::now();
    let (s, _) = post(&server, &format!("/api/jobs/{id}/cancel"), json!({})).await;
    assert_eq!(s, 200);
    let done = wait_final(&server, &id).await;
    assert_eq!(done["status"], "cancelled", "{done}");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "stopped in {:?}",
        asked.elapsed()
    );
    assert!(done["step"].as_u64().unwrap() < 400);
    assert!(!part.exists(), "the partial file is removed");
    assert!(!server
        .dir
        .join("exports")
        .join(format!("{id}.ndjson"))
        .exists());
    // Retry runs it again from the start, to completion.
    let (s, b) = post(&server, &format!("/api/jobs/{id}/retry"), json!({})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["attempt"], 1);
    assert_eq!(wait_final(&server, &id).await["status"], "completed");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn jobs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), &["--history", "5"]).await;
    let (_, b) = post(
        &server,
        "/api/jobs",
        json!({"name": "Long import", "total": 10}),
    )
    .await;
    let id = b["id"].as_str().unwrap().to_owned();
    post(
        &server,
        &format!("/api/jobs/{id}/progress"),
        json!({"step": 4, "message": "half way"}),
    )
    .await;
    // Push the job's events out of the replay window.
    for n in 0..10 {
        server.publish("other", &format!(r#"{{"n":{n}}}"#)).await;
    }
    server.stop().await.unwrap();
    let server = TestServer::start_in(dir.path(), &["--history", "5"]).await;
    let j = job(&server, &id).await;
    assert_eq!(
        (j["step"].as_u64(), j["message"].as_str()),
        (Some(4), Some("half way"))
    );
    // The worker carries on after the restart.
    let (s, b) = post(
        &server,
        &format!("/api/jobs/{id}/progress"),
        json!({"step": 10, "status": "completed"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    server.stop().await.unwrap();
}

/// Compaction applies retention and rebuilds the log file: it ends `completed` with progress
/// per phase, and the file is smaller afterwards (the trimmed rows' pages are given back).
#[tokio::test]
async fn compacting_the_event_log_shrinks_the_file() {
    let server = TestServer::start(&["--history", "20"]).await;
    let pad = "x".repeat(2000);
    for n in 0..300 {
        server
            .publish("bulk", &format!(r#"{{"n":{n},"pad":"{pad}"}}"#))
            .await;
    }
    let log = server.dir.join("events.db");
    let wal = server.dir.join("events.db-wal");
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let before = size(&log) + size(&wal);
    let (s, b) = post(&server, "/api/jobs/compact", json!({})).await;
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().unwrap().to_owned();
    let done = wait_final(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["step"], done["total"], "{done}");
    assert!(
        done["message"].as_str().unwrap().contains("bytes"),
        "{done}"
    );
    let after = size(&log) + size(&wal);
    assert!(
        after < before / 2,
        "log {before} B before, {after} B after compaction"
    );
    // The log still takes events and replays them.
    let id = server.publish("bulk", r#"{"n":300}"#).await;
    let mut sub = SseClient::connect(
        &server.url("/api/events?topics=bulk"),
        Some(&(id - 1).to_string()),
    )
    .await;
    let ev = sub
        .next_event(Duration::from_secs(5))
        .await
        .expect("replayed");
    assert_eq!(ev.data, r#"{"n":300}"#);
    server.stop().await.unwrap();
}

/// `kill -9` mid-run: a worker's job keeps its last acknowledged state; Pulse's own export that
/// was running shows as `failed` with the reason once the process is back, and can be retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_jobs_keep_their_state_and_an_interrupted_export_is_failed() {
    use common::process::{free_port, PulseProcess};
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // One event per progress report and a durable report each time: the export runs long
    // enough to be killed in the middle.
    let env = [
        ("PULSE_EXPORT_BATCH", "1"),
        ("PULSE_MONITOR_INTERVAL_MS", "0"),
        ("PULSE_SCORES_GAMES", "0"),
    ];
    let node = PulseProcess::start_with(dir.path(), port, &env).await;
    let base = node.base();
    let client = reqwest::Client::new();
    let post = |path: String, body: Value| {
        let req = client
            .post(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, worker) = post("/api/jobs".into(), json!({"name": "Import", "total": 50})).await;
    let worker = worker["id"].as_str().unwrap().to_owned();
    let (s, _) = post(
        format!("/api/jobs/{worker}/progress"),
        json!({"step": 17, "message": "rows to 17"}),
    )
    .await;
    assert_eq!(s, 200);
    for n in 0..300 {
        let (s, _) = post("/api/topics/bulk/events".into(), json!({"n": n})).await;
        assert_eq!(s, 202);
    }
    let (_, export) = post("/api/jobs/export".into(), json!({"topics": ["bulk"]})).await;
    let export = export["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let j: Value = reqwest::get(format!("{base}/api/jobs/{export}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if j["step"].as_u64().unwrap_or(0) >= 3 {
            assert_eq!(j["status"], "running", "{j}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "export never ran: {j}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.kill_9();

    let node = PulseProcess::start_with(dir.path(), port, &env).await;
    let base = node.base();
    let get = |id: String| {
        let url = format!("{base}/api/jobs/{id}");
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let w = get(worker.clone()).await;
    assert_eq!(
        (
            w["status"].as_str(),
            w["step"].as_u64(),
            w["message"].as_str()
        ),
        (Some("running"), Some(17), Some("rows to 17")),
        "{w}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let e = loop {
        let e = get(export.clone()).await;
        if e["status"] != "running" || tokio::time::Instant::now() > deadline {
            break e;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(e["status"], "failed", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("Pulse stopped"),
        "{e}"
    );
    for leftover in [format!("{export}.ndjson"), format!("{export}.ndjson.part")] {
        assert!(
            !dir.path().join("exports").join(&leftover).exists(),
            "{leftover} is still on disk"
        );
    }
    node.terminate();
}
