//! The credential management API: actions, batches, downloads, emails, usage limits, preview demotion,
//! and the live-log WebSocket.

use std::io::Read;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;

use crate::fake_google::Reply;
use crate::harness::*;

fn two_creds() -> TestOptions {
    TestOptions::default()
        .cred("a.json", credential("rt-a", Some("pa"), None))
        .cred("b.json", credential("rt-b", Some("pb"), None))
}

fn item(status: &serde_json::Value, name: &str) -> serde_json::Value {
    status["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["filename"] == name)
        .cloned()
        .unwrap()
}

#[actix_rt::test]
async fn actions_batches_downloads_and_emails() {
    let app = spawn_app_with(two_creds()).await;
    app.google.set_email("rt-a", "a@example.com");
    let batch = app
        .post(
            "/creds/batch-action",
            &json!({"action": "disable", "filenames": ["a.json", "b.json", "nope.json"]}),
        )
        .await
        .json();
    assert_eq!(batch["success_count"], 2);
    assert_eq!(batch["errors"].as_array().unwrap().len(), 1);
    let status = app.get("/creds/status").await.json();
    assert_eq!(status["stats"]["disabled"], 2);
    assert_eq!(
        app.chat(
            json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]})
        )
        .await
        .status,
        503
    );
    assert_eq!(
        app.post(
            "/creds/action",
            &json!({"filename": "a.json", "action": "enable"})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.chat(
            json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]})
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.post(
            "/creds/action",
            &json!({"filename": "a.json", "action": "explode"})
        )
        .await
        .status,
        400
    );

    let email = app
        .post("/creds/fetch-email/a.json", &json!({}))
        .await
        .json();
    assert_eq!(email["user_email"], "a@example.com");
    let all = app
        .post("/creds/refresh-all-emails", &json!({}))
        .await
        .json();
    assert_eq!(all["skipped_count"], 1, "a.json already has its email");
    assert_eq!(all["total_count"], 1);

    let one = app.get("/creds/download/a.json").await;
    assert_eq!(one.status, 200);
    assert!(one
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("a.json"));
    assert_eq!(one.json()["refresh_token"], "rt-a");
    let zip = app.get("/creds/download-all").await;
    assert_eq!(zip.status, 200);
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.body)).unwrap();
    assert_eq!(archive.len(), 2);
    let mut text = String::new();
    archive
        .by_name("b.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert!(text.contains("rt-b"));

    assert_eq!(
        app.post(
            "/creds/action",
            &json!({"filename": "b.json", "action": "delete"})
        )
        .await
        .status,
        200
    );
    assert_eq!(app.get("/creds/download/b.json").await.status, 404);
    assert!(
        app.state
            .store
            .get_credential("b.json")
            .await
            .unwrap()
            .is_none(),
        "deleted from the store"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn cooldowns_are_cleared_by_hand_and_by_success() {
    let app = spawn_app_with(two_creds().env("CALLS_PER_ROTATION", "100")).await;
    app.google.enqueue("pa", Reply::retry_delay("3600s"));
    assert_eq!(
        app.chat(
            json!({"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "hi"}]})
        )
        .await
        .status,
        200
    );
    let cooling = app
        .get("/creds/status?cooldown_filter=in_cooldown")
        .await
        .json();
    assert_eq!(cooling["total"], 1);
    assert_eq!(cooling["items"][0]["filename"], "a.json");
    assert_eq!(
        app.post(
            "/creds/action",
            &json!({"filename": "a.json", "action": "clear_cooldown"})
        )
        .await
        .status,
        200
    );
    let cooling = app
        .get("/creds/status?cooldown_filter=in_cooldown")
        .await
        .json();
    assert_eq!(cooling["total"], 0);
    let errors = app.get("/creds/status?error_code_filter=429").await.json();
    assert_eq!(errors["items"][0]["errors"][0]["code"], 429);
    app.stop().await;
}

#[actix_rt::test]
async fn a_preview_404_demotes_the_credential_for_preview_models() {
    let app = spawn_app_with(two_creds().env("CALLS_PER_ROTATION", "100")).await;
    app.google.enqueue(
        "pa",
        Reply::google_error(404, "NOT_FOUND", "Requested entity was not found."),
    );
    let ask =
        json!({"model": "gemini-3-pro-preview", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(app.chat(ask.clone()).await.status, 200);
    let status = app.get("/creds/status").await.json();
    assert_eq!(item(&status, "a.json")["preview"], false);
    assert_eq!(item(&status, "b.json")["preview"], true);
    app.google.clear_requests();
    for _ in 0..3 {
        assert_eq!(app.chat(ask.clone()).await.status, 200);
    }
    assert!(app
        .upstream_calls()
        .iter()
        .all(|c| c.project.as_deref() == Some("pb")));
    app.stop().await;
}

#[actix_rt::test]
async fn usage_limits_aggregates_and_reset() {
    let app = spawn_app_with(two_creds().env("CALLS_PER_ROTATION", "1")).await;
    for _ in 0..4 {
        app.chat(
            json!({"model": "gemini-2.5-pro", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    }
    let agg = app.get("/usage/aggregated").await.json();
    assert_eq!(agg["data"]["total_all_model_calls"], 4);
    assert_eq!(agg["data"]["total_gemini_2_5_pro_calls"], 4);
    assert_eq!(agg["data"]["success_rate"], 1.0);
    assert!(agg["data"]["next_reset_time"]
        .as_str()
        .unwrap()
        .contains("T07:00:00"));
    let limits = app
        .post(
            "/usage/update-limits",
            &json!({"filename": "a.json", "gemini_2_5_pro_limit": 50, "total_limit": 500}),
        )
        .await;
    assert_eq!(limits.status, 200);
    let reset = app
        .post("/usage/reset", &json!({"filename": "a.json"}))
        .await;
    assert_eq!(reset.status, 200);
    app.eventually_async("limits and reset applied", || async {
        let a = app.get("/usage/stats?filename=a.json").await.json();
        a["data"]["a.json"]["daily_limit_gemini_2_5_pro"] == 50
            && a["data"]["a.json"]["total_calls"] == 0
    })
    .await;
    assert_eq!(app.get("/usage/stats?filename=zzz.json").await.status, 404);
    app.stop().await;
}

#[actix_rt::test]
async fn live_logs_stream_over_a_websocket() {
    let app = spawn_app().await;
    let token = app
        .send(
            app.client.post(app.url("/auth/login")),
            Some(&json!({"password": PASSWORD})),
        )
        .await
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let ws_url = app
        .url(&format!("/auth/logs/stream?token={token}"))
        .replace("http://", "ws://");
    let (_, mut socket) = app.client.ws(ws_url).connect().await.unwrap();
    app.chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    let mut seen = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(500), socket.next()).await {
            Ok(Some(Ok(awc::ws::Frame::Text(text)))) => {
                let line = String::from_utf8_lossy(&text).to_string();
                assert!(line.starts_with('['), "{line}");
                if line.contains("access token refreshed") {
                    seen = true;
                    break;
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => {}
        }
    }
    assert!(seen, "the request's log line reached the socket");
    // A socket without a token may authenticate with its first message; a wrong one is closed.
    let bare = app.url("/auth/logs/stream").replace("http://", "ws://");
    let (_, mut second) = app.client.ws(bare.clone()).connect().await.unwrap();
    second
        .send(awc::ws::Message::Text(token.clone().into()))
        .await
        .unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), second.next())
        .await
        .unwrap();
    assert!(
        matches!(first, Some(Ok(awc::ws::Frame::Text(_)))),
        "{first:?}"
    );
    let (_, mut third) = app.client.ws(bare).connect().await.unwrap();
    third
        .send(awc::ws::Message::Text("wrong".into()))
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), third.next())
        .await
        .unwrap();
    assert!(
        matches!(closed, Some(Ok(awc::ws::Frame::Close(_))) | None),
        "{closed:?}"
    );
    let forged = app
        .url("/auth/logs/stream?token=forged")
        .replace("http://", "ws://");
    assert!(app.client.ws(forged).connect().await.is_err());
    // Clearing and downloading.
    assert_eq!(app.post("/auth/logs/clear", &json!({})).await.status, 200);
    let download = app.get("/auth/logs/download").await;
    assert_eq!(download.status, 200);
    assert!(download.text().contains("log cleared"));
    assert!(
        !download.text().contains(PASSWORD),
        "passwords never reach the log"
    );
    // Open sockets would hold the graceful shutdown.
    drop((socket, second, third));
    app.stop().await;
}

#[actix_rt::test]
async fn log_sessions_are_bounded() {
    let app = spawn_app().await;
    let url = app
        .url(&format!("/auth/logs/stream?token={PASSWORD}"))
        .replace("http://", "ws://");
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let (_, socket) = app.client.ws(url.clone()).connect().await.unwrap();
        sockets.push(socket);
    }
    let (_, mut extra) = app.client.ws(url).connect().await.unwrap();
    let mut closed = false;
    for _ in 0..50 {
        match tokio::time::timeout(Duration::from_secs(5), extra.next()).await {
            Ok(Some(Ok(awc::ws::Frame::Close(_)))) | Ok(None) => {
                closed = true;
                break;
            }
            Ok(Some(Ok(_))) => continue,
            _ => break,
        }
    }
    assert!(closed, "the sixth session is refused");
    drop((sockets, extra));
    app.stop().await;
}
