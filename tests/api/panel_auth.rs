//! Every panel route refuses requests without a valid session.

use serde_json::json;

use crate::harness::*;

const PANEL_ROUTES: &[(&str, &str)] = &[
    ("GET", "/creds/status"),
    ("POST", "/creds/action"),
    ("POST", "/creds/batch-action"),
    ("GET", "/creds/download/a.json"),
    ("GET", "/creds/download-all"),
    ("POST", "/creds/fetch-email/a.json"),
    ("POST", "/creds/refresh-all-emails"),
    ("POST", "/auth/upload"),
    ("GET", "/usage/stats"),
    ("GET", "/usage/aggregated"),
    ("POST", "/usage/update-limits"),
    ("POST", "/usage/reset"),
    ("GET", "/config/get"),
    ("POST", "/config/save"),
    ("POST", "/auth/logs/clear"),
    ("GET", "/auth/logs/download"),
    ("GET", "/auth/logs/stream"),
    ("POST", "/auth/keys"),
    ("GET", "/auth/keys"),
    ("GET", "/auth/keys/sk-x"),
    ("DELETE", "/auth/keys/sk-x"),
    ("GET", "/auth/models/costs"),
    ("POST", "/auth/models/costs"),
    ("DELETE", "/auth/models/costs/m"),
    ("POST", "/auth/load-env-creds"),
    ("DELETE", "/auth/env-creds"),
    ("GET", "/auth/env-creds-status"),
    ("POST", "/auth/logout"),
];

fn forged_token() -> String {
    use jsonwebtoken::{encode, EncodingKey, Header};
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": "panel", "iat": now, "exp": now + 3600, "jti": "x"});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(b"not the gateway's secret"),
    )
    .unwrap()
}

#[actix_rt::test]
async fn panel_routes_need_a_valid_session() {
    // Forged tokens count against the per-address limiter: each comes from its own forwarded address.
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("TRUSTED_PROXIES", "127.0.0.1"),
    )
    .await;
    let login = app
        .send(
            app.client.post(app.url("/auth/login")),
            Some(&json!({"password": PASSWORD})),
        )
        .await
        .json();
    let valid = login["token"].as_str().unwrap().to_string();
    let forged = forged_token();
    for (i, (method, path)) in PANEL_ROUTES.iter().enumerate() {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let none = app
            .send(app.client.request(method.clone(), app.url(path)), None)
            .await;
        assert_eq!(
            none.status,
            401,
            "{method} {path} without a token: {}",
            none.text()
        );
        assert!(none.json()["error"]["message"].is_string());
        let bad = app
            .send(
                app.client
                    .request(method.clone(), app.url(path))
                    .insert_header(("x-forwarded-for", format!("192.0.2.{i}")))
                    .bearer_auth(&forged),
                None,
            )
            .await;
        assert_eq!(bad.status, 401, "{method} {path} with a forged token");
    }
    // An expired session is refused as well.
    let ok = app
        .send(
            app.client.get(app.url("/config/get")).bearer_auth(&valid),
            None,
        )
        .await;
    assert_eq!(ok.status, 200);
    app.clock.advance(25 * 3600);
    let expired = app
        .send(
            app.client.get(app.url("/config/get")).bearer_auth(&valid),
            None,
        )
        .await;
    assert_eq!(expired.status, 401);
    app.stop().await;
}

#[actix_rt::test]
async fn login_is_throttled_and_logout_ends_the_session() {
    let app = spawn_app().await;
    for _ in 0..5 {
        let wrong = app
            .send(
                app.client.post(app.url("/auth/login")),
                Some(&json!({"password": "x"})),
            )
            .await;
        assert_eq!(wrong.status, 401);
    }
    let blocked = app
        .send(
            app.client.post(app.url("/auth/login")),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(blocked.status, 429);
    app.clock.advance(301);
    let login = app
        .send(
            app.client.post(app.url("/auth/login")),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, 200);
    let token = login.json()["token"].as_str().unwrap().to_string();
    assert_eq!(
        app.send(
            app.client.get(app.url("/config/get")).bearer_auth(&token),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.send(
            app.client.post(app.url("/auth/logout")).bearer_auth(&token),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.send(
            app.client.get(app.url("/config/get")).bearer_auth(&token),
            None
        )
        .await
        .status,
        401
    );
    app.stop().await;
}

#[actix_rt::test]
async fn config_hides_secrets_and_respects_env_locks() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("CALLS_PER_ROTATION", "7"),
    )
    .await;
    let config = app.get("/config/get").await;
    assert_eq!(config.status, 200);
    assert!(
        !config.text().contains(PASSWORD),
        "a secret leaked: {}",
        config.text()
    );
    let body = config.json();
    assert_eq!(body["config"]["password"], "********");
    assert!(body["env_locked"]
        .as_array()
        .unwrap()
        .contains(&json!("calls_per_rotation")));
    let saved = app
        .post("/config/save", &json!({"config": {"calls_per_rotation": 3, "retry_429_max_retries": 5, "password": "********"}}))
        .await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let saved = saved.json();
    assert_eq!(saved["env_locked_skipped"], json!(["calls_per_rotation"]));
    assert_eq!(saved["hot_updated"], json!(["retry_429_max_retries"]));
    let settings = app.state.settings.current();
    assert_eq!(settings.retry_429_max_retries, 5);
    assert_eq!(settings.calls_per_rotation, 7);
    assert_eq!(
        settings.api_password(),
        PASSWORD,
        "the placeholder left the password alone"
    );
    let invalid = app
        .post(
            "/config/save",
            &json!({"config": {"anti_truncation_max_attempts": 0}}),
        )
        .await;
    assert_eq!(invalid.status, 400);
    let unknown = app
        .post("/config/save", &json!({"config": {"nope": 1}}))
        .await;
    assert_eq!(unknown.status, 400);
    app.stop().await;
}
