//! L-7: control characters in a model name are a 400 at the edge, not a header that makes every
//! credential's call fail (502); the credential stays usable.

use serde_json::json;

use crate::harness::*;

#[actix_rt::test]
async fn l7_control_characters_in_the_model_are_refused_and_no_credential_suffers() {
    let app = spawn_app().await;
    for model in [
        "gemini-2.5-flash\u{0}",
        "gemini-2.5-flash\r\n",
        "gemini-2.5-flash\n",
    ] {
        let answer = app
            .chat(json!({"model": model, "messages": [{"role": "user", "content": "hi"}]}))
            .await;
        assert_eq!(answer.status, 400, "{model:?}: {}", answer.text());
    }
    assert!(app.upstream_calls().is_empty());
    let fine = app
        .chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(fine.status, 200, "{}", fine.text());
    let sent = app.upstream_calls();
    let agent = sent[0]
        .headers
        .iter()
        .find(|(name, _)| name == "user-agent")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    assert!(agent.contains("/gemini-2.5-flash ("), "{agent}");
    app.stop().await;
}
