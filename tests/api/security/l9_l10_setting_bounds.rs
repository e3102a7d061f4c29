//! L-9 / L-10: every setting has real bounds. A value past them is refused when saved from the panel
//! (400 naming the key) and when given at start (a clear error, exit code 2), so no setting can make
//! a stream panic its worker (`stream_idle_timeout` at the old maximum) or wrap every session's
//! expiry (`jwt_expiry_hours = 2^62`).

use std::process::{Command, Stdio};

use serde_json::json;

use crate::harness::*;

const HUGE: i64 = 1 << 62;

#[actix_rt::test]
async fn l9_l10_out_of_range_settings_are_refused_on_save() {
    let app = spawn_app().await;
    for key in [
        "stream_idle_timeout",
        "jwt_expiry_hours",
        "upstream_timeout",
        "session_affinity_ttl",
        "cooldown_max_seconds",
        "responses_store_ttl",
        "responses_store_max_mb",
        "calls_per_rotation",
    ] {
        let refused = app
            .post("/config/save", &json!({"config": {key: HUGE}}))
            .await;
        assert_eq!(refused.status, 400, "{key}: {}", refused.text());
        let message = refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(key), "{message}");
        assert!(message.contains("from 1 to"), "{message}");
    }
    // The largest allowed values are safe: a session still logs in, a stream still streams.
    let saved = app
        .post(
            "/config/save",
            &json!({"config": {"stream_idle_timeout": 86_400, "jwt_expiry_hours": 8_760}}),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let token = super::login(&app).await;
    let panel = app
        .send(
            app.client.get(app.url("/config/get")).bearer_auth(token),
            None,
        )
        .await;
    assert_eq!(panel.status, 200);
    let stream = app
        .chat(json!({"model": "gemini-2.5-flash", "stream": true, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(stream.status, 200, "{}", stream.text());
    assert!(stream.text().contains("[DONE]"), "{}", stream.text());
    app.stop().await;
}

#[test]
fn l9_l10_out_of_range_settings_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("JWT_EXPIRY_HOURS", HUGE.to_string()),
        ("STREAM_IDLE_TIMEOUT", "18446744073709551615".to_string()),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_gcli2api"))
            .env_clear()
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("PASSWORD", PASSWORD)
            .env("CREDENTIALS_DIR", dir.path())
            .env(name, &value)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(stderr.contains("expected an integer from"), "{stderr}");
    }
}
