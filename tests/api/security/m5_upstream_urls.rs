//! M-5: a model name cannot change the path of an upstream URL or add a query: names with `%2F..`,
//! `%3F` or `#` are refused at the edge, and every name that passes goes into API-key and Vertex URLs
//! as one percent-encoded path segment (`upstream::path_segment`, unit-tested there).

use serde_json::json;

use crate::harness::*;

#[actix_rt::test]
async fn m5_path_and_query_injection_through_the_model_name_reaches_nothing() {
    let app = spawn_app().await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    for path in [
        "/v1beta/models/gemini-2.5-flash%2F..%2F..%2Fv1beta%2FcachedContents%23:generateContent",
        "/v1beta/models/gemini-2.5-flash%3Fkey%3Dx:generateContent",
        "/v1beta/models/gemini-2.5-flash%2F..%2F..%2Fv1beta%2FcachedContents:countTokens",
    ] {
        let answer = app.post(path, &body).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.text());
    }
    for model in [
        "gemini-2.5-flash/../../v1beta/cachedContents#",
        "gemini-2.5-flash?alt=json",
        "gemini-2.5-flash%2F..",
    ] {
        let answer = app
            .chat(json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .await;
        assert_eq!(answer.status, 400, "{model}: {}", answer.text());
    }
    assert!(
        app.google
            .requests()
            .iter()
            .all(|r| !r.path.contains("cachedContents")),
        "no call reached another path"
    );
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}
