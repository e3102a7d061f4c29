//! Quota snapshots across gateway processes sharing Redis or PostgreSQL: one instance asks Google for
//! each credential's quota per interval, the others read what it stored.

use crate::cluster::{backend, two_instances_with_a_and_b, until};
use crate::fake_google::{quota_bucket, FakeGoogle};
use crate::harness::PASSWORD;
use crate::process::{gateway_env, Gateway};

const PRO: &str = "gemini-2.5-pro";

/// The remaining fraction `gw` shows for `file`'s pro bucket, if it has one.
async fn fraction(gw: &Gateway, file: &str) -> Option<f64> {
    let status = gw.send("GET", "/creds/status", PASSWORD, None).await.json();
    status["items"]
        .as_array()?
        .iter()
        .find(|i| i["filename"] == file)?["quota"]
        .as_array()?
        .iter()
        .find(|b| b["model"] == PRO)?["remaining_fraction"]
        .as_f64()
}

fn quota_fetches(google: &FakeGoogle, project: &str) -> usize {
    google
        .requests()
        .iter()
        .filter(|r| r.path.contains("retrieveUserQuota") && r.project.as_deref() == Some(project))
        .count()
}

async fn snapshots_are_shared(kind: &str) {
    let backend = backend(kind);
    let google = FakeGoogle::start().await;
    let reset = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    google.set_quota_buckets("pa", vec![quota_bucket(PRO, "REQUESTS", 40, 0.4, &reset)]);
    google.set_quota_buckets("pb", vec![quota_bucket(PRO, "REQUESTS", 70, 0.7, &reset)]);
    let env = gateway_env(&google.url(), &backend.env);
    let (first, second) = two_instances_with_a_and_b(&env).await;
    for gw in [&first, &second] {
        until("both snapshots on every instance", || async {
            fraction(gw, "a.json").await == Some(0.4) && fraction(gw, "b.json").await == Some(0.7)
        })
        .await;
    }
    // Give a late instance every chance to ask again: it must not within the interval.
    actix_rt::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(
        quota_fetches(&google, "pa"),
        1,
        "{kind}: one fetch of a across both"
    );
    assert_eq!(
        quota_fetches(&google, "pb"),
        1,
        "{kind}: one fetch of b across both"
    );
    let text = second.send("GET", "/metrics", PASSWORD, None).await.text();
    assert!(
        text.contains("gcli2api_credential_quota_remaining_fraction{credential=\"a.json\",model=\"gemini-2.5-pro\"} 0.4"),
        "{kind}: {text}"
    );
}

#[cfg(feature = "redis-tests")]
#[actix_rt::test]
async fn quota_snapshots_are_shared_through_redis() {
    snapshots_are_shared("redis").await;
}

#[cfg(feature = "postgres-tests")]
#[actix_rt::test]
async fn quota_snapshots_are_shared_through_postgres() {
    snapshots_are_shared("postgres").await;
}
