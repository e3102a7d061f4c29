//! M-4: remote images are downloaded only after the key is admitted — a spent key gets its 429 and
//! no image server is called — and one request's images together are capped by
//! `MAX_IMAGE_BYTES_PER_REQUEST`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::harness::*;

/// An image server on loopback answering every request with a PNG of `size` bytes; counts requests.
async fn image_server(size: usize) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                counted.fetch_add(1, Ordering::SeqCst);
                let mut body = b"\x89PNG\r\n\x1a\n".to_vec();
                body.resize(size, 0);
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    (base, hits)
}

fn with_images(model: &str, urls: &[String]) -> Value {
    let mut content = vec![json!({"type": "text", "text": "describe"})];
    content.extend(
        urls.iter()
            .map(|u| json!({"type": "image_url", "image_url": {"url": u}})),
    );
    json!({"model": model, "messages": [{"role": "user", "content": content}]})
}

#[actix_rt::test]
async fn m4_a_spent_key_is_refused_before_any_image_is_downloaded() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("IMAGE_FETCH_ALLOW_PRIVATE", "true"),
    )
    .await;
    let (base, hits) = image_server(1000).await;
    let urls: Vec<String> = (0..8).map(|i| format!("{base}/big-{i}.png")).collect();
    // Pro costs 10: a key with 5 left cannot pay for it.
    let req = app.client.post(app.url("/auth/keys")).bearer_auth(PASSWORD);
    let created = app.send(req, Some(&json!({"total_quota": 5}))).await;
    let key = created.json()["api_key"].as_str().unwrap().to_string();
    let spent = app
        .send(
            app.client
                .post(app.url("/v1/chat/completions"))
                .bearer_auth(&key),
            Some(&with_images("gemini-2.5-pro", &urls)),
        )
        .await;
    assert_eq!(spent.status, 429, "{}", spent.text());
    let anthropic = json!({"model": "gemini-2.5-pro", "max_tokens": 5, "messages": [{"role": "user",
        "content": [{"type": "image", "source": {"type": "url", "url": urls[0]}}]}]});
    let answer = app
        .send(
            app.client.post(app.url("/v1/messages")).bearer_auth(&key),
            Some(&anthropic),
        )
        .await;
    assert_eq!(answer.status, 429, "{}", answer.text());
    let responses = json!({"model": "gemini-2.5-pro", "input": [{"role": "user",
        "content": [{"type": "input_image", "image_url": urls[0]}]}]});
    let answer = app
        .send(
            app.client.post(app.url("/v1/responses")).bearer_auth(&key),
            Some(&responses),
        )
        .await;
    assert_eq!(answer.status, 429, "{}", answer.text());
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no image was downloaded");
    assert!(app.upstream_calls().is_empty());
    // The same images for a model the key can pay for are fetched (the key is admitted first).
    let flash = app
        .send(
            app.client
                .post(app.url("/v1/chat/completions"))
                .bearer_auth(&key),
            Some(&with_images("gemini-2.5-flash", &urls[..1])),
        )
        .await;
    assert_eq!(flash.status, 200, "{}", flash.text());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    app.stop().await;
}

#[actix_rt::test]
async fn m4_the_images_of_one_request_share_a_byte_cap() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("IMAGE_FETCH_ALLOW_PRIVATE", "true")
            .env("MAX_IMAGE_BYTES_PER_REQUEST", "2500"),
    )
    .await;
    let (base, hits) = image_server(1000).await;
    let two: Vec<String> = (0..2).map(|i| format!("{base}/{i}.png")).collect();
    assert_eq!(
        app.chat(with_images("gemini-2.5-flash", &two)).await.status,
        200
    );
    let three: Vec<String> = (0..3).map(|i| format!("{base}/more-{i}.png")).collect();
    let refused = app.chat(with_images("gemini-2.5-flash", &three)).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains("MAX_IMAGE_BYTES_PER_REQUEST"),
        "{}",
        refused.text()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 5);
    assert_eq!(app.upstream_calls().len(), 1);
    app.stop().await;
}
