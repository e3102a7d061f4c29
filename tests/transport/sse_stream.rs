use std::time::Duration;

use actix_web::{web, HttpResponse};
use bytes::Bytes;
use futures_util::StreamExt as _;
use gcli2api::upstream::sse::{sse_events, SseEvent};

use crate::fixtures::{client_with_ca, start_server, test_pki};

/// Two events cut at awkward places: inside a multi-byte character and between `\r` and `\n`.
const PIECES: &[&[u8]] = &[
    b"data: {\"text\":\"caf\xC3",
    b"\xA9\"}\r",
    b"\n\r\n: heartbeat\r\nevent: done\r\ndata: [DONE]",
];

fn sse_routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/stream",
        web::get().to(|| async {
            let pieces = futures_util::stream::iter(PIECES.iter()).then(|piece| async move {
                actix_rt::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, std::io::Error>(Bytes::from_static(piece))
            });
            HttpResponse::Ok()
                .content_type("text/event-stream")
                .streaming(pieces)
        }),
    );
}

#[actix_rt::test]
async fn streamed_response_is_parsed_event_by_event_over_h2() {
    let pki = test_pki();
    let server = start_server(sse_routes, Some(pki.server_config.clone()));
    let client = client_with_ca(&pki, None);

    let response = client
        .get(format!("https://localhost:{}/stream", server.port))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), awc::http::Version::HTTP_2);
    let events: Vec<SseEvent> = sse_events(response)
        .map(|item| item.unwrap())
        .collect()
        .await;
    assert_eq!(
        events,
        vec![
            SseEvent {
                event: None,
                data: "{\"text\":\"caf\u{e9}\"}".to_owned(),
            },
            SseEvent {
                event: Some("done".to_owned()),
                data: "[DONE]".to_owned(),
            },
        ]
    );
    server.stop().await;
}
