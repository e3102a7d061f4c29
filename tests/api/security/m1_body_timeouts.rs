//! M-1: every route has a body-read deadline. Clients that announce a body and send one byte, on
//! panel and public routes alike, are answered 408 and their connections closed, so they cannot hold
//! the file descriptors; the gateway keeps answering everyone else.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::PASSWORD;
use crate::process::Gateway;

/// Opens a connection that announces 100 bytes and sends one (authenticated, so the client API
/// route gets as far as reading the body too).
async fn slow_post(base: &str, path: &str) -> TcpStream {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAuthorization: Bearer {PASSWORD}\r\nContent-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// Everything the gateway sends until it closes the connection (at most 20 s).
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
            .await
            .expect("the gateway closed the connection")
            .unwrap_or(0);
        if n == 0 {
            return String::from_utf8_lossy(&text).into_owned();
        }
        text.extend_from_slice(&buf[..n]);
    }
}

#[actix_rt::test]
async fn m1_slow_bodies_are_cut_on_every_route_and_their_connections_closed() {
    let env: HashMap<String, String> = [("CLIENT_BODY_TIMEOUT".to_string(), "1".to_string())]
        .into_iter()
        .collect();
    let gateway = Gateway::start(&env).await;
    let routes = [
        "/auth/query",
        "/auth/login",
        "/auth/start",
        "/config/save",
        "/v1/chat/completions",
    ];
    let mut slow = Vec::new();
    for round in 0..20 {
        let path = routes[round % routes.len()];
        slow.push((path, slow_post(&gateway.base, path).await));
    }
    for (path, stream) in &mut slow {
        let answer = until_closed(stream).await;
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "{path} answered: {answer}"
        );
        assert!(answer.contains("CLIENT_BODY_TIMEOUT"), "{path}: {answer}");
    }
    // Everyone else is served as before.
    let answer = gateway.send("GET", "/config/get", PASSWORD, None).await;
    assert_eq!(answer.status, 200);
}
