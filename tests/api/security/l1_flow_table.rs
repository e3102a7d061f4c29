//! L-1: a few addresses cannot fill the sign-in table and lock everyone else out for the flows'
//! lifetime. Each address keeps at most five pending flows; when the table is full, the oldest
//! anonymous flow still waiting for its code makes room. Panel flows are never pushed out.

use serde_json::json;

use super::{start_from, with_proxy_trust};
use crate::harness::*;

#[actix_rt::test]
async fn l1_a_full_flow_table_evicts_the_oldest_anonymous_flow() {
    let app = spawn_app_with(with_proxy_trust()).await;
    // A panel sign-in first: the oldest flow of all, and never evicted.
    let panel = app
        .send(
            app.client
                .post(app.url("/auth/start"))
                .bearer_auth(PASSWORD),
            Some(&json!({"project_id": "proj-panel"})),
        )
        .await;
    assert_eq!(panel.status, 200, "{}", panel.text());
    let panel_state = panel.json()["state"].as_str().unwrap().to_string();
    let first = start_from(&app, "10.9.0.0").await;
    let first_state = first.json()["state"].as_str().unwrap().to_string();
    // One address cannot push others out: its own oldest flows make room for its new ones.
    for _ in 0..10 {
        assert_eq!(start_from(&app, "10.9.0.1").await.status, 200);
    }
    // 1 + 1 + 5 + 18 × 5 + 3 = 100 pending sign-ins: the table is full.
    for i in 2..21 {
        let starts = if i == 20 { 3 } else { 5 };
        for _ in 0..starts {
            let answer = start_from(&app, &format!("10.9.0.{i}")).await;
            assert_eq!(answer.status, 200, "{}", answer.text());
        }
    }
    // A new user still gets a sign-in, at once.
    let newcomer = start_from(&app, "10.9.1.1").await;
    assert_eq!(newcomer.status, 200, "{}", newcomer.text());
    let status_of = |state: String| {
        let app = &app;
        async move {
            app.send(
                app.client.get(app.url(&format!("/auth/status/{state}"))),
                None,
            )
            .await
        }
    };
    let evicted = status_of(first_state).await;
    assert_ne!(
        evicted.json()["status"],
        "pending",
        "the oldest anonymous flow made room: {}",
        evicted.text()
    );
    let kept = app
        .send(
            app.client
                .get(app.url(&format!("/auth/status/{panel_state}")))
                .bearer_auth(PASSWORD),
            None,
        )
        .await;
    assert_eq!(kept.json()["status"], "pending", "{}", kept.text());
    app.stop().await;
}
