//! The scorekeeper over real HTTP: sign-in with the password or the publish token sets an
//! HttpOnly, SameSite=Strict session cookie; changing a game without one is refused with
//! `NotSignedIn` (401); bad input is refused with a message naming the field; a change made by
//! a scorekeeper reaches every viewer, and a game going final sends a notification.

mod common;

use common::{TestServer, SECS5, TOKEN};

const PASSWORD: &str = "keeper-pass";

async fn call(
    server: &TestServer,
    name: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let mut req = reqwest::Client::new()
        .post(server.url(&format!("/api/fn/{name}")))
        .form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.expect("server function request");
    let status = res.status().as_u16();
    let set_cookie = res
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, set_cookie, res.text().await.unwrap_or_default())
}

/// A form body for `update_game`.
type Form<'a> = Vec<(&'static str, &'a str)>;

fn change<'a>(game: &'a str, home: &'a str, status: &'a str) -> Form<'a> {
    vec![
        ("game", game),
        ("home_score", home),
        ("away_score", ""),
        ("status", status),
        ("play", ""),
    ]
}

async fn start() -> TestServer {
    let server = TestServer::start(&["--scorekeeper-password", PASSWORD]).await;
    server
        .publish(
            "scores",
            r#"{"id":"g1","home":"Lions","away":"Bears","status":"live","period":1}"#,
        )
        .await;
    server
}

async fn home_score(server: &TestServer) -> u64 {
    let snap: serde_json::Value = reqwest::get(server.url("/api/topics/scores/snapshot"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    snap["state"]["games"]["g1"]["home_score"].as_u64().unwrap()
}

#[tokio::test]
async fn changes_without_a_session_are_refused() {
    let server = start().await;
    let (status, _, body) = call(&server, "update_game", None, &change("g1", "5", "")).await;
    assert_eq!(status, 401);
    assert_eq!(body, r#""NotSignedIn""#);
    let forged = "pulse_scorekeeper=00000000000000000000000000000000";
    let (status, _, body) =
        call(&server, "update_game", Some(forged), &change("g1", "5", "")).await;
    assert_eq!((status, body.as_str()), (401, r#""NotSignedIn""#));
    let (status, cookie, body) = call(&server, "sign_in", None, &[("secret", "wrong")]).await;
    assert_eq!((status, body.as_str()), (401, r#""WrongSecret""#));
    assert!(cookie.is_none());
    assert_eq!(home_score(&server).await, 0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_scorekeeper_session_changes_scores_until_sign_out() {
    let server = start().await;
    let mut sse =
        common::SseClient::connect(&server.url("/api/events?topics=scores,notifications"), None)
            .await;
    for secret in [PASSWORD, TOKEN] {
        let (status, cookie, body) = call(&server, "sign_in", None, &[("secret", secret)]).await;
        assert_eq!(status, 200, "{body}");
        let cookie = cookie.expect("a session cookie");
        assert!(cookie.starts_with("pulse_scorekeeper="), "{cookie}");
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{flag} missing: {cookie}");
        }
    }
    let (_, cookie, _) = call(&server, "sign_in", None, &[("secret", PASSWORD)]).await;
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();

    let (status, _, body) = call(&server, "operator_status", Some(&session), &[]).await;
    assert_eq!((status, body.as_str()), (200, "true"));
    let (status, _, body) = call(
        &server,
        "update_game",
        Some(&session),
        &change("g1", "7", "final"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("Bears 0 – 7 Lions · Final"),
        "the saved values: {body}"
    );
    assert_eq!(home_score(&server).await, 7);
    // Every viewer's stream carries the change, then the final-whistle notification.
    let events = sse.take(2, SECS5).await;
    assert_eq!(events[0].event, "scores");
    assert!(
        events[0].data.contains(r#""home_score":7"#) && events[0].data.contains(r#""keeper":true"#),
        "{}",
        events[0].data
    );
    assert_eq!(events[1].event, "notifications");
    assert!(
        events[1].data.contains("Final: Lions 7–0 Bears"),
        "{}",
        events[1].data
    );

    let (status, cleared, _) = call(&server, "sign_out", Some(&session), &[]).await;
    assert_eq!(status, 200);
    assert!(cleared.unwrap().contains("Max-Age=0"));
    let (status, _, body) = call(
        &server,
        "update_game",
        Some(&session),
        &change("g1", "9", ""),
    )
    .await;
    assert_eq!((status, body.as_str()), (401, r#""NotSignedIn""#));
    assert_eq!(home_score(&server).await, 7);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_changes_name_what_to_fix() {
    let server = start().await;
    let (_, cookie, _) = call(&server, "sign_in", None, &[("secret", PASSWORD)]).await;
    let session = cookie.unwrap().split(';').next().unwrap().to_owned();
    let cases = [
        (
            change("g1", "lots", ""),
            400,
            "home score must be a whole number",
        ),
        (
            change("g1", "", "paused"),
            400,
            "status must be scheduled, live or final",
        ),
        (change("nope", "1", ""), 404, "UnknownGame"),
        (change("g1", "", ""), 400, "Nothing to change"),
    ];
    for (form, want_status, needle) in cases {
        let (status, _, body) = call(&server, "update_game", Some(&session), &form).await;
        assert_eq!(status, want_status, "{body}");
        assert!(body.contains(needle), "{needle:?} not in {body}");
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited() {
    let server = start().await;
    let mut last = (0, String::new());
    for _ in 0..8 {
        let (status, _, body) = call(&server, "sign_in", None, &[("secret", "guess")]).await;
        last = (status, body);
    }
    assert_eq!(last.0, 429, "{}", last.1);
    assert!(last.1.contains("TooManyAttempts"), "{}", last.1);
    server.stop().await.unwrap();
}
