//! L-6: a flood of made-up `sk-` keys is throttled per address (429 with `Retry-After` once the
//! address has failed 30 times in a minute) and logged, at most ten lines a minute for the whole
//! gateway, so the flood reaches neither the key store nor the log in full.

use crate::harness::*;

async fn models_as(app: &TestApp, key: &str) -> Answer {
    app.send(app.client.get(app.url("/v1/models")).bearer_auth(key), None)
        .await
}

#[actix_rt::test]
async fn l6_invalid_key_floods_are_throttled_and_logged_sparingly() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for i in 0..200 {
        statuses.push(models_as(&app, &format!("sk-made-up-{i}")).await.status);
    }
    assert!(statuses[..30].iter().all(|s| *s == 403), "{statuses:?}");
    assert!(statuses[30..].iter().all(|s| *s == 429), "{statuses:?}");
    let throttled = models_as(&app, "sk-one-more").await;
    assert!(throttled.headers.get("retry-after").is_some());
    // Wrong non-key secrets count the same.
    assert_eq!(models_as(&app, "not-the-password").await.status, 429);

    let log_path = app.dir.path().join("log.txt");
    app.eventually("the flood is logged", || {
        std::fs::read_to_string(&log_path)
            .unwrap_or_default()
            .contains("throttled")
    })
    .await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines = log.matches("invalid API key from 127.0.0.1").count();
    assert!((1..=10).contains(&lines), "{lines} lines for 200 failures");
    assert!(!log.contains("sk-made-up"), "a guessed key reached the log");

    // The window passes and the address is served again.
    app.clock.advance(61);
    assert_eq!(models_as(&app, PASSWORD).await.status, 200);
    app.stop().await;
}
