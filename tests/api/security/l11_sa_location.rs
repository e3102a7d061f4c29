//! L-11: a service-account file's own `location` becomes part of the Vertex host name, so it must be
//! a Google Cloud location. A file naming `127.0.0.1:<port>/steal?` is refused when added and left
//! unused when found in `CREDENTIALS_DIR`: the minted token never goes to that address.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::harness::*;

const SA_EMAIL: &str = "gateway@vproj.iam.gserviceaccount.com";
const SA_PRIVATE: &str = include_str!("../../fixtures/vertex_test_sa_private.pem");
const SA_PUBLIC: &str = include_str!("../../fixtures/vertex_test_sa_public.pem");

fn service_account(location: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": "vproj",
        "private_key_id": "0123456789abcdef",
        "private_key": SA_PRIVATE,
        "client_email": SA_EMAIL,
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
        "location": location,
    })
}

#[actix_rt::test]
async fn l11_a_service_account_location_must_be_a_google_location() {
    // The address a crafted location points at; it counts every connection it gets.
    let thief = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = thief.local_addr().unwrap().port();
    let stolen = Arc::new(AtomicUsize::new(0));
    let count = stolen.clone();
    actix_rt::spawn(async move {
        while thief.accept().await.is_ok() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    let crafted = format!("127.0.0.1:{port}/steal?");
    let google = crate::fake_google::FakeGoogle::start().await;
    google.register_service_account(SA_EMAIL, SA_PUBLIC);
    let app = spawn_app_with(TestOptions {
        google: Some(google),
        ..TestOptions::default().cred("crafted.json", service_account(&crafted))
    })
    .await;

    // Added from the panel: refused, naming the field.
    let added = app
        .send(
            app.client
                .post(app.url("/creds/vertex"))
                .bearer_auth(PASSWORD),
            Some(&json!({"service_account": service_account(&crafted)})),
        )
        .await;
    assert_eq!(added.status, 400, "{}", added.text());
    assert!(added.text().contains("location"), "{}", added.text());
    // Given as a separate field: refused the same way.
    let added = app
        .send(
            app.client.post(app.url("/creds/vertex")).bearer_auth(PASSWORD),
            Some(&json!({"service_account": service_account("us-central1"), "location": "Evil_Host"})),
        )
        .await;
    assert_eq!(added.status, 400, "{}", added.text());

    // Found in the directory: the credential is reported unusable and never called with.
    let chat = app
        .chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_ne!(chat.status, 200, "{}", chat.text());
    assert_eq!(app.google.jwt_grants(SA_EMAIL), 0, "no token was minted");
    assert_eq!(
        stolen.load(Ordering::SeqCst),
        0,
        "nothing reached the crafted address"
    );
    app.stop().await;
}
