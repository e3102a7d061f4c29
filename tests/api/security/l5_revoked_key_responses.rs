//! L-5: a key that was deleted, or has expired, can no longer read the answers it stored
//! (`GET /v1/responses/{id}`); deleting it drops them from the store.

use gcli2api::actors::response_store::StoredSize;
use serde_json::json;

use super::create_key;
use crate::harness::*;

async fn store_one(app: &TestApp, key: &str) -> String {
    let answer = app
        .send(
            app.client.post(app.url("/v1/responses")).bearer_auth(key),
            Some(&json!({"model": "gemini-2.5-flash", "input": "hi"})),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["id"].as_str().unwrap().to_string()
}

async fn read(app: &TestApp, key: &str, id: &str) -> Answer {
    app.send(
        app.client
            .get(app.url(&format!("/v1/responses/{id}")))
            .bearer_auth(key),
        None,
    )
    .await
}

#[actix_rt::test]
async fn l5_deleted_and_expired_keys_lose_their_stored_responses() {
    let app = spawn_app().await;
    let deleted = create_key(&app, json!({"total_quota": 10})).await;
    let id = store_one(&app, &deleted).await;
    app.eventually_async("the answer is stored", || async {
        read(&app, &deleted, &id).await.status == 200
    })
    .await;
    let gone = app
        .send(
            app.client
                .delete(app.url(&format!("/auth/keys/{deleted}")))
                .bearer_auth(PASSWORD),
            None,
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.text());
    let refused = read(&app, &deleted, &id).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    app.eventually_async("the deleted key's answers are dropped", || async {
        app.state.responses.send(StoredSize).await.unwrap().0 == 0
    })
    .await;

    let soon = chrono::Utc::now().timestamp() + 60;
    let expiring = create_key(&app, json!({"total_quota": 10, "expires_at": soon})).await;
    let id = store_one(&app, &expiring).await;
    app.eventually_async("the answer is stored", || async {
        read(&app, &expiring, &id).await.status == 200
    })
    .await;
    app.clock.advance(120);
    let expired = read(&app, &expiring, &id).await;
    assert_eq!(expired.status, 403, "{}", expired.text());
    assert!(expired.text().contains("expired"), "{}", expired.text());
    app.stop().await;
}
