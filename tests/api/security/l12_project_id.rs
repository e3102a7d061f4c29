//! L-12: the `project_id` a visitor gives to the public onboarding goes into Google URLs (Service
//! Usage, Code Assist onboarding), so it must be a Google Cloud project id: anything that could leave
//! its path segment or add a query is refused with 400 before a flow starts or a URL is built.

use serde_json::json;

use super::{start_from, with_proxy_trust};
use crate::harness::*;

#[actix_rt::test]
async fn l12_onboarding_project_ids_must_be_google_project_ids() {
    let app = spawn_app_with(with_proxy_trust()).await;
    for bad in [
        "p1/../../v1/services",
        "p1?alt=media",
        "p1#x",
        "p1%2F..",
        "Proj",
        "p 1",
    ] {
        let started = app
            .send(
                app.client.post(app.url("/auth/start")),
                Some(&json!({"project_id": bad})),
            )
            .await;
        assert_eq!(started.status, 400, "{bad}: {}", started.text());
        assert!(started.text().contains("project_id"), "{}", started.text());
    }
    // A flow started properly cannot be completed into a crafted project either.
    app.google.set_auth_code("code-l12", "rt-l12");
    let started = start_from(&app, "192.0.2.12").await;
    assert_eq!(started.status, 200, "{}", started.text());
    let state = started.json()["state"].as_str().unwrap().to_string();
    let pasted = format!("http://localhost:7861/oauth2callback?state={state}&code=code-l12");
    let finished = app
        .send(
            app.client
                .post(app.url("/auth/callback-url"))
                .insert_header(("x-forwarded-for", "192.0.2.12")),
            Some(&json!({"callback_url": pasted, "project_id": "x/../../evil"})),
        )
        .await;
    assert_eq!(finished.status, 400, "{}", finished.text());
    assert!(
        app.google.requests_to("evil").is_empty(),
        "nothing went to Google with it"
    );
    app.stop().await;
}
