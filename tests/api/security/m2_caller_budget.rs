//! M-2: the in-flight body budget is shared fairly. One key that opens connections announcing large
//! bodies and trickles them holds at most its own share (`MAX_INFLIGHT_BODY_PER_CALLER_MB`); its
//! further bodies are refused, while other callers' requests go through.

use std::collections::HashMap;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::read_response;
use crate::harness::PASSWORD;
use crate::process::Gateway;

const MIB: usize = 1024 * 1024;

/// Announces `length` bytes for `key` and sends only the first.
async fn hold(base: &str, key: &str, length: usize) -> TcpStream {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAuthorization: Bearer {key}\r\nContent-Length: {length}\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// A whole body of `length` bytes (not JSON: the answer is 400 once it was read, 503 if refused).
async fn whole(base: &str, key: &str, length: usize) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAuthorization: Bearer {key}\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The gateway may refuse before reading: a failed write then is its answer, not an error.
    let _ = stream.write_all(&vec![b' '; length]).await;
    read_response(&mut stream).await
}

#[actix_rt::test]
async fn m2_one_key_cannot_take_the_whole_body_budget() {
    let env: HashMap<String, String> = [
        ("MAX_INFLIGHT_BODY_MB", "8"),
        ("MAX_INFLIGHT_BODY_PER_CALLER_MB", "3"),
        ("MAX_REQUEST_BODY_MB", "4"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let gateway = Gateway::start(&env).await;
    let greedy = gateway.create_key(100).await.unwrap();
    let other = gateway.create_key(100).await.unwrap();

    // The greedy key holds 2 MiB of its 3; a further 1.5 MiB is past its share, at once.
    let mut held = hold(&gateway.base, &greedy, 2 * MIB).await;
    let mut refused = None;
    // What ended a held body early, if anything did: shown when the test fails.
    let mut held_ended = Vec::new();
    for _ in 0..250 {
        let (status, text) = whole(&gateway.base, &greedy, MIB + MIB / 2).await;
        if status == 503 {
            refused = Some(text);
            break;
        }
        // The held body may not have reserved yet when this one arrived (a busy machine): again.
        assert_eq!(status, 400, "{text}");
        // A held connection the gateway answered or closed holds nothing: hold another.
        let mut buf = [0u8; 4096];
        match held.try_read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => {
                let seen = match other {
                    Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
                    Err(e) => e.to_string(),
                };
                held_ended.push(seen);
                held = hold(&gateway.base, &greedy, 2 * MIB).await;
            }
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let refused = refused.unwrap_or_else(|| {
        panic!("a key past its share is refused; held bodies ended with: {held_ended:?}")
    });
    assert!(
        refused.to_ascii_lowercase().contains("retry-after"),
        "{refused}"
    );
    // Others still have the rest of the budget: a key, and the password.
    for caller in [other.as_str(), PASSWORD] {
        let (status, text) = whole(&gateway.base, caller, 2 * MIB).await;
        assert_eq!(status, 400, "{text}");
    }
}
