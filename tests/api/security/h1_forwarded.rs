//! H-1: behind a trusted proxy the client address comes only from the header the proxy sets
//! (`X-Forwarded-For` by default), its rightmost untrusted entry; a client's own `Forwarded` header
//! changes nothing, so it can neither escape the login limiter nor lock out someone else.

use crate::harness::*;

async fn panel_guess(app: &TestApp, headers: &[(&str, String)], password: &str) -> u16 {
    let mut req = app.client.get(app.url("/config/get")).bearer_auth(password);
    for (name, value) in headers {
        req = req.insert_header((*name, value.clone()));
    }
    app.send(req, None).await.status
}

#[actix_rt::test]
async fn h1_a_clients_forwarded_header_is_ignored_behind_the_proxy() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("TRUSTED_PROXIES", "127.0.0.1/32"),
    )
    .await;
    // The proxy (nginx) appends the address it saw; the client adds a fresh `Forwarded` each time.
    let proxied = |i: u32| {
        vec![
            ("forwarded", format!("for=192.0.2.{i}")),
            ("x-forwarded-for", "198.51.100.50".to_string()),
        ]
    };
    for i in 0..5 {
        assert_eq!(panel_guess(&app, &proxied(i), "wrong").await, 401);
    }
    assert_eq!(
        panel_guess(&app, &proxied(9), "wrong").await,
        429,
        "every guess counted against the address the proxy saw"
    );
    // A forged lock-out: the attacker names the operator in a `Forwarded` header; the operator,
    // behind the same proxy, is not locked out.
    let operator = vec![("x-forwarded-for", "203.0.113.7".to_string())];
    for _ in 0..6 {
        let forged = vec![
            ("forwarded", "for=203.0.113.7".to_string()),
            ("x-forwarded-for", "198.51.100.51".to_string()),
        ];
        panel_guess(&app, &forged, "wrong").await;
    }
    assert_eq!(panel_guess(&app, &operator, PASSWORD).await, 200);
    // A forged entry left of the proxy's own one is the client's claim too.
    let padded = vec![("x-forwarded-for", "203.0.113.7, 198.51.100.52".to_string())];
    for _ in 0..6 {
        panel_guess(&app, &padded, "wrong").await;
    }
    assert_eq!(panel_guess(&app, &operator, PASSWORD).await, 200);
    app.stop().await;
}

#[actix_rt::test]
async fn h1_forwarded_is_read_only_when_the_proxy_is_said_to_set_it() {
    let app = spawn_app_with(
        TestOptions::default()
            .cred("p1.json", credential("rt-1", Some("p1"), None))
            .env("TRUSTED_PROXIES", "127.0.0.1/32")
            .env("TRUSTED_PROXY_HEADER", "forwarded"),
    )
    .await;
    let from = |address: &str| {
        vec![
            ("forwarded", format!("for={address};proto=https")),
            ("x-forwarded-for", "192.0.2.99".to_string()),
        ]
    };
    for _ in 0..5 {
        assert_eq!(panel_guess(&app, &from("198.51.100.1"), "wrong").await, 401);
    }
    assert_eq!(
        panel_guess(&app, &from("198.51.100.1"), PASSWORD).await,
        429
    );
    assert_eq!(
        panel_guess(&app, &from("198.51.100.2"), PASSWORD).await,
        200
    );
    app.stop().await;
}
