//! L-4: the live-log WebSocket accepts an upgrade only from the panel's own origin (or from a client
//! that names none, such as a script); a page elsewhere cannot open it, token or not.

use super::login;
use crate::harness::*;

#[actix_rt::test]
async fn l4_the_log_socket_checks_the_origin() {
    let app = spawn_app().await;
    let token = login(&app).await;
    let url = app.url(&format!("/auth/logs/stream?token={token}"));
    let foreign = awc::Client::new()
        .ws(url.clone())
        .origin("https://evil.example")
        .connect()
        .await;
    match foreign {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status.as_u16(), 403)
        }
        Err(other) => panic!("unexpected failure: {other}"),
        Ok((resp, _)) => panic!("a foreign origin opened the log socket: {}", resp.status()),
    }
    let own = app.base.clone();
    let (resp, _) = awc::Client::new()
        .ws(url.clone())
        .origin(own.as_str())
        .connect()
        .await
        .expect("the panel's own origin opens the socket");
    assert_eq!(resp.status().as_u16(), 101);
    let (resp, _) = awc::Client::new()
        .ws(url)
        .connect()
        .await
        .expect("a client without an Origin opens the socket");
    assert_eq!(resp.status().as_u16(), 101);
    app.stop().await;
}
