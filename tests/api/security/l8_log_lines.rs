//! L-8: a model name with a newline cannot forge a log line: it is refused at the edge, and the
//! access line of the refused request writes only sanitised words. Through the real binary, logging
//! at `info` to a file.

use std::collections::HashMap;

use serde_json::json;

use crate::cluster::until;
use crate::fake_google::FakeGoogle;
use crate::harness::{credential, PASSWORD};
use crate::process::{gateway_env, Gateway};

#[actix_rt::test]
async fn l8_a_newline_in_the_model_name_forges_no_log_line() {
    let google = FakeGoogle::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p1.json"),
        serde_json::to_vec(&credential("rt-1", Some("p1"), None)).unwrap(),
    )
    .unwrap();
    let log = dir.path().join("log.txt");
    let env: HashMap<String, String> = gateway_env(
        &google.url(),
        &[
            ("CREDENTIALS_DIR", dir.path().display().to_string()),
            ("LOG_LEVEL", "info".to_string()),
            ("LOG_FILE", log.display().to_string()),
        ],
    );
    let gw = Gateway::start(&env).await;
    let forged = "gemini-2.5-flash\n[2025-06-01 12:00:00] [INFO] FORGED admin logged in";
    let answer = gw
        .send(
            "POST",
            "/v1/chat/completions",
            PASSWORD,
            Some(&json!({"model": forged, "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    let path = "/v1beta/models/gemini-2.5-flash%0A%5BINFO%5D%20FORGED:generateContent";
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    assert_eq!(
        gw.send("POST", path, PASSWORD, Some(&body)).await.status,
        400
    );
    until("both access lines written", || async {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches(" status=400 ")
            .count()
            >= 2
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    for line in text.lines() {
        assert!(
            !line.trim_start().starts_with("[2025-06-01") && !line.contains("] FORGED"),
            "a forged line: {line}"
        );
    }
}
