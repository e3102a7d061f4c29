//! Cooldowns across gateway processes sharing Redis or PostgreSQL: a rest one instance learned from
//! Google (with its kind and message) keeps the others off that credential for that model, and an admin's
//! clear on any instance ends it everywhere.

use serde_json::{json, Value};

use crate::cluster::{backend, two_instances_with_a_and_b, until};
use crate::fake_google::{FakeGoogle, Reply};
use crate::harness::PASSWORD;
use crate::process::{gateway_env, Gateway};
use crate::rate_limits::google_body;

const PRO: &str = "gemini-2.5-pro";

async fn cooldown_of(gw: &Gateway, file: &str) -> Option<Value> {
    let status = gw.send("GET", "/creds/status", PASSWORD, None).await.json();
    status["items"]
        .as_array()?
        .iter()
        .find(|i| i["filename"] == file)?["cooldowns"]
        .as_array()?
        .iter()
        .find(|c| c["model"] == PRO)
        .cloned()
}

async fn cooldowns_are_shared(kind: &str) {
    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    let mut env = gateway_env(&google.url(), &backend.env);
    env.insert("CALLS_PER_ROTATION".into(), "1".into());
    let (first, second) = two_instances_with_a_and_b(&env).await;

    // The first instance learns that a's daily quota for the pro model is spent.
    google.set_default_reply(
        Some("pa"),
        Reply::error(429, google_body("429_daily_quota")),
    );
    for _ in 0..2 {
        assert_eq!(first.chat(PASSWORD, PRO).await, 200, "{kind}");
    }
    assert!(google
        .requests()
        .iter()
        .any(|r| r.project.as_deref() == Some("pa")));
    // The second one shows why a rests, and keeps it off that model.
    until("the cooldown reaches the second instance", || async {
        cooldown_of(&second, "a.json")
            .await
            .is_some_and(|c| c["kind"] == "daily_quota")
    })
    .await;
    let rest = cooldown_of(&second, "a.json").await.unwrap();
    assert!(rest["message"]
        .as_str()
        .unwrap()
        .starts_with("Quota exceeded for metric"));
    google.clear_requests();
    for _ in 0..3 {
        assert_eq!(second.chat(PASSWORD, PRO).await, 200, "{kind}");
    }
    assert!(
        google
            .requests()
            .iter()
            .all(|r| r.project.as_deref() != Some("pa")),
        "{kind}: a resting credential was used"
    );

    // A clear on the second instance ends the rest on the first too.
    google.set_default_reply(Some("pa"), Reply::text("back"));
    let cleared = second
        .send(
            "POST",
            "/creds/action",
            PASSWORD,
            Some(&json!({"filename": "a.json", "action": "clear_cooldown"})),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.text());
    until("the clear reaches the first instance", || async {
        cooldown_of(&first, "a.json").await.is_none()
    })
    .await;
    google.clear_requests();
    for _ in 0..2 {
        assert_eq!(first.chat(PASSWORD, PRO).await, 200, "{kind}");
    }
    assert!(
        google
            .requests()
            .iter()
            .any(|r| r.project.as_deref() == Some("pa")),
        "{kind}: the cleared credential serves again"
    );
    drop((first, second));
    google.stop().await;
    backend.clean().await;
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn cooldowns_are_shared_through_redis() {
    cooldowns_are_shared("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn cooldowns_are_shared_through_postgres() {
    cooldowns_are_shared("postgres").await;
}
