//! `GET /usage/export`: usage per day, key and model, as CSV or JSON. Its sums equal the other
//! counters (`/usage/tokens`, the keys' used quota), its filters select, it survives a restart, it
//! never holds a full key, and instances sharing Redis or PostgreSQL add up.

use std::collections::BTreeMap;
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::{credential, spawn_app_with, Answer, TestApp, TestOptions};

const PRO: &str = "gemini-2.5-pro";
const FLASH: &str = "gemini-2.5-flash";

/// Every answer of the fake carries this usage.
fn usage_reply() -> Reply {
    Reply::text("counted").usage(json!({
        "promptTokenCount": 7,
        "candidatesTokenCount": 5,
        "thoughtsTokenCount": 2,
        "cachedContentTokenCount": 1,
        "totalTokenCount": 14,
    }))
}

async fn export(app: &TestApp, query: &str) -> Answer {
    app.get(&format!("/usage/export{query}")).await
}

fn rows(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["rows"].as_array().unwrap().clone()
}

fn sum(rows: &[Value], field: &str, keep: impl Fn(&Value) -> bool) -> u64 {
    rows.iter()
        .filter(|r| keep(r))
        .map(|r| r[field].as_u64().unwrap())
        .sum()
}

/// The CSV's rows as maps from column to cell.
fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(line.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

async fn key_info(app: &TestApp, key: &str) -> Value {
    let answer = app.get(&format!("/auth/keys/{key}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

#[actix_rt::test]
async fn the_export_adds_up_to_the_counters_filters_and_holds_no_key() {
    let app = spawn_app_with(
        TestOptions::default().cred("p1.json", credential("rt-1", Some("p1"), None)),
    )
    .await;
    app.google.set_default_reply(None, usage_reply());
    let token = app.login().await;
    let first = app.create_key(&token, json!({"total_quota": 1000})).await["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    let second = app.create_key(&token, json!({"total_quota": 1000})).await["api_key"]
        .as_str()
        .unwrap()
        .to_string();
    for (key, model) in [
        (&first, PRO),
        (&first, PRO),
        (&first, FLASH),
        (&second, FLASH),
        (&second, FLASH),
        (&second, FLASH),
    ] {
        let answer = app.chat_as(key, model).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    // Refused by Google: refunded, so it costs the key nothing and is not counted.
    app.google.enqueue(
        "p1",
        Reply::error(
            400,
            json!({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}),
        ),
    );
    assert_eq!(app.chat_as(&second, PRO).await.status, 400);

    app.eventually_async("every request is in the export", || async {
        sum(
            &rows(&export(&app, "?format=json").await),
            "requests",
            |_| true,
        ) == 6
    })
    .await;
    let all = rows(&export(&app, "?format=json").await);
    assert_eq!(all.len(), 3, "{all:?}");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(all.iter().all(|r| r["day"] == today.as_str()), "{all:?}");

    // Per key: the cost is the key's used quota, the tokens those of /usage/tokens.
    let tokens = app.get("/usage/tokens?days=1").await.json();
    let day = &tokens["days"][0];
    for key in [&first, &second] {
        let info = key_info(&app, key).await;
        let label = label_of(key);
        let mine = |r: &Value| r["key"] == label.as_str();
        assert_eq!(
            sum(&all, "cost", mine),
            info["used_quota"].as_u64().unwrap(),
            "{info} {all:?}"
        );
        assert_eq!(
            sum(&all, "requests", mine),
            day["keys"][&label]["requests"].as_u64().unwrap()
        );
        assert_eq!(
            sum(&all, "input_tokens", mine),
            day["keys"][&label]["input"].as_u64().unwrap()
        );
        assert_eq!(
            sum(&all, "thinking_tokens", mine),
            day["keys"][&label]["thinking"].as_u64().unwrap()
        );
    }
    // Per model: the same figures as /usage/tokens.
    for model in [PRO, FLASH] {
        let of_model = |r: &Value| r["model"] == model;
        for (field, figure) in [
            ("requests", "requests"),
            ("input_tokens", "input"),
            ("output_tokens", "output"),
            ("cached_tokens", "cached"),
            ("thinking_tokens", "thinking"),
        ] {
            assert_eq!(
                sum(&all, field, of_model),
                day["models"][model][figure].as_u64().unwrap(),
                "{model} {field}: {tokens} {all:?}"
            );
        }
    }
    assert_eq!(sum(&all, "output_tokens", |_| true), 6 * 5);

    // The CSV holds the same rows.
    let csv = export(&app, "?format=csv").await;
    assert_eq!(csv.status, 200, "{}", csv.text());
    let content_type = csv.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    let text = csv.text();
    assert!(text.starts_with(
        "day,key,model,requests,input_tokens,output_tokens,cached_tokens,thinking_tokens,cost\r\n"
    ));
    let table = csv_rows(&text);
    assert_eq!(table.len(), all.len(), "{text}");
    let cost: u64 = table
        .iter()
        .map(|r| r["cost"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(cost, sum(&all, "cost", |_| true));
    let requests: u64 = table
        .iter()
        .map(|r| r["requests"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(requests, 6);

    // No full key anywhere.
    let json_text = export(&app, "?format=json").await.text();
    for key in [&first, &second] {
        assert!(!text.contains(key.as_str()) && !json_text.contains(key.as_str()));
    }

    // Filters: by label, by display prefix, by the key itself, by model, by day.
    let second_label = label_of(&second);
    assert!(
        all.iter().any(|r| r["key"] == second_label.as_str()),
        "{all:?}"
    );
    let by_label = rows(&export(&app, &format!("?format=json&key={second_label}")).await);
    assert_eq!(by_label.len(), 1, "{by_label:?}");
    assert_eq!(by_label[0]["requests"], 3);
    let masked = tokens["key_names"][&second_label]
        .as_str()
        .unwrap()
        .to_string();
    let by_mask = rows(&export(&app, &format!("?format=json&key={}", urlencoding(&masked))).await);
    assert_eq!(by_mask, by_label);
    let by_key = rows(&export(&app, &format!("?format=json&key={second}")).await);
    assert_eq!(by_key, by_label);
    let flash = rows(&export(&app, &format!("?format=json&model={FLASH}")).await);
    assert_eq!(flash.len(), 2);
    assert_eq!(sum(&flash, "requests", |_| true), 4);
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    assert!(rows(&export(&app, &format!("?format=json&to={yesterday}")).await).is_empty());
    assert!(
        rows(&export(&app, &format!("?format=json&from={tomorrow}&to={tomorrow}")).await)
            .is_empty()
    );
    assert_eq!(
        rows(
            &export(
                &app,
                &format!("?format=json&from={yesterday}&to={tomorrow}")
            )
            .await
        ),
        all
    );
    let filtered_csv = export(&app, &format!("?format=csv&key={second_label}&model={PRO}")).await;
    assert_eq!(csv_rows(&filtered_csv.text()).len(), 0);

    // Bad input: a clear 400; no session: 401.
    for query in [
        "?format=xml",
        "?from=2026-02-30",
        "?to=today",
        "?from=2026-12-08&to=2026-12-07",
        "?from=2020-01-01&to=2026-12-07",
        "?colour=red",
    ] {
        let answer = export(&app, query).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text());
        assert!(
            answer.json()["error"].is_object(),
            "{query}: {}",
            answer.text()
        );
    }
    let anonymous = app
        .send(app.client.get(app.url("/usage/export?format=csv")), None)
        .await;
    assert_eq!(anonymous.status, 401);
    let as_key = app
        .send(
            app.client
                .get(app.url("/usage/export?format=csv"))
                .bearer_auth(&first),
            None,
        )
        .await;
    assert_eq!(as_key.status, 401);

    // Durable: the same rows after a restart.
    let (dir, google) = app.shutdown().await;
    let again = spawn_app_with(TestOptions {
        dir: Some(dir),
        google: Some(google),
        ..TestOptions::default()
    })
    .await;
    assert_eq!(rows(&export(&again, "?format=json").await), all);
    again.stop().await;
}

/// The label the gateway gives a key (its id): `k-` and the first 8 bytes of its SHA-256, in hex.
fn label_of(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("k-{hex}")
}

fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Waits at most 40 s (a peer's counts reach the store within its 10 s save interval).
#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
async fn within<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..400 {
        if cond().await {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[cfg(any(feature = "redis-tests", feature = "postgres-tests"))]
async fn instances_sharing_a_store_add_up(kind: &str) {
    use crate::cluster::{backend, instances_with_a_and_b};
    use crate::fake_google::FakeGoogle;
    use crate::harness::PASSWORD;
    use crate::process::gateway_env;

    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    google.set_default_reply(None, usage_reply());
    let env = gateway_env(&google.url(), &backend.env);
    let instances = instances_with_a_and_b(&env, 2).await;
    let key = instances[0].create_key(10_000).await.unwrap();
    let sent = 8u64;
    for i in 0..sent as usize {
        let model = if i % 4 == 0 { PRO } else { FLASH };
        assert_eq!(instances[i % 2].chat(&key, model).await, 200, "{kind}: {i}");
    }
    let used = instances[1].key(&key).await.json()["used_quota"]
        .as_u64()
        .unwrap();
    assert!(used > 0);
    for gw in &instances {
        within("every instance's counts are in the export", || async {
            let answer = gw
                .send("GET", "/usage/export?format=json", PASSWORD, None)
                .await;
            let all = answer.json()["rows"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            sum(&all, "requests", |_| true) == sent && sum(&all, "cost", |_| true) == used
        })
        .await;
        let answer = gw
            .send("GET", "/usage/export?format=csv", PASSWORD, None)
            .await;
        let table = csv_rows(&answer.text());
        assert_eq!(table.len(), 2, "{kind}: {}", answer.text());
        let output: u64 = table
            .iter()
            .map(|r| r["output_tokens"].parse::<u64>().unwrap())
            .sum();
        assert_eq!(output, sent * 5, "{kind}");
        assert!(!answer.text().contains(&key));
    }
    drop(instances);
    google.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn instances_sharing_redis_add_up_in_the_export() {
    instances_sharing_a_store_add_up("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn instances_sharing_postgres_add_up_in_the_export() {
    instances_sharing_a_store_add_up("postgres").await;
}
