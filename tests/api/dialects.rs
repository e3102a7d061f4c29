//! A client dialect plugs into the one request path without touching the gateway: a dialect with named
//! SSE events (`event: message_start`, `event: ping` heartbeats) and Anthropic-style errors, served
//! through `gateway::serve` from a route of its own against the fake Google.

use actix_web::{test, web, App, HttpResponse};
use gcli2api::auth::ApiCaller;
use gcli2api::convert::dialect::{Dialect, SseFrame};
use gcli2api::convert::gemini::model_name::ModelSpec;
use gcli2api::error::{ApiError, ErrorStyle};
use gcli2api::gateway::{serve, ModelCall};
use gcli2api::state::{AppState, UpstreamClient};
use serde_json::{json, Value};

use crate::fake_google::Reply;
use crate::harness::spawn_app;

fn text_of(response: &Value) -> String {
    response["candidates"][0]["content"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["text"].as_str())
        .collect()
}

/// Renders like Anthropic Messages would, reduced to what the test checks.
#[derive(Default)]
struct NamedEvents {
    started: bool,
}

impl Dialect for NamedEvents {
    fn style(&self) -> ErrorStyle {
        ErrorStyle::Anthropic
    }

    fn render_response(&mut self, response: Value) -> Value {
        json!({"type": "message", "text": text_of(&response)})
    }

    fn event(&mut self, response: &Value) -> Vec<SseFrame> {
        let mut frames = Vec::new();
        if !self.started {
            self.started = true;
            frames.push(SseFrame::named(
                "message_start",
                json!({"type": "message_start"}),
            ));
        }
        frames.push(SseFrame::named("delta", json!({"text": text_of(response)})));
        frames
    }

    fn finish(&mut self) -> Vec<SseFrame> {
        vec![SseFrame::named(
            "message_stop",
            json!({"type": "message_stop"}),
        )]
    }

    fn error(&mut self, err: &ApiError) -> Vec<SseFrame> {
        vec![SseFrame::named("error", err.render(self.style()))]
    }

    fn heartbeat(&mut self) -> SseFrame {
        SseFrame::named("ping", json!({"type": "ping"}))
    }

    fn done_marker(&self) -> bool {
        false
    }
}

async fn named_route(
    body: web::Json<Value>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let model = body["model"].as_str().unwrap_or_default();
    let spec = ModelSpec::parse(model).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let call = ModelCall {
        caller: ApiCaller::Password,
        requested_model: spec.requested,
        base_model: spec.base,
        request: json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        stream: body["stream"].as_bool().unwrap_or(false),
        mode: spec.mode,
        session: None,
    };
    let client = UpstreamClient(awc::Client::default());
    serve(&state, &client, call, NamedEvents::default()).await
}

async fn ask(state: &AppState, body: Value) -> (u16, String) {
    let service = test::init_service(
        App::new()
            .app_data(web::Data::new(state.clone()))
            .route("/named", web::post().to(named_route)),
    )
    .await;
    let request = test::TestRequest::post()
        .uri("/named")
        .set_json(body)
        .to_request();
    let response = test::call_service(&service, request).await;
    let status = response.status().as_u16();
    let bytes = test::read_body(response).await;
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[actix_rt::test]
async fn a_new_dialect_streams_named_events_through_the_gateway() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::stream_chunks(["Hel", "lo"]));
    let (status, body) = ask(
        &app.state,
        json!({"model": "gemini-2.5-flash", "stream": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        "event: message_start\ndata: {\"type\":\"message_start\"}\n\n\
         event: delta\ndata: {\"text\":\"Hel\"}\n\n\
         event: delta\ndata: {\"text\":\"lo\"}\n\n\
         event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    );

    let (status, body) = ask(&app.state, json!({"model": "gemini-2.5-flash"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["type"],
        "message"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn its_errors_are_in_its_style() {
    let app = spawn_app().await;
    // Google's 429 before the first byte: an HTTP error in the dialect's style.
    app.google.set_default_reply(
        None,
        Reply::google_error(429, "RESOURCE_EXHAUSTED", "slow down"),
    );
    let (status, body) = ask(&app.state, json!({"model": "gemini-2.5-flash"})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
    );

    app.stop().await;
}

#[actix_rt::test]
async fn its_heartbeats_are_its_own() {
    let app = spawn_app().await;
    // Fake streaming: `event: ping` heartbeats while Google thinks, then the whole answer.
    app.google
        .set_default_reply(None, Reply::text("late answer").delay_ms(700));
    let (status, body) = ask(
        &app.state,
        json!({"model": "假流式/gemini-2.5-flash", "stream": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with("event: ping\ndata: {\"type\":\"ping\"}\n\n"),
        "{body}"
    );
    assert!(
        body.ends_with(
            "event: delta\ndata: {\"text\":\"late answer\"}\n\n\
             event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        ),
        "{body}"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn a_failure_after_the_first_byte_is_an_error_event_of_the_dialect() {
    let app = spawn_app().await;
    app.google
        .enqueue("p1", Reply::stream_chunks(["a", "b", "c"]).cut_after(1));
    let (status, body) = ask(
        &app.state,
        json!({"model": "gemini-2.5-flash", "stream": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        "event: message_start\ndata: {\"type\":\"message_start\"}\n\n\
         event: delta\ndata: {\"text\":\"a\"}\n\n\
         event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\
         \"message\":\"Google's stream ended before the answer was complete\"}}\n\n\
         event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
    );
    app.stop().await;
}
