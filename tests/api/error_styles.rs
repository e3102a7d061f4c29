//! Each client API scope answers its errors in its own dialect, whatever raised them: the caller
//! check and the body reader before the handler, the handler, and the scope's unknown paths and
//! wrong methods. Outside the scopes errors keep Google's shape.

use awc::http::Method;
use gcli2api::error::{ApiError, ErrorKind, ErrorStyle};
use serde_json::Value;

use crate::harness::{spawn_app, TestApp, PASSWORD};

const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";

/// One request: `secret` as the bearer token, the extra `headers`, `body` sent as it is.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    secret: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut req = app
        .client
        .request(method, app.url(path))
        .bearer_auth(secret)
        .insert_header(("content-type", "application/json"));
    for header in headers {
        req = req.insert_header(*header);
    }
    let mut answer = req
        .send_body(body.to_owned())
        .await
        .expect("gateway answers");
    let bytes = answer.body().await.expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (answer.status().as_u16(), json)
}

/// A request: method, path, extra headers, and the style its errors must speak.
type Case<'a> = (Method, &'a str, &'a [(&'a str, &'a str)], ErrorStyle);

/// What each scope answers for a made-up secret: the key check happens before the body is read.
#[actix_rt::test]
async fn a_wrong_secret_is_refused_in_the_dialect_of_each_scope() {
    let app = spawn_app().await;
    let refused = ApiError::forbidden("invalid API key");
    let anthropic = [("anthropic-version", "2023-06-01")];
    let cases: [Case; 11] = [
        (
            Method::POST,
            "/v1/chat/completions",
            &[],
            ErrorStyle::OpenAi,
        ),
        (Method::POST, "/v1/responses", &[], ErrorStyle::OpenAi),
        (
            Method::POST,
            "/v1/responses/compact",
            &[],
            ErrorStyle::OpenAi,
        ),
        (Method::GET, "/v1/responses/resp_1", &[], ErrorStyle::OpenAi),
        (Method::GET, "/v1/models", &[], ErrorStyle::OpenAi),
        (Method::POST, "/v1/messages", &[], ErrorStyle::Anthropic),
        (
            Method::POST,
            "/v1/messages/count_tokens",
            &[],
            ErrorStyle::Anthropic,
        ),
        // Anthropic's SDK at the shared model paths, known by its header.
        (Method::GET, "/v1/models", &anthropic, ErrorStyle::Anthropic),
        (
            Method::GET,
            "/v1/models/claude-sonnet-4-5",
            &anthropic,
            ErrorStyle::Anthropic,
        ),
        (Method::POST, GENERATE, &[], ErrorStyle::Google),
        (Method::GET, "/v1beta/models", &[], ErrorStyle::Google),
    ];
    for (method, path, headers, style) in cases {
        let (status, body) = call(&app, method, path, "not-the-password", headers, "{}").await;
        assert_eq!(status, 403, "{path}: {body}");
        assert_eq!(body, refused.render(style), "{path} ({style:?})");
    }
    app.stop().await;
}

/// A body that is not JSON, read by the scope's route after the caller is known.
#[actix_rt::test]
async fn a_body_that_is_not_json_is_refused_in_the_dialect_of_each_scope() {
    let app = spawn_app().await;
    let cases = [
        ("/v1/chat/completions", ErrorStyle::OpenAi),
        ("/v1/responses", ErrorStyle::OpenAi),
        ("/v1/messages", ErrorStyle::Anthropic),
        (GENERATE, ErrorStyle::Google),
    ];
    for (path, style) in cases {
        let (status, body) = call(&app, Method::POST, path, PASSWORD, &[], "[1,").await;
        assert_eq!(status, 400, "{path}: {body}");
        // Every shape keeps the message at `error.message`.
        let message = body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains("not valid JSON"), "{path}: {body}");
        assert_eq!(
            body,
            ApiError::bad_request(message).render(style),
            "{path} ({style:?})"
        );
    }
    app.stop().await;
}

/// Unknown paths below a scope and wrong methods on its routes; unknown paths elsewhere.
#[actix_rt::test]
async fn unknown_paths_and_wrong_methods_answer_in_the_dialect_of_their_scope() {
    let app = spawn_app().await;
    let cases = [
        (
            Method::POST,
            "/v1/chat/other",
            ErrorKind::NotFound,
            ErrorStyle::OpenAi,
        ),
        (
            Method::GET,
            "/v1/responses/a/b",
            ErrorKind::NotFound,
            ErrorStyle::OpenAi,
        ),
        (
            Method::POST,
            "/v1/messages/batches",
            ErrorKind::NotFound,
            ErrorStyle::Anthropic,
        ),
        (
            Method::GET,
            "/v1/messages",
            ErrorKind::MethodNotAllowed,
            ErrorStyle::Anthropic,
        ),
        (
            Method::PUT,
            "/v1/responses",
            ErrorKind::MethodNotAllowed,
            ErrorStyle::OpenAi,
        ),
        (
            Method::DELETE,
            "/v1/models",
            ErrorKind::MethodNotAllowed,
            ErrorStyle::OpenAi,
        ),
        (
            Method::PUT,
            GENERATE,
            ErrorKind::MethodNotAllowed,
            ErrorStyle::Google,
        ),
        (
            Method::GET,
            "/v1/nothing-here",
            ErrorKind::NotFound,
            ErrorStyle::Google,
        ),
        (
            Method::GET,
            "/nope",
            ErrorKind::NotFound,
            ErrorStyle::Google,
        ),
    ];
    for (method, path, kind, style) in cases {
        let (status, body) = call(&app, method.clone(), path, PASSWORD, &[], "").await;
        assert_eq!(status, kind.spec().status, "{method} {path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(
            body,
            ApiError::new(kind, message).render(style),
            "{method} {path} ({style:?})"
        );
    }
    app.stop().await;
}
