//! The audit log over real HTTP: every admin action leaves an entry with who, from where, what and
//! what changed, secrets never shown; `GET /audit` filters and pages; the CSV and JSON exports;
//! retention pruning with the test clock; entries shared between instances on Redis and PostgreSQL.

use serde_json::{json, Value};

use crate::harness::{
    credential, spawn_app, spawn_app_with, Answer, TestApp, TestOptions, PASSWORD,
};

const GEMINI_KEY: &str = "AIzaSyAuditTestKey0123456789abcdef";
const METRICS_SECRET: &str = "metrics-secret-for-the-audit-test";

async fn with_token(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Answer {
    let req = match method {
        "GET" => app.client.get(app.url(path)),
        "DELETE" => app.client.delete(app.url(path)),
        _ => app.client.post(app.url(path)),
    };
    app.send(req.bearer_auth(token), body).await
}

async fn login(app: &TestApp, password: &str) -> Answer {
    app.send(
        app.client.post(app.url("/auth/login")),
        Some(&json!({ "password": password })),
    )
    .await
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let answer = app.get(&format!("/audit{query}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["entries"].as_array().unwrap().clone()
}

/// Waits until the writer stored at least `n` entries matching `query`, and answers them.
async fn audit_until(app: &TestApp, query: &str, n: usize) -> Vec<Value> {
    let mut found = Vec::new();
    app.eventually_async(&format!("{n} audit entries for {query:?}"), || {
        let q = query.to_string();
        async move { audit(app, &q).await.len() >= n }
    })
    .await;
    found.extend(audit(app, query).await);
    found
}

fn of<'a>(entries: &'a [Value], action: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["action"] == action).collect()
}

#[actix_rt::test]
async fn every_admin_action_leaves_an_entry_and_no_secret() {
    let app = spawn_app().await;
    assert_eq!(login(&app, "wrong-password-guess").await.status, 401);
    let session = login(&app, PASSWORD).await;
    assert_eq!(session.status, 200);
    let token = session.json()["token"].as_str().unwrap().to_string();

    let created = with_token(
        &app,
        "POST",
        "/auth/keys",
        &token,
        Some(&json!({"total_quota": 5, "description": "team a"})),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let key = created.json()["api_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("sk-"));
    let deleted = with_token(&app, "DELETE", &format!("/auth/keys/{key}"), &token, None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());

    let added = with_token(
        &app,
        "POST",
        "/creds/api-keys",
        &token,
        Some(&json!({"keys": GEMINI_KEY})),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.text());
    let key_file = added.json()["added"][0]["filename"]
        .as_str()
        .unwrap()
        .to_string();
    for action in ["disable", "enable", "clear_cooldown"] {
        let body = json!({"filename": "p1.json", "action": action});
        let answer = with_token(&app, "POST", "/creds/action", &token, Some(&body)).await;
        assert_eq!(answer.status, 200, "{action}: {}", answer.text());
    }
    let body = json!({"filename": key_file, "action": "delete"});
    assert_eq!(
        with_token(&app, "POST", "/creds/action", &token, Some(&body))
            .await
            .status,
        200
    );

    let config = json!({"config": {"calls_per_rotation": 7, "metrics_token": METRICS_SECRET}});
    let saved = with_token(&app, "POST", "/config/save", &token, Some(&config)).await;
    assert_eq!(saved.status, 200, "{}", saved.text());
    let refreshed = with_token(
        &app,
        "POST",
        "/creds/quota/refresh",
        &token,
        Some(&json!({"names": ["p1.json"]})),
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());

    let entries = audit_until(&app, "?limit=100", 11).await;
    let expected = [
        ("login_failed", "panel"),
        ("login", "panel"),
        ("key_created", ""),
        ("key_deleted", ""),
        ("credential_added", key_file.as_str()),
        ("credential_disabled", "p1.json"),
        ("credential_enabled", "p1.json"),
        ("cooldown_cleared", "p1.json"),
        ("credential_removed", key_file.as_str()),
        ("config_saved", "calls_per_rotation,metrics_token"),
        ("quota_refreshed", "p1.json"),
    ];
    for (action, target) in expected {
        let found = of(&entries, action);
        assert_eq!(found.len(), 1, "{action}: {entries:#?}");
        let e = found[0];
        assert_eq!(e["address"], "127.0.0.1", "{e}");
        assert!(e["time"].as_i64().unwrap() > 1_700_000_000_000, "{e}");
        if !target.is_empty() {
            assert_eq!(e["target"], target, "{e}");
        }
        let actor = e["actor"].as_str().unwrap();
        match action {
            "login" => assert_eq!(actor, "password"),
            "login_failed" => assert_eq!(actor, "anonymous"),
            _ => assert!(actor.starts_with("session:") && actor.len() > 8, "{e}"),
        }
    }
    // Newest first.
    let times: Vec<i64> = entries
        .iter()
        .map(|e| e["time"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    let created = of(&entries, "key_created")[0];
    assert_eq!(created["changes"]["total_quota"], 5);
    assert_eq!(created["changes"]["description"], "team a");
    // A key is named by its id: the store keeps no key to mask.
    assert!(created["target"].as_str().unwrap().starts_with("k-"));
    let saved = of(&entries, "config_saved")[0];
    assert_eq!(saved["changes"]["calls_per_rotation"], 7);

    let listed = app.get("/audit?limit=100").await.text();
    let exported = app.get("/audit/export?format=csv").await.text();
    let exported_json = app.get("/audit/export?format=json").await.text();
    for text in [&listed, &exported, &exported_json] {
        for secret in [
            key.as_str(),
            GEMINI_KEY,
            METRICS_SECRET,
            PASSWORD,
            token.as_str(),
            "wrong-password-guess",
        ] {
            assert!(!text.contains(secret), "{secret} appears in {text}");
        }
    }
    app.stop().await;
}

#[actix_rt::test]
async fn audit_pages_filters_and_refuses_bad_parameters() {
    let app = spawn_app().await;
    for cost in 1..=5 {
        let body = json!({"model_name": "gemini-2.5-pro", "cost": cost});
        assert_eq!(app.post("/auth/models/costs", &body).await.status, 200);
    }
    assert_eq!(login(&app, PASSWORD).await.status, 200);
    let all = audit_until(&app, "", 6).await;
    assert_eq!(all.len(), 6);
    assert_eq!(all[0]["action"], "login");
    assert!(all.iter().all(|e| e["actor"] == "password"));

    let saves = audit(&app, "?action=config_saved").await;
    assert_eq!(saves.len(), 5);
    assert_eq!(saves[0]["changes"]["cost"], 5);
    assert_eq!(saves[0]["target"], "model_costs");

    let first = audit(&app, "?action=config_saved&limit=2").await;
    let costs: Vec<i64> = first
        .iter()
        .map(|e| e["changes"]["cost"].as_i64().unwrap())
        .collect();
    assert_eq!(costs, vec![5, 4]);
    let before = first[1]["time"].as_i64().unwrap();
    let next = audit(
        &app,
        &format!("?action=config_saved&limit=2&before={before}"),
    )
    .await;
    let costs: Vec<i64> = next
        .iter()
        .map(|e| e["changes"]["cost"].as_i64().unwrap())
        .collect();
    assert_eq!(costs, vec![3, 2]);

    for bad in [
        "?limit=0",
        "?limit=abc",
        "?limit=100000",
        "?before=yesterday",
        "?action=logout",
        "?colour=red",
        "?format=csv",
    ] {
        let answer = app.get(&format!("/audit{bad}")).await;
        assert_eq!(answer.status, 400, "{bad}: {}", answer.text());
        assert!(answer.json()["error"]["message"].is_string(), "{bad}");
    }
    let answer = app.get("/audit/export?format=xml").await;
    assert_eq!(answer.status, 400);
    let anonymous = app.send(app.client.get(app.url("/audit")), None).await;
    assert_eq!(anonymous.status, 401);
    app.stop().await;
}

#[actix_rt::test]
async fn exports_are_csv_with_escaping_and_json() {
    let app = spawn_app().await;
    let description = "=HYPERLINK(\"http://evil\"), \"quoted\"";
    let body = json!({"total_quota": 3, "description": description});
    assert_eq!(app.post("/auth/keys", &body).await.status, 200);
    let body = json!({"filename": "p1.json", "action": "disable"});
    assert_eq!(app.post("/creds/action", &body).await.status, 200);
    audit_until(&app, "", 2).await;

    let csv = app.get("/audit/export?format=csv").await;
    assert_eq!(csv.status, 200);
    let content_type = csv.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let text = csv.text();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "time,actor,address,action,target,changes");
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].contains(",password,127.0.0.1,credential_disabled,p1.json,"),
        "{text}"
    );
    // The changes cell is JSON in one quoted cell, its quotes doubled.
    assert!(lines[2].contains(",key_created,k-"), "{text}");
    assert!(
        lines[2].contains(
            "\"\"description\"\":\"\"=HYPERLINK(\\\"\"http://evil\\\"\"), \\\"\"quoted\\\"\"\"\""
        ),
        "{text}"
    );

    let json_export = app.get("/audit/export?format=json").await;
    assert_eq!(json_export.status, 200);
    let entries = json_export.json()["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["changes"]["description"], description);
    let one = app
        .get("/audit/export?format=json&action=key_created&limit=1")
        .await
        .json();
    assert_eq!(one["entries"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[actix_rt::test]
async fn entries_older_than_the_retention_are_pruned() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("AUDIT_RETENTION_DAYS", "30"),
    )
    .await;
    let body = json!({"filename": "p1.json", "action": "disable"});
    assert_eq!(app.post("/creds/action", &body).await.status, 200);
    audit_until(&app, "?action=credential_disabled", 1).await;

    app.clock.advance(31 * 86_400);
    let body = json!({"filename": "p1.json", "action": "enable"});
    assert_eq!(app.post("/creds/action", &body).await.status, 200);
    app.eventually_async("the old entry pruned", || async {
        let entries = audit(&app, "").await;
        entries.len() == 1 && entries[0]["action"] == "credential_enabled"
    })
    .await;
    // Pruned from the store itself, not only hidden.
    let text = std::fs::read_to_string(app.dir.path().join("audit.jsonl")).unwrap();
    assert!(!text.contains("credential_disabled"), "{text}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(app.dir.path().join("audit.jsonl"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the audit file is owner-only");
    app.stop().await;
}

#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
async fn entries_are_shared_and_pruned(kind: &str) {
    let backend = crate::cluster::backend(kind);
    let start = || {
        spawn_app_with(TestOptions {
            env: backend.env.clone(),
            ..Default::default()
        })
    };
    let first = start().await;
    let second = start().await;
    assert_eq!(login(&first, PASSWORD).await.status, 200);
    let seen = audit_until(&second, "?action=login", 1).await;
    assert_eq!(seen[0]["target"], "panel");
    assert_eq!(seen[0]["address"], "127.0.0.1");

    for cost in 1..=3 {
        let body = json!({"model_name": "gemini-2.5-flash", "cost": cost});
        assert_eq!(second.post("/auth/models/costs", &body).await.status, 200);
    }
    let page = audit_until(&first, "?action=config_saved", 3).await;
    let before = page[1]["time"].as_i64().unwrap();
    let rest = audit(&first, &format!("?action=config_saved&before={before}")).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["changes"]["cost"], 1);
    assert_eq!(audit(&first, "?limit=2").await.len(), 2);
    assert_eq!(audit(&first, "").await.len(), 4);

    // Retention is 90 days by default: the first instance's clock moves on and its next entry
    // prunes every older one, for both instances.
    first.clock.advance(91 * 86_400);
    assert_eq!(login(&first, "a-wrong-guess").await.status, 401);
    second
        .eventually_async("old entries pruned", || async {
            let entries = audit(&second, "").await;
            entries.len() == 1 && entries[0]["action"] == "login_failed"
        })
        .await;
    first.stop().await;
    second.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn entries_are_shared_and_pruned_redis() {
    entries_are_shared_and_pruned("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn entries_are_shared_and_pruned_postgres() {
    entries_are_shared_and_pruned("postgres").await;
}
