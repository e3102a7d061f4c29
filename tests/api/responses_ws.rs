//! The Responses API over a WebSocket (`GET /v1/responses`) through the real gateway and the fake
//! Google: the handshake's authentication, turns on one connection, keys and quotas, warm-ups.

use std::time::Duration;

use awc::error::WsProtocolError;
use awc::ws::{Frame, Message};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde_json::{json, Value};

use crate::harness::*;

/// An open client WebSocket (awc's framed connection).
pub trait Socket:
    Sink<Message, Error = WsProtocolError> + Stream<Item = Result<Frame, WsProtocolError>> + Unpin
{
}

impl<T> Socket for T where
    T: Sink<Message, Error = WsProtocolError>
        + Stream<Item = Result<Frame, WsProtocolError>>
        + Unpin
{
}

fn ws_url(app: &TestApp) -> String {
    app.url("/v1/responses").replace("http://", "ws://")
}

pub async fn open(app: &TestApp, key: &str) -> impl Socket {
    let (response, socket) = app
        .client
        .ws(ws_url(app))
        .bearer_auth(key)
        .set_header("OpenAI-Beta", "responses_websockets=2026-02-06")
        .connect()
        .await
        .expect("the handshake succeeds");
    assert_eq!(response.status(), 101);
    socket
}

pub async fn send(socket: &mut impl Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// The events of one response: every text frame up to `response.completed`, `response.failed`,
/// `response.incomplete` or an `error` event.
pub async fn events(socket: &mut impl Socket) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("an event arrives")
            .expect("the connection stays open")
            .expect("a readable frame");
        let Frame::Text(text) = frame else {
            continue;
        };
        let event: Value = serde_json::from_slice(&text).unwrap();
        let kind = event["type"].as_str().unwrap().to_owned();
        out.push(event);
        if matches!(
            kind.as_str(),
            "response.completed" | "response.failed" | "response.incomplete" | "error"
        ) {
            return out;
        }
    }
}

pub fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

pub fn create(body: Value) -> Value {
    let mut frame = json!({"type": "response.create"});
    for (k, v) in body.as_object().unwrap() {
        frame[k] = v.clone();
    }
    frame
}

async fn metrics(app: &TestApp) -> String {
    app.get("/metrics").await.text()
}

#[actix_rt::test]
async fn the_handshake_needs_a_valid_key() {
    let app = spawn_app().await;
    let refused = app.client.ws(ws_url(&app)).connect().await;
    match refused {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => assert_eq!(status, 401),
        Err(other) => panic!("expected 401, got {other:?}"),
        Ok(_) => panic!("expected 401, got an upgrade"),
    }
    let wrong = app
        .client
        .ws(ws_url(&app))
        .bearer_auth("sk-not-a-key")
        .connect()
        .await;
    match wrong {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert!(status == 401 || status == 403, "{status}")
        }
        Err(other) => panic!("expected 401/403, got {other:?}"),
        Ok(_) => panic!("expected 401/403, got an upgrade"),
    }
    // Without an upgrade the route says what it is.
    let plain = app.get("/v1/responses").await;
    assert_eq!(plain.status, 400, "{}", plain.text());
    assert!(plain.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("WebSocket"));
    assert!(app.upstream_calls().is_empty());
    app.stop().await;
}

#[actix_rt::test]
async fn two_responses_on_one_connection_the_second_continuing_the_first_unstored() {
    let app = spawn_app().await;
    let mut socket = open(&app, PASSWORD).await;
    send(
        &mut socket,
        create(json!({"model": "gemini-2.5-pro", "input": "first question", "store": false})),
    )
    .await;
    let first = events(&mut socket).await;
    let first_kinds = kinds(&first);
    assert_eq!(first_kinds[0], "response.created", "{first_kinds:?}");
    assert!(first_kinds.contains(&"response.output_text.delta"));
    assert_eq!(*first_kinds.last().unwrap(), "response.completed");
    let done = &first.last().unwrap()["response"];
    assert_eq!(done["store"], false);
    let first_id = done["id"].as_str().unwrap().to_owned();
    // Not in the response store: over HTTP the id is unknown.
    assert_eq!(
        app.get(&format!("/v1/responses/{first_id}")).await.status,
        404
    );

    send(
        &mut socket,
        create(json!({
            "model": "gemini-2.5-pro",
            "previous_response_id": first_id,
            "input": [{"role": "user", "content": "second question"}],
            "store": false,
        })),
    )
    .await;
    let second = events(&mut socket).await;
    assert_eq!(*kinds(&second).last().unwrap(), "response.completed");
    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 2);
    let contents = calls[1].body["request"]["contents"].as_array().unwrap();
    let texts: Vec<&str> = contents
        .iter()
        .flat_map(|c| c["parts"].as_array().unwrap())
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(texts[0], "first question");
    assert!(texts.contains(&"Hello from gemini-2.5-pro"), "{texts:?}");
    assert_eq!(*texts.last().unwrap(), "second question");
    // Every turn is observed like a request, marked as coming over the WebSocket.
    let text = metrics(&app).await;
    assert!(
        text.contains("gcli2api_responses_ws_connections 1"),
        "{text}"
    );
    assert!(text.contains("gcli2api_responses_ws_events_total{event=\"response\"} 2"));
    app.eventually("the connection and both turns in the log", || {
        let log = std::fs::read_to_string(app.dir.path().join("log.txt")).unwrap_or_default();
        log.contains("responses websocket opened")
            && log
                .matches(" WS /v1/responses model=gemini-2.5-pro status=200")
                .count()
                == 2
    })
    .await;
    drop(socket);
    app.stop().await;
}

#[actix_rt::test]
async fn keys_and_quotas_apply_on_the_websocket() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("RETRY_429_ENABLED", "false"),
    )
    .await;
    let login = app
        .post("/auth/login", &json!({"password": PASSWORD}))
        .await
        .json();
    let token = login["token"].as_str().unwrap().to_owned();
    let req = app.client.post(app.url("/auth/keys")).bearer_auth(&token);
    let key = app
        .send(req, Some(&json!({"total_quota": 10})))
        .await
        .json()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut socket = open(&app, &key).await;
    send(
        &mut socket,
        create(json!({"model": "gemini-2.5-pro", "input": "hi"})),
    )
    .await;
    assert_eq!(
        *kinds(&events(&mut socket).await).last().unwrap(),
        "response.completed"
    );
    // The key is spent: the next response is an error event with the HTTP route's status and body.
    send(
        &mut socket,
        create(json!({"model": "gemini-2.5-pro", "input": "again"})),
    )
    .await;
    let spent = events(&mut socket).await;
    assert_eq!(spent.len(), 1, "{spent:?}");
    assert_eq!(spent[0]["type"], "error");
    assert_eq!(spent[0]["status"], 429);
    assert_eq!(spent[0]["error"]["type"], "insufficient_quota");
    assert_eq!(app.upstream_calls().len(), 1);
    // A bad request is an error event too, and the connection goes on.
    send(&mut socket, create(json!({"input": "no model"}))).await;
    let bad = events(&mut socket).await;
    assert_eq!(bad[0]["status"], 400);
    assert_eq!(bad[0]["error"]["type"], "invalid_request_error");
    send(
        &mut socket,
        json!({"type": "response.processed", "response_id": "x"}),
    )
    .await;
    send(&mut socket, json!({"type": "something.else"})).await;
    let unknown = events(&mut socket).await;
    assert!(unknown[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("something.else"));
    drop(socket);
    app.stop().await;
}

#[actix_rt::test]
async fn a_warm_up_costs_nothing_and_is_continued_with_an_empty_input() {
    let app = spawn_app().await;
    let login = app
        .post("/auth/login", &json!({"password": PASSWORD}))
        .await
        .json();
    let token = login["token"].as_str().unwrap().to_owned();
    let req = app.client.post(app.url("/auth/keys")).bearer_auth(&token);
    let key = app
        .send(req, Some(&json!({"total_quota": 10})))
        .await
        .json()["api_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut socket = open(&app, &key).await;
    let input = json!([{"type": "message", "role": "user",
                        "content": [{"type": "input_text", "text": "warm question"}]}]);
    send(
        &mut socket,
        create(
            json!({"model": "gemini-2.5-pro", "input": input, "store": false, "generate": false}),
        ),
    )
    .await;
    let warm = events(&mut socket).await;
    assert_eq!(
        kinds(&warm),
        [
            "response.created",
            "response.in_progress",
            "response.completed"
        ]
    );
    let done = &warm[2]["response"];
    assert_eq!(done["output"], json!([]));
    assert_eq!(done["usage"]["total_tokens"], 0);
    assert!(app.upstream_calls().is_empty(), "Google was not called");
    let req = app
        .client
        .get(app.url(&format!("/auth/keys/{key}")))
        .bearer_auth(&token);
    assert_eq!(app.send(req, None).await.json()["used_quota"], 0);
    // Codex then continues the warm-up with nothing new: the warm-up's input is the conversation.
    send(
        &mut socket,
        create(json!({
            "model": "gemini-2.5-pro",
            "previous_response_id": done["id"],
            "input": [],
            "store": false,
        })),
    )
    .await;
    let answer = events(&mut socket).await;
    assert_eq!(*kinds(&answer).last().unwrap(), "response.completed");
    let calls = app.upstream_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0].body["request"]["contents"][0]["parts"][0]["text"],
        "warm question"
    );
    let text = metrics(&app).await;
    assert!(text.contains("gcli2api_responses_ws_events_total{event=\"warmup\"} 1"));
    drop(socket);
    app.stop().await;
}

#[actix_rt::test]
async fn the_connection_cap_refuses_the_handshake() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("RESPONSES_WS_MAX_CONNECTIONS", "1"),
    )
    .await;
    let socket = open(&app, PASSWORD).await;
    let refused = app
        .client
        .ws(ws_url(&app))
        .bearer_auth(PASSWORD)
        .connect()
        .await;
    match refused {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => assert_eq!(status, 503),
        Err(other) => panic!("expected 503, got {other:?}"),
        Ok(_) => panic!("expected 503, got an upgrade"),
    }
    drop(socket);
    app.eventually("the place is given back", || {
        app.state.responses_sockets.open() == 0
    })
    .await;
    let again = open(&app, PASSWORD).await;
    drop(again);
    app.stop().await;
}
