//! The gateway's own time per request: `gcli2api_overhead_seconds{route}` in `/metrics` and
//! `overhead_ms` (with `upstream_ms`) in the request history, for plain answers and streams.

use serde_json::json;

use crate::fake_google::Reply;
use crate::harness::{spawn_app, PASSWORD};

#[actix_rt::test]
async fn overhead_is_in_the_metrics_and_in_the_history() {
    let app = spawn_app().await;
    // A stream whose events are 150 ms apart: that wait is Google's, not the gateway's.
    app.google.set_default_reply(
        None,
        Reply::stream_chunks(["one ", "two ", "three"]).interval_ms(150),
    );
    let body = |stream: bool| {
        json!({"model": "gemini-2.5-flash", "stream": stream,
               "messages": [{"role": "user", "content": "hi"}]})
    };
    assert_eq!(app.chat(body(false)).await.status, 200);
    let streamed = app.chat(body(true)).await;
    assert_eq!(streamed.status, 200);
    assert!(streamed.text().contains("three"), "{}", streamed.text());

    let list = app.get("/auth/requests").await.json();
    let items = list["requests"].as_array().cloned().unwrap_or_else(|| {
        list.as_array()
            .cloned()
            .unwrap_or_else(|| panic!("no list: {list}"))
    });
    assert_eq!(items.len(), 2, "{list}");
    for item in &items {
        let id = item["id"].as_str().unwrap();
        assert!(item["overhead_ms"].as_f64().is_some(), "{item}");
        let trace = app.get(&format!("/auth/requests/{id}")).await.json();
        let overhead = trace["overhead_ms"].as_f64().unwrap();
        let upstream = trace["upstream_ms"].as_f64().unwrap();
        let duration = trace["duration_ms"].as_f64().unwrap();
        assert!(overhead >= 0.0 && upstream > 0.0, "{trace}");
        assert!(overhead + upstream <= duration + 1.0, "{trace}");
    }
    // The stream waited at least twice 150 ms for its next events: Google's time, not overhead.
    let stream_trace = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    let mut waited = 0.0f64;
    for id in &stream_trace {
        let trace = app.get(&format!("/auth/requests/{id}")).await.json();
        waited = waited.max(trace["upstream_ms"].as_f64().unwrap());
    }
    assert!(
        waited >= 300.0,
        "a stream's waits between events count as Google's"
    );

    let metrics = app
        .send(
            app.client.get(app.url("/metrics")).bearer_auth(PASSWORD),
            None,
        )
        .await
        .text();
    let count = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("gcli2api_overhead_seconds_count{route=\"/v1/chat/completions\"} ")
        })
        .unwrap_or_else(|| panic!("no overhead histogram: {metrics}"));
    assert_eq!(count.trim(), "2");
    assert!(metrics
        .contains("gcli2api_overhead_seconds_bucket{route=\"/v1/chat/completions\",le=\"0.001\"}"));
    app.stop().await;
}
