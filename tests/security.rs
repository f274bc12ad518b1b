//! Browser security over real HTTP: security headers and a per-request CSP nonce on every page
//! script; cross-site calls of every server function refused with nothing changed; CORS only
//! for allowlisted origins; a global limit on failed sign-ins; error bodies without internals.

mod common;

use common::TestServer;

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
        .publish("feed", r#"{"author":"ann","text":"</script><script>alert(1)</script>"}"#)
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
                assert!(csp.contains(directive), "{path}: {directive} missing in {csp}");
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
        assert_ne!(nonces[0], nonces[1], "{path}: the nonce must differ per request");
    }
    // Everything else: nosniff, and a policy that loads and frames nothing.
    for path in ["/healthz", "/api/topics/feed/snapshot"] {
        let res = reqwest::get(server.url(path)).await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(
            h["content-security-policy"],
            "default-src 'none'; frame-ancestors 'none'",
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
        reqwest::get(server.url(path)).await.unwrap().text().await.unwrap()
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
        &[("origin", own_origin.as_str()), ("cookie", session.as_str())],
        FORM,
        &[("topics", "scores"), ("format", "ndjson")],
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let job: String = res.json().await.unwrap();
    // Let the export finish, so the jobs list is settled before the attacks.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !observable(&server, &session).await.2.contains(r#""status":"completed""#) {
        assert!(std::time::Instant::now() < deadline, "the export did not finish");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let calls: [(&str, Vec<(&str, &str)>); 8] = [
        ("create_post", vec![("author", "victim"), ("text", "forged post")]),
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
        ("start_export", vec![("topics", "scores"), ("format", "csv")]),
        ("start_compact", vec![]),
        ("cancel_job", vec![("id", job.as_str())]),
        ("retry_job", vec![("id", job.as_str())]),
    ];
    let before = observable(&server, &session).await;
    assert_eq!(before.3, "true");
    let attacks: [(&str, Vec<(&str, &str)>, &str, &str); 5] = [
        ("a foreign Origin", vec![("origin", "https://evil.example")], FORM, "cross_site"),
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
        &[("sec-fetch-site", "same-origin"), ("cookie", session.as_str())],
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
