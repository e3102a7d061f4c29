//! L-3: a page on another origin cannot drive the panel with "simple" requests (which browsers send
//! without a preflight). A state-changing panel request that names a foreign origin is refused before
//! it runs, and one whose body is plain text or a form is refused whatever its origin; so such posts
//! to `/auth/login` cannot lock the operator out.

use serde_json::json;

use crate::harness::*;

#[actix_rt::test]
async fn l3_cross_origin_simple_posts_to_the_panel_are_refused() {
    let app = spawn_app().await;
    let host = app.base.trim_start_matches("http://").to_string();
    // Ten wrong passwords as a foreign page would post them: text/plain, and as a form.
    for i in 0..10 {
        let (content_type, body) = if i % 2 == 0 {
            ("text/plain", format!("{{\"password\":\"wrong-{i}\"}}"))
        } else {
            (
                "application/x-www-form-urlencoded",
                format!("password=wrong-{i}"),
            )
        };
        let mut resp = app
            .client
            .post(app.url("/auth/login"))
            .insert_header(("origin", "https://evil.example"))
            .insert_header(("content-type", content_type))
            .send_body(body)
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{content_type}");
        let answer: serde_json::Value = resp.json().await.unwrap();
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("cross-origin"),
            "{answer}"
        );
    }
    // Even without an Origin header (an old browser, a form), a plain-text body is not taken.
    let mut resp = app
        .client
        .post(app.url("/auth/login"))
        .insert_header(("content-type", "text/plain"))
        .send_body(format!("{{\"password\":\"{PASSWORD}\"}}"))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    let _ = resp.body().await;
    // A JSON post naming a foreign origin is refused too, and other state-changing routes alike.
    for path in ["/auth/login", "/auth/logout", "/config/save", "/auth/keys"] {
        let refused = app
            .send(
                app.client
                    .post(app.url(path))
                    .insert_header(("origin", "http://localhost:1"))
                    .bearer_auth(PASSWORD),
                Some(&json!({"password": PASSWORD})),
            )
            .await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.text());
    }
    // None of that counted as a failed login: the operator still gets in, from the panel's own page.
    let login = app
        .send(
            app.client
                .post(app.url("/auth/login"))
                .insert_header(("origin", format!("http://{host}"))),
            Some(&json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text());
    // The client API stays open to browser apps on any origin.
    let chat = app
        .send(
            app.client
                .post(app.url("/v1/chat/completions"))
                .insert_header(("origin", "https://chat.example"))
                .bearer_auth(PASSWORD),
            Some(&json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]})),
        )
        .await;
    assert_eq!(chat.status, 200, "{}", chat.text());
    app.stop().await;
}
