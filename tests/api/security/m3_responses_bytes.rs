//! M-3 (and issue 30, item 5): the Responses store is capped in bytes as well as in count. Large
//! answers push the oldest out and the store never holds more than `RESPONSES_STORE_MAX_MB`.

use gcli2api::actors::response_store::StoredSize;
use serde_json::json;

use crate::fake_google::Reply;
use crate::harness::*;

#[actix_rt::test]
async fn m3_large_answers_keep_the_responses_store_under_its_byte_cap() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("RESPONSES_STORE_MAX_MB", "1"),
    )
    .await;
    // Each answer is about 300 KB: four of them are over the cap, far under the count cap (1,000).
    app.google
        .set_default_reply(None, Reply::text("x".repeat(300 * 1024)));
    let mut ids = Vec::new();
    for _ in 0..8 {
        let answer = app
            .post(
                "/v1/responses",
                &json!({"model": "gemini-2.5-flash", "input": "hi"}),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        ids.push(answer.json()["id"].as_str().unwrap().to_string());
        let mut size = (0, 0);
        // The answer is saved as it is sent; wait until this one is in.
        for _ in 0..100 {
            size = app.state.responses.send(StoredSize).await.unwrap();
            if size.1 > 0 {
                break;
            }
            actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(size.1 <= 1024 * 1024, "the store holds {} bytes", size.1);
    }
    let (count, bytes) = app.state.responses.send(StoredSize).await.unwrap();
    assert!(
        (1..8).contains(&count),
        "{count} answers kept, {bytes} bytes"
    );
    let first = app.get(&format!("/v1/responses/{}", ids[0])).await;
    assert_eq!(first.status, 404, "the oldest answer made room");
    let last = app.get(&format!("/v1/responses/{}", ids[7])).await;
    assert_eq!(last.status, 200, "{}", last.text());
    app.stop().await;
}
