//! H-4: model names are bounded (128 bytes of `[A-Za-z0-9._:/-]` after a feature prefix) and refused
//! with a 400 before any use on every route; metrics label only known models (others `other`), and
//! neither `/metrics` nor the request history keeps a refused name. Through the real binary.

use serde_json::json;

use crate::fake_google::FakeGoogle;
use crate::harness::PASSWORD;
use crate::process::Gateway;

#[actix_rt::test]
async fn h4_unbounded_and_odd_model_names_are_refused_everywhere_and_kept_nowhere() {
    let google = FakeGoogle::start().await;
    let (_dir, env) = super::one_login_binary_env(&google, &[]);
    let gw = Gateway::start(&env).await;
    let huge = format!("gemini-{}", "x".repeat(1024 * 1024));
    let names = [
        huge.clone(),
        format!("gemini-{}", "y".repeat(130)),
        "gemini-2.5-pro\r\nX-Injected: yes".to_string(),
        "gemini 2.5 pro".to_string(),
        "gemini-2.5-pro%3Fkey=1".to_string(),
        "假流式/假流式/gemini-2.5-pro".to_string(),
    ];
    for name in &names {
        let user = json!([{"role": "user", "content": "hi"}]);
        let bodies = [
            (
                "/v1/chat/completions",
                json!({"model": name, "messages": user}),
            ),
            ("/v1/responses", json!({"model": name, "input": "hi"})),
            (
                "/v1/messages",
                json!({"model": name, "max_tokens": 5, "messages": user}),
            ),
            (
                "/v1/messages/count_tokens",
                json!({"model": name, "messages": user}),
            ),
        ];
        for (path, body) in bodies {
            let answer = gw.send("POST", path, PASSWORD, Some(&body)).await;
            assert_eq!(answer.status, 400, "{path}: {}", answer.text());
            assert!(answer.body.len() < 4096, "the name is not echoed back");
        }
    }
    let gemini_body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    for encoded in [
        "gemini-2.5-pro%0D%0AX-Evil:%201",
        "gemini%20pro",
        &format!("gemini-{}", "z".repeat(200)),
    ] {
        for method in ["generateContent", "countTokens"] {
            let path = format!("/v1beta/models/{encoded}:{method}");
            let answer = gw.send("POST", &path, PASSWORD, Some(&gemini_body)).await;
            assert_eq!(answer.status, 400, "{path}: {}", answer.text());
        }
    }
    assert!(google.requests_to("enerateContent").is_empty());
    assert!(google.requests_to("countTokens").is_empty());

    // A well-formed name the gateway does not know counts under `other`.
    let unknown = gw.chat(PASSWORD, "made-up-model-7").await;
    assert_ne!(unknown, 0);
    let metrics = gw.send("GET", "/metrics", PASSWORD, None).await;
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(text.len() < 512 * 1024, "/metrics is {} bytes", text.len());
    assert!(!text.contains("xxxxxxxxxx") && !text.contains("made-up-model-7"));
    assert!(text.contains("model=\"other\""), "{text}");
    let history = gw
        .send("GET", "/auth/requests?limit=1000", PASSWORD, None)
        .await;
    assert_eq!(history.status, 200);
    assert!(history.body.len() < 512 * 1024);
    assert!(!history.text().contains("xxxxxxxxxx"));
}
