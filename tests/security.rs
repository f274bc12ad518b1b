//! Browser security over real HTTP: security headers and a per-request CSP nonce on every page
//! script; cross-site calls of every server function refused with nothing changed; CORS only
//! for allowlisted origins; a global limit on failed sign-ins; error bodies without internals.

mod common;

use common::{TestServer, SECS5};

// ---------------------------------------------------------------------------------------------
// Security headers
// ---------------------------------------------------------------------------------------------

/// The opening tags of every `<script` element in `html`.
fn script_tags(html: &str) -> Vec<&str> {
    html.match_indices("<script")
        .map(|(i, _)| &html[i..i + html[i..].find('>').expect("a closed tag") + 1])
        .collect()
}

/// The nonce a page's CSP names for scripts.
fn csp_nonce(csp: &str) -> String {
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {csp}"));
    assert!(
        !script_src.contains("'unsafe-inline'") && !script_src.contains("'unsafe-eval'"),
        "{script_src}"
    );
    let start = script_src.find("'nonce-").expect("a nonce source") + 7;
    script_src[start..script_src[start..].find('\'').unwrap() + start].to_owned()
}

#[tokio::test]
async fn pages_carry_security_headers_and_every_script_the_pages_nonce() {
    let server = TestServer::start(&[]).await;
    server
        .publish(
            "feed",
            r#"{"author":"ann","text":"</script><script>alert(1)</script>"}"#,
        )
        .await;
    for path in ["/", "/stocks", "/feed", "/no-such-page"] {
        let mut nonces = Vec::new();
        for _ in 0..2 {
            let res = reqwest::get(server.url(path)).await.unwrap();
            let h = res.headers().clone();
            let get = |name: &str| {
                h.get(name)
                    .unwrap_or_else(|| panic!("{path}: no {name}"))
                    .to_str()
                    .unwrap()
                    .to_owned()
            };
            assert!(get("content-type").starts_with("text/html"), "{path}");
            assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(get("x-frame-options"), "DENY", "{path}");
            assert_eq!(get("referrer-policy"), "same-origin", "{path}");
            let csp = get("content-security-policy");
            for directive in [
                "default-src 'self'",
                "frame-ancestors 'none'",
                "object-src 'none'",
                "base-uri 'none'",
            ] {
                assert!(
                    csp.contains(directive),
                    "{path}: {directive} missing in {csp}"
                );
            }
            let nonce = csp_nonce(&csp);
            assert!(nonce.len() >= 22, "{path}: a short nonce {nonce:?}");
            let html = res.text().await.unwrap();
            let tags = script_tags(&html);
            let executable: Vec<_> = tags
                .iter()
                .filter(|t| !t.contains(r#"type="application/json""#))
                .collect();
            assert!(
                !executable.is_empty(),
                "{path}: no hydration script in the page"
            );
            for tag in &executable {
                assert!(
                    tag.contains(&format!(r#"nonce="{nonce}""#)),
                    "{path}: a script without the page's nonce: {tag}"
                );
            }
            assert!(
                !html.contains("<script>alert(1)"),
                "{path}: a post's markup reached the page as markup"
            );
            nonces.push(nonce);
        }
        assert_ne!(
            nonces[0], nonces[1],
            "{path}: the nonce must differ per request"
        );
    }
    // Everything else: nosniff, and a policy that loads and frames nothing.
    for path in ["/healthz", "/api/topics/feed/snapshot"] {
        let res = reqwest::get(server.url(path)).await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            h["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
    }
    server.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Cross-site requests to the server functions
// ---------------------------------------------------------------------------------------------

const PASSWORD: &str = "keeper-pass";
const FORM: &str = "application/x-www-form-urlencoded";

/// A server-function call: `headers` added to a POST whose body is `form`, sent as `ctype`.
async fn call(
    server: &TestServer,
    name: &str,
    headers: &[(&str, &str)],
    ctype: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+")))
        .collect::<Vec<_>>()
        .join("&");
    let mut req = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(server.url(&format!("/api/fn/{name}")))
        .header("content-type", ctype)
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("server function request")
}

/// What a user could see change: the feed, the scores, the jobs, and whether `session` is
/// signed in.
async fn observable(server: &TestServer, session: &str) -> (String, String, String, String) {
    let get = |path: &'static str| async move {
        reqwest::get(server.url(path))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let status = call(server, "operator_status", &[("cookie", session)], FORM, &[])
        .await
        .text()
        .await
        .unwrap();
    (
        get("/api/topics/feed/snapshot").await,
        get("/api/topics/scores/snapshot").await,
        get("/api/jobs").await,
        status,
    )
}

/// A cross-site attempt: what it is, its headers, its content type, the error it must get.
type Attack<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test]
async fn every_state_changing_server_function_refuses_cross_site_calls() {
    let server = TestServer::start(&["--scorekeeper-password", PASSWORD]).await;
    server
        .publish(
            "scores",
            r#"{"id":"g1","home":"Lions","away":"Bears","status":"live","period":1}"#,
        )
        .await;
    let own_origin = format!("http://{}", server.addr);
    let own = [("origin", own_origin.as_str())];
    // A signed-in operator (from this site), whose cookie a cross-site request would carry.
    let res = call(&server, "sign_in", &own, FORM, &[("secret", PASSWORD)]).await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    let res = call(
        &server,
        "start_export",
        &[
            ("origin", own_origin.as_str()),
            ("cookie", session.as_str()),
        ],
        FORM,
        &[("topics", "scores"), ("format", "ndjson")],
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let job: String = res.json().await.unwrap();
    // Let the export finish, so the jobs list is settled before the attacks.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !observable(&server, &session)
        .await
        .2
        .contains(r#""status":"completed""#)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the export did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let calls: [(&str, Vec<(&str, &str)>); 8] = [
        (
            "create_post",
            vec![("author", "victim"), ("text", "forged post")],
        ),
        (
            "update_game",
            vec![
                ("game", "g1"),
                ("home_score", "9"),
                ("away_score", ""),
                ("status", "final"),
                ("play", ""),
            ],
        ),
        ("sign_in", vec![("secret", PASSWORD)]),
        ("sign_out", vec![]),
        (
            "start_export",
            vec![("topics", "scores"), ("format", "csv")],
        ),
        ("start_compact", vec![]),
        ("cancel_job", vec![("id", job.as_str())]),
        ("retry_job", vec![("id", job.as_str())]),
    ];
    let before = observable(&server, &session).await;
    assert_eq!(before.3, "true");
    let attacks: [Attack; 5] = [
        (
            "a foreign Origin",
            vec![("origin", "https://evil.example")],
            FORM,
            "cross_site",
        ),
        ("Origin null", vec![("origin", "null")], FORM, "cross_site"),
        (
            "Sec-Fetch-Site cross-site",
            vec![("sec-fetch-site", "cross-site")],
            FORM,
            "cross_site",
        ),
        (
            "a look-alike host",
            vec![("origin", "http://127.0.0.1.evil.example")],
            FORM,
            "cross_site",
        ),
        (
            "a text/plain body from this site",
            vec![("origin", own_origin.as_str())],
            "text/plain",
            "unsupported_media_type",
        ),
    ];
    for (name, form) in &calls {
        for (how, extra, ctype, error) in &attacks {
            let mut headers = extra.clone();
            headers.push(("cookie", session.as_str()));
            let res = call(&server, name, &headers, ctype, form).await;
            let status = res.status().as_u16();
            assert!(
                res.headers().get("set-cookie").is_none(),
                "{name} with {how}: a cookie was set"
            );
            let body: serde_json::Value = res.json().await.unwrap();
            let expected = if *error == "cross_site" { 403 } else { 415 };
            assert_eq!(status, expected, "{name} with {how}: {body}");
            assert_eq!(body["error"], *error, "{name} with {how}: {body}");
            assert!(
                body["detail"].as_str().is_some_and(|d| d.len() > 20),
                "{name} with {how}: no message: {body}"
            );
        }
    }
    assert_eq!(
        observable(&server, &session).await,
        before,
        "a refused call changed something"
    );
    // The same calls from this site's own page work (so the refusals above were the check).
    let res = call(&server, "create_post", &own, FORM, &calls[0].1).await;
    assert_eq!(res.status(), 200);
    let res = call(
        &server,
        "update_game",
        &[
            ("sec-fetch-site", "same-origin"),
            ("cookie", session.as_str()),
        ],
        FORM,
        &calls[1].1,
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let after = observable(&server, &session).await;
    assert!(after.0.contains("forged post") && after.1.contains(r#""home_score":9"#));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_no_js_form_is_redirected_only_within_this_site() {
    let server = TestServer::start(&[]).await;
    let own_origin = format!("http://{}", server.addr);
    let own_page = format!("{own_origin}/feed");
    for (referer, expected) in [
        (own_page.as_str(), "/feed"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/", "/"),
    ] {
        let res = call(
            &server,
            "create_post",
            &[
                ("origin", own_origin.as_str()),
                ("accept", "text/html"),
                ("referer", referer),
            ],
            FORM,
            &[("author", "nojs"), ("text", "form post")],
        )
        .await;
        assert_eq!(res.status(), 302, "Referer {referer}");
        let location = res.headers()["location"].to_str().unwrap();
        assert_eq!(location, expected, "Referer {referer}");
    }
    server.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

/// A preflight from `origin` for a `GET` of `path` that resumes with `Last-Event-ID`.
async fn preflight(server: &TestServer, path: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.url(path))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "last-event-id")
        .send()
        .await
        .unwrap()
}

async fn get_from(server: &TestServer, path: &str, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(server.url(path))
        .header("origin", origin)
        .send()
        .await
        .unwrap()
}

const READ_PATHS: [&str; 3] = [
    "/api/events?topics=feed",
    "/api/topics/feed/snapshot",
    "/api/jobs",
];

#[tokio::test]
async fn cors_answers_only_allowlisted_origins_and_never_with_credentials() {
    let allowed = "https://dash.example";
    let server =
        TestServer::start(&["--cors-origin", "https://dash.example,https://b.example"]).await;
    server
        .publish("feed", r#"{"author":"ann","text":"hi"}"#)
        .await;
    for path in READ_PATHS {
        let res = preflight(&server, path, allowed).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let h = res.headers();
        assert_eq!(h["access-control-allow-origin"], allowed, "{path}");
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        assert!(
            methods.contains("GET") && !methods.contains("POST"),
            "{path}: {methods}"
        );
        let headers = h["access-control-allow-headers"].to_str().unwrap();
        assert!(headers.contains("last-event-id"), "{path}: {headers}");
        assert!(
            h.get("access-control-allow-credentials").is_none(),
            "{path}"
        );

        let res = preflight(&server, path, "https://evil.example").await;
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "{path}: a foreign origin was allowed"
        );
    }
    // The actual reads: the allowed origin gets its own origin back, a foreign one nothing.
    let res = get_from(&server, "/api/topics/feed/snapshot", allowed).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], allowed);
    assert!(res
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let res = get_from(&server, "/api/topics/feed/snapshot", "https://evil.example").await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
    // Publishing is not readable cross-origin: its preflight is refused.
    let res = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            server.url("/api/topics/feed/events"),
        )
        .header("origin", allowed)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    server.stop().await.unwrap();

    // Without --cors-origin: same-origin only, for every origin.
    let server = TestServer::start(&[]).await;
    for path in READ_PATHS {
        let res = preflight(&server, path, allowed).await;
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "{path}: CORS without --cors-origin"
        );
    }
    let res = get_from(&server, "/api/topics/feed/snapshot", allowed).await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_wildcard_or_a_path_is_no_cors_origin() {
    for bad in ["*", "https://dash.example/app", "dash.example"] {
        let server = TestServer::start(&["--cors-origin", bad]).await;
        let err = server
            .join()
            .await
            .expect_err("started with a bad --cors-origin");
        assert_eq!(err.exit_code(), 2, "{bad}");
        assert!(err.to_string().contains("--cors-origin"), "{bad}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-in guessing from many addresses
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_hundred_addresses_cannot_make_five_hundred_guesses() {
    // Behind a trusted proxy every X-Forwarded-For is a different client: each of 100 stays
    // within its own per-address limit (a burst of 5).
    let server = TestServer::start(&[
        "--scorekeeper-password",
        PASSWORD,
        "--trusted-proxy",
        "127.0.0.1",
    ])
    .await;
    let started = std::time::Instant::now();
    let (mut wrong, mut refused, mut other) = (0, 0, Vec::new());
    for guess in 0..500 {
        let addr = format!("198.51.100.{}", guess % 100 + 1);
        let res = call(
            &server,
            "sign_in",
            &[("x-forwarded-for", addr.as_str())],
            FORM,
            &[("secret", &format!("guess-{guess}"))],
        )
        .await;
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        match status {
            401 if body == r#""WrongSecret""# => wrong += 1,
            429 if body.contains("TooManyAttempts") => refused += 1,
            _ => other.push((status, body)),
        }
    }
    let elapsed = started.elapsed();
    assert!(other.is_empty(), "unexpected answers: {other:?}");
    assert!(
        wrong <= 25,
        "{wrong} guesses were checked in {elapsed:?} (at most ~20 before the lock)"
    );
    assert_eq!(wrong + refused, 500);
    // While locked, even the right password waits: the answer says how long. (One more wrong
    // guess first, so a lock is on even if the last one just ran out.)
    call(
        &server,
        "sign_in",
        &[("x-forwarded-for", "203.0.113.50")],
        FORM,
        &[("secret", "one-more-guess")],
    )
    .await;
    let res = call(
        &server,
        "sign_in",
        &[("x-forwarded-for", "203.0.113.50")],
        FORM,
        &[("secret", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 429);
    let body: serde_json::Value = res.json().await.unwrap();
    let wait = body["TooManyAttempts"]["retry_after_secs"]
        .as_u64()
        .unwrap();
    assert!((1..=300).contains(&wait), "{body}");
    server.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Errors: no internals to clients; start-up errors name the component
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_server_function_arguments_get_400_with_no_internals() {
    let server = TestServer::start(&[]).await;
    let dir = server.dir.to_str().unwrap().to_owned();
    let before = reqwest::get(server.url("/api/topics/feed/snapshot"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (name, form) in [
        ("create_post", "author=ann"),
        ("update_game", "game=g1"),
        ("older_posts", "before=not-a-number"),
        ("sign_in", ""),
    ] {
        let res = reqwest::Client::new()
            .post(server.url(&format!("/api/fn/{name}")))
            .header("content-type", FORM)
            .body(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap();
        assert_eq!(status, 400, "{name} {form:?}: {body}");
        assert!(body.contains("Request"), "{name} {form:?}: {body}");
        assert!(!body.contains(&dir), "{name}: the data dir in {body}");
    }
    let after = reqwest::get(server.url("/api/topics/feed/snapshot"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(before, after);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_storage_fault_reaches_clients_without_server_paths() {
    let server = TestServer::start(&["--scorekeeper-password", PASSWORD]).await;
    let dir = server.dir.to_str().unwrap().to_owned();
    // The exports directory cannot be created: a file is in its place.
    std::fs::write(server.dir.join("exports"), b"not a directory").unwrap();
    let res = call(&server, "sign_in", &[], FORM, &[("secret", PASSWORD)]).await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    let res = call(
        &server,
        "start_export",
        &[("cookie", session.as_str())],
        FORM,
        &[("topics", "feed"), ("format", "ndjson")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let jobs = loop {
        let jobs = reqwest::get(server.url("/api/jobs"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if jobs.contains(r#""status":"failed""#) {
            break jobs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the export did not fail: {jobs}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(jobs.contains("see the server log"), "{jobs}");
    let page = reqwest::get(server.url("/jobs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (what, body) in [("/api/jobs", &jobs), ("/jobs", &page)] {
        assert!(!body.contains(&dir), "{what} shows the data dir: {body}");
        assert!(
            !body.contains("os error"),
            "{what} shows an OS error: {body}"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn start_up_errors_name_the_component_that_failed() {
    for (file, component) in [
        ("posts.db", "posts table"),
        ("jobs.db", "jobs table"),
        ("events.db", "event log"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the database file should be.
        std::fs::create_dir(dir.path().join(file)).unwrap();
        let server = TestServer::start_in(dir.path(), &[]).await;
        let err = server
            .join()
            .await
            .expect_err("started without its database");
        assert_eq!(err.exit_code(), 3, "{file}: {err}");
        assert!(
            err.to_string().starts_with(&format!("{component}: ")),
            "{file}: {err}"
        );
        assert!(err.to_string().contains(file), "{file}: {err}");
    }
}

// ---------------------------------------------------------------------------------------------
// Named publish tokens
// ---------------------------------------------------------------------------------------------

async fn publish_with(server: &TestServer, token: &str, topic: &str) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(server.url(&format!("/api/topics/{topic}/events")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(r#"{"celsius":21.5}"#)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn named_tokens_are_limited_to_their_topics_and_revoked_by_the_file() {
    const SENSORS: &str = "sensors-token-0123456789";
    const CI: &str = "ci-token-0123456789abcd";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(
        &file,
        format!("# name token topics\nsensors {SENSORS} sensors.*\nci {CI}\n"),
    )
    .unwrap();
    let data = dir.path().join("data");
    let args = ["--tokens-file", file.to_str().unwrap()];
    let server = TestServer::start_in(&data, &args).await;
    let (status, body) = publish_with(&server, SENSORS, "sensors.kitchen").await;
    assert_eq!(status, 202, "{body}");
    let (status, body) = publish_with(&server, SENSORS, "stocks-like").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden_topic");
    assert!(
        body["detail"].as_str().unwrap().contains("sensors"),
        "{body}"
    );
    let (status, _) = publish_with(&server, CI, "anything").await;
    assert_eq!(status, 202);
    // The main token still works beside the named ones.
    let (status, _) = publish_with(&server, common::TOKEN, "anything").await;
    assert_eq!(status, 202);
    // Reporting jobs needs a token whose patterns include `jobs`.
    let res = reqwest::Client::new()
        .post(server.url("/api/jobs"))
        .bearer_auth(SENSORS)
        .json(&serde_json::json!({"name": "calibrate"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let before = reqwest::get(server.url("/api/topics/anything/snapshot"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    server.stop().await.unwrap();

    // Revoke `ci` by deleting its line, then restart.
    std::fs::write(&file, format!("sensors {SENSORS} sensors.*\n")).unwrap();
    let server = TestServer::start_in(&data, &args).await;
    let (status, body) = publish_with(&server, CI, "anything").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "unauthorized");
    let after = reqwest::get(server.url("/api/topics/anything/snapshot"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(before, after, "a revoked token's publish changed the topic");
    let (status, _) = publish_with(&server, SENSORS, "sensors.hall").await;
    assert_eq!(status, 202);
    server.stop().await.unwrap();

    // A bad file stops the start, naming the line.
    std::fs::write(&file, "short tooshort\n").unwrap();
    let err = TestServer::start_in(&data, &args)
        .await
        .join()
        .await
        .expect_err("started with a bad tokens file");
    assert_eq!(err.exit_code(), 4);
    assert!(err.to_string().contains("line 1"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Private topics: signed subscription URLs
// ---------------------------------------------------------------------------------------------

const SIGNING_KEY: &str = "signing-key-for-tests-0123456789abcdef";

/// `POST /api/subscriptions` with `token`; status and JSON body.
async fn mint(
    server: &TestServer,
    token: Option<&str>,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::Client::new()
        .post(server.url("/api/subscriptions"))
        .json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

/// A GET that should be refused: its status and JSON body.
async fn refused(server: &TestServer, path_and_query: &str) -> (u16, serde_json::Value) {
    let res = reqwest::get(server.url(path_and_query)).await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{path_and_query}: not JSON: {text:?}"));
    (status, body)
}

#[tokio::test]
async fn private_topics_need_a_signed_url_that_cannot_be_edited_and_expires() {
    use common::SseClient;
    use pulse::event::Topic;
    use pulse::server::signed::Signer;
    use std::time::Duration;

    const SENSORS: &str = "sensors-token-0123456789";
    let wait = Duration::from_secs(5);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("signing-key");
    std::fs::write(&key_file, format!("{SIGNING_KEY}\n")).unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, format!("sensors {SENSORS} sensors.* secret.a\n")).unwrap();
    let args = [
        "--private-topics",
        "secret.*,vault",
        "--signing-key-file",
        key_file.to_str().unwrap(),
        "--tokens-file",
        tokens.to_str().unwrap(),
    ];
    let server = TestServer::start_in(&dir.path().join("a"), &args).await;

    // Minting needs a token, and a named token only signs what its patterns allow.
    let want = serde_json::json!({"topics": ["secret.a", "stocks"], "ttl_secs": 600});
    let (status, body) = mint(&server, None, want.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, body) = mint(
        &server,
        Some(SENSORS),
        serde_json::json!({"topics": ["secret.a", "vault"]}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden_topic");
    let (status, body) = mint(
        &server,
        Some(common::TOKEN),
        serde_json::json!({"topic": []}),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_request")));
    let (status, capped) = mint(
        &server,
        Some(SENSORS),
        serde_json::json!({"topics": ["secret.a"], "ttl_secs": 1_000_000_000u64}),
    )
    .await;
    assert_eq!(status, 200, "{capped}");
    assert_eq!(capped["ttl_secs"], 24 * 3600, "the TTL is capped at a day");

    let (status, granted) = mint(&server, Some(common::TOKEN), want).await;
    assert_eq!(status, 200, "{granted}");
    let url = granted["url"].as_str().unwrap().to_owned();
    let exp = granted["expires_at"].as_u64().unwrap();
    let query = granted["query"].as_str().unwrap().to_owned();
    let sig = query.rsplit_once("sig=").unwrap().1.to_owned();
    assert!(
        url.starts_with("/api/events?topics=secret.a,stocks&exp="),
        "{url}"
    );

    // The signed URL streams; a public stream needs nothing, as before.
    let mut private = SseClient::connect(&server.url(&url), None).await;
    let mut public = SseClient::connect(&server.url("/api/events?topics=stocks"), None).await;
    assert_eq!(private.status, 200);
    assert_eq!(public.status, 200);
    let secret_id = server.publish("secret.a", r#"{"n":1}"#).await;
    let ev = private.next_event(wait).await.expect("the private event");
    assert_eq!(
        (ev.id, ev.event.as_str(), ev.data.as_str()),
        (Some(secret_id.to_string()), "secret.a", r#"{"n":1}"#)
    );

    // Every refusal: status, error and a message that says what to do.
    let other_sig = "0".repeat(64);
    let later = exp + 3600;
    let expired = {
        let signer = Signer::new(SIGNING_KEY.as_bytes(), Vec::new());
        let topics = [Topic::parse("secret.a").unwrap()];
        let past = pulse::server::signed::now_secs() - 10;
        format!(
            "topics=secret.a&exp={past}&sig={}",
            signer.sign(&topics, past)
        )
    };
    for (what, path, status, error, says) in [
        (
            "no signature",
            "/api/events?topics=stocks,secret.a".to_owned(),
            401,
            "signature_required",
            "POST /api/subscriptions",
        ),
        (
            "no sig, only exp",
            format!("/api/events?topics=secret.a,stocks&exp={exp}"),
            401,
            "signature_required",
            "`secret.a` is a private topic",
        ),
        (
            "forged signature",
            format!("/api/events?topics=secret.a,stocks&exp={exp}&sig={other_sig}"),
            403,
            "bad_signature",
            "ask for a new one",
        ),
        (
            "another private topic added",
            format!("/api/events?topics=secret.a,stocks,vault&exp={exp}&sig={sig}"),
            403,
            "bad_signature",
            "same topics",
        ),
        (
            "a topic swapped",
            format!("/api/events?topics=secret.b,stocks&exp={exp}&sig={sig}"),
            403,
            "bad_signature",
            "same topics",
        ),
        (
            "exp pushed later",
            format!("/api/events?topics=secret.a,stocks&exp={later}&sig={sig}"),
            403,
            "bad_signature",
            "same exp",
        ),
        (
            "expired",
            format!("/api/events?{expired}"),
            401,
            "subscription_expired",
            "fetch a new one",
        ),
        (
            "snapshot without signature",
            "/api/topics/secret.a/snapshot".to_owned(),
            401,
            "signature_required",
            "private topic",
        ),
        (
            "snapshot with the stream's signature (two topics)",
            format!("/api/topics/secret.a/snapshot?exp={exp}&sig={sig}"),
            403,
            "bad_signature",
            "same topics",
        ),
    ] {
        let (got, body) = refused(&server, &path).await;
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(body["error"], error, "{what}: {body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(says), "{what}: {detail}");
    }

    // A snapshot URL signed for the topic alone reads it; a public snapshot needs nothing.
    let (status, one) = mint(
        &server,
        Some(common::TOKEN),
        serde_json::json!({"topics": ["secret.a"]}),
    )
    .await;
    assert_eq!(status, 200);
    let q = one["query"].as_str().unwrap();
    let exp_sig = &q[q.find("&exp=").unwrap() + 1..];
    let snap: serde_json::Value =
        reqwest::get(server.url(&format!("/api/topics/secret.a/snapshot?{exp_sig}")))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(snap["state"]["last"]["n"], 1, "{snap}");
    assert_eq!(snap["state"]["last_id"], secret_id);
    let res = reqwest::get(server.url("/api/topics/stocks/snapshot"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The refusals disturbed no one: both streams get exactly the next events, in order.
    let stock_id = server
        .publish("stocks", r#"{"symbol":"ACME","price":12.5}"#)
        .await;
    let secret_id2 = server.publish("secret.a", r#"{"n":2}"#).await;
    let got = private.take(2, wait).await;
    assert_eq!(
        common::ids(&got),
        [stock_id, secret_id2],
        "the private stream"
    );
    let got = public.take(1, wait).await;
    assert_eq!(common::ids(&got), [stock_id], "the public stream");
    assert_eq!(got[0].event, "stocks");
    assert!(public
        .next_event(Duration::from_millis(300))
        .await
        .is_none());

    // A second instance with the same key takes the first one's URL (instances behind one
    // proxy share --signing-key-file); one with its own generated key refuses it.
    let twin = TestServer::start_in(&dir.path().join("b"), &args).await;
    let again = SseClient::try_connect(&twin.url(&url), None).await;
    assert!(again.is_some(), "the same key did not accept the URL");
    let stranger =
        TestServer::start_in(&dir.path().join("c"), &["--private-topics", "secret.*"]).await;
    let (status, body) = refused(&stranger, &url).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("bad_signature"))
    );
    assert!(
        dir.path().join("c/signing-key").exists(),
        "a key was generated"
    );
    drop(again);
    stranger.stop().await.unwrap();
    twin.stop().await.unwrap();
    drop(private);
    drop(public);
    server.stop().await.unwrap();

    // A built-in topic cannot be made private (its page subscribes without a signature).
    let err = TestServer::start_in(&dir.path().join("d"), &["--private-topics", "stock*"])
        .await
        .join()
        .await
        .expect_err("started with a private built-in topic");
    assert_eq!(err.exit_code(), 4);
    assert!(err.to_string().contains("`stocks`"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Script and SSE-control payloads in every user text field
// ---------------------------------------------------------------------------------------------

/// What a hostile user types: markup that would run if a page inserted it raw, and line breaks
/// that would start a forged event (`reset`, `presence`, a made-up id) if the stream did.
/// Each is sent wrapped in letters (`a…b`), so fields that are trimmed keep it whole.
const HOSTILE: [&str; 6] = [
    "</script><script>alert(1)</script>",
    "\n\nevent: reset\ndata: x\nid: 999999\n\n",
    "\r\nevent: presence\r\ndata: 999\r\n\r\n",
    "lone\rcr",
    "\"q\" \\ &amp; \u{2028}",
    // Last, so the game (which shows only its latest text) shows it too.
    "<img src=x onerror=alert(1)>",
];

/// Whether `text` is a string anywhere in `v` (a value or a key).
fn holds_string(v: &serde_json::Value, text: &str) -> bool {
    match v {
        serde_json::Value::String(s) => s == text,
        serde_json::Value::Array(a) => a.iter().any(|x| holds_string(x, text)),
        serde_json::Value::Object(o) => o.iter().any(|(k, x)| k == text || holds_string(x, text)),
        _ => false,
    }
}

/// A server-function call with a URL-encoded form (as a browser sends it), optionally with a
/// session cookie; status and body.
async fn form_call(
    server: &TestServer,
    name: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(server.url(&format!("/api/fn/{name}")))
        .form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// A JSON POST with the publish token; status and JSON body.
async fn post_json(
    server: &TestServer,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let res = reqwest::Client::new()
        .post(server.url(path))
        .bearer_auth(common::TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn script_and_sse_control_payloads_stay_text_in_every_field() {
    use serde_json::json;
    use std::time::Duration;

    let server =
        TestServer::start(&["--scorekeeper-password", PASSWORD, "--feed-burst", "100"]).await;
    let mut sse = common::SseClient::connect(
        &server.url("/api/events?topics=feed,notifications,scores,jobs,orders"),
        None,
    )
    .await;
    let (_, cookie) = {
        let res = reqwest::Client::new()
            .post(server.url("/api/fn/sign_in"))
            .form(&[("secret", PASSWORD)])
            .send()
            .await
            .unwrap();
        let c = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        (res.status(), c.split(';').next().unwrap().to_owned())
    };
    let job_id = {
        let (status, job) = post_json(&server, "/api/jobs", json!({"name": "plain job"})).await;
        assert_eq!(status, 201, "{job}");
        job["id"].as_str().unwrap().to_owned()
    };
    server
        .publish(
            "scores",
            r#"{"id":"g1","home":"Lions","away":"Bears","status":"live","period":1}"#,
        )
        .await;
    // The setup's events.
    let setup = sse.take(2, SECS5).await;
    let mut last_id: u64 = setup[1].id.as_deref().unwrap().parse().unwrap();

    let mut shown = Vec::new();
    for raw in HOSTILE {
        let text = format!("a{raw}b");
        shown.push(text.clone());
        // (what, topic, the event id if the action tells it, fields that must carry `text`)
        let mut sent: Vec<(&str, &str, Option<u64>, Vec<&str>)> = Vec::new();

        let body = json!({"author": text, "text": text}).to_string();
        let id = server.publish("feed", &body).await;
        sent.push(("feed publish", "feed", Some(id), vec!["author", "text"]));

        let (status, body) = form_call(
            &server,
            "create_post",
            None,
            &[("author", &text), ("text", &text)],
        )
        .await;
        assert_eq!(status, 200, "create_post: {body}");
        sent.push((
            "create_post",
            "feed",
            body.trim().parse().ok(),
            vec!["author", "text"],
        ));

        let body = json!({"level": "info", "title": text, "body": text, "source": text});
        let id = server.publish("notifications", &body.to_string()).await;
        sent.push((
            "notice",
            "notifications",
            Some(id),
            vec!["title", "body", "source"],
        ));

        let body = json!({"id": "g1", "home": text, "away": text, "last_play": text});
        let id = server.publish("scores", &body.to_string()).await;
        sent.push((
            "scores publish",
            "scores",
            Some(id),
            vec!["home", "away", "last_play"],
        ));

        let form = [
            ("game", "g1"),
            ("home_score", ""),
            ("away_score", ""),
            ("status", ""),
            ("play", text.as_str()),
        ];
        let (status, body) = form_call(&server, "update_game", Some(&cookie), &form).await;
        assert_eq!(status, 200, "update_game: {body}");
        let saved: serde_json::Value = serde_json::from_str(&body).unwrap();
        sent.push((
            "update_game",
            "scores",
            saved["event"].as_u64(),
            vec!["last_play"],
        ));

        let (status, job) = post_json(&server, "/api/jobs", json!({"name": text})).await;
        assert_eq!(status, 201, "{job}");
        sent.push(("job name", "jobs", None, vec!["name"]));
        let path = format!("/api/jobs/{job_id}/progress");
        let (status, body) = post_json(&server, &path, json!({"message": text, "step": 1})).await;
        assert_eq!(status, 200, "{body}");
        sent.push(("job message", "jobs", None, vec!["message"]));

        let body = json!({ "note": text, text.clone(): [text] }).to_string();
        let id = server.publish("orders", &body).await;
        sent.push(("custom topic", "orders", Some(id), vec!["note"]));

        // Exactly one event per action, of its topic, with its id, the text intact.
        let events = sse.take(sent.len(), SECS5).await;
        for ((what, topic, id, fields), ev) in sent.iter().zip(&events) {
            assert_eq!(ev.event, *topic, "{what} with {raw:?}");
            let got: u64 = ev.id.as_deref().unwrap().parse().unwrap();
            assert!(
                got > last_id && got != 999_999,
                "{what} with {raw:?}: id {got}"
            );
            if let Some(id) = id {
                assert_eq!(got, *id, "{what} with {raw:?}");
            }
            last_id = got;
            let data: serde_json::Value = serde_json::from_str(&ev.data)
                .unwrap_or_else(|e| panic!("{what} with {raw:?}: data {:?}: {e}", ev.data));
            for field in fields {
                assert_eq!(
                    data[field],
                    text.as_str(),
                    "{what}: {field} with {raw:?}: {data}"
                );
            }
            if *topic == "orders" {
                assert_eq!(data[text.as_str()][0], text.as_str(), "a key with {raw:?}");
            }
        }
        assert!(
            sse.next_event(Duration::from_millis(200)).await.is_none(),
            "an extra event after {raw:?}"
        );
    }

    // The pages: every script is the server's own (nonced or JSON data), the text is escaped
    // where it is shown, and the embedded snapshot carries it exactly.
    for path in ["/", "/feed", "/scores", "/jobs"] {
        let res = reqwest::get(server.url(path)).await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let nonce = csp_nonce(&csp);
        let html = res.text().await.unwrap();
        for tag in script_tags(&html) {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")) || tag.contains("application/json"),
                "{path}: a script the server did not write: {tag}"
            );
        }
        assert!(!html.contains("<script>alert"), "{path}: a live script");
        assert!(!html.contains("<img src=x"), "{path}: a live img");
        let start = html
            .find(r#"id="pulse-snapshot">"#)
            .expect("an embedded snapshot")
            + 20;
        let end = start + html[start..].find("</script>").unwrap();
        let snapshot: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        // Every post, notice and job name kept; the game shows the latest text.
        for text in &shown {
            for view in ["feed", "notifications", "jobs"] {
                assert!(
                    holds_string(&snapshot[view], text),
                    "{path}: {text:?} not in the snapshot's {view}"
                );
            }
        }
        let latest = shown.last().unwrap();
        assert!(holds_string(&snapshot["scores"], latest), "{path}: scores");
        if path != "/" {
            assert!(
                html.contains("a&lt;img src=x onerror=alert(1)&gt;b"),
                "{path}: the text is not shown escaped"
            );
        }
    }
    drop(sse);
    server.stop().await.unwrap();
}
