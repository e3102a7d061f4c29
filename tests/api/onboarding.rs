//! Getting credentials in: uploads (JSON and ZIP, hostile archives), environment variables, OAuth.

use serde_json::{json, Value};

use crate::fake_google::LoadCodeAssist;
use crate::harness::*;

pub fn multipart(files: &[(&str, Vec<u8>)]) -> (String, Vec<u8>) {
    let boundary = "----gcli2apitestboundary";
    let mut body = Vec::new();
    for (name, data) in files {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn zip_of(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut cursor);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap();
    cursor.into_inner()
}

async fn upload(app: &TestApp, files: &[(&str, Vec<u8>)]) -> Answer {
    let (content_type, body) = multipart(files);
    let mut resp = app
        .client
        .post(app.url("/auth/upload"))
        .bearer_auth(PASSWORD)
        .insert_header(("content-type", content_type))
        .send_body(body)
        .await
        .unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.body().await.unwrap().to_vec(),
    }
}

fn cred_bytes(refresh: &str, project: &str) -> Vec<u8> {
    serde_json::to_vec(&credential(refresh, Some(project), None)).unwrap()
}

async fn names(app: &TestApp) -> Vec<String> {
    let status = app.get("/creds/status").await.json();
    let mut names: Vec<String> = status["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["filename"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[actix_rt::test]
async fn json_and_zip_uploads_join_the_rotation_at_once() {
    let app = spawn_app_with(TestOptions::default()).await;
    let zip = zip_of(&[
        ("z1.json", cred_bytes("rt-z1", "pz1")),
        ("z2.json", cred_bytes("rt-z2", "pz2")),
    ]);
    let answer = upload(
        &app,
        &[
            ("one.json", cred_bytes("rt-1", "p1")),
            ("pack.zip", zip),
            ("notes.json", b"{\"hello\":1}".to_vec()),
        ],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["uploaded_count"], 3);
    assert_eq!(body["total_count"], 4);
    let bad = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["filename"] == "notes.json")
        .unwrap();
    assert_eq!(bad["status"], "error");
    assert!(bad["message"].as_str().unwrap().contains("client_id"));
    assert_eq!(names(&app).await, ["one.json", "z1.json", "z2.json"]);
    let chat = app
        .chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(chat.status, 200, "no restart needed");
    app.stop().await;
}

#[actix_rt::test]
async fn hostile_archives_are_refused() {
    let app = spawn_app_with(TestOptions::default()).await;
    let traversal = zip_of(&[
        ("../../evil.json", cred_bytes("rt-e", "pe")),
        ("/abs.json", cred_bytes("rt-a", "pa")),
    ]);
    let answer = upload(&app, &[("t.zip", traversal)]).await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert!(answer.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["status"] == "error"));
    let bomb = zip_of(&[("bomb.json", vec![b' '; 8 * 1024 * 1024])]);
    let answer = upload(&app, &[("bomb.zip", bomb)]).await;
    assert_eq!(answer.status, 413, "{}", answer.text());
    let many: Vec<(String, Vec<u8>)> = (0..1001)
        .map(|i| (format!("c{i}.json"), b"{}".to_vec()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = many.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    let answer = upload(&app, &[("many.zip", zip_of(&refs))]).await;
    assert_eq!(answer.status, 413);
    let path = upload(&app, &[("../x.json", cred_bytes("rt-x", "px"))]).await;
    assert_eq!(path.status, 400);
    assert!(names(&app).await.is_empty(), "nothing was stored");
    assert!(!app.dir.path().parent().unwrap().join("evil.json").exists());
    app.stop().await;
}

#[actix_rt::test]
async fn environment_credentials_load_and_unload() {
    let raw = serde_json::to_string(&credential("rt-env", Some("penv"), None)).unwrap();
    let app = spawn_app_with(
        TestOptions::default()
            .env("GCLI_CREDS_1", raw)
            .env("GCLI_CREDS_broken", "{nope")
            .env("AUTO_LOAD_ENV_CREDS", "true"),
    )
    .await;
    assert_eq!(names(&app).await, ["env-penv-1.json"]);
    let status = app.get("/auth/env-creds-status").await.json();
    assert_eq!(status["existing_env_files_count"], 1);
    assert_eq!(status["auto_load_enabled"], true);
    assert!(status["available_env_vars"]["GCLI_CREDS_broken"]
        .as_str()
        .unwrap()
        .contains("invalid"));
    assert!(
        !status.to_string().contains("rt-env"),
        "secrets stay hidden"
    );
    let chat = app
        .chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(chat.status, 200);
    let del = app
        .send(
            app.client
                .delete(app.url("/auth/env-creds"))
                .bearer_auth(PASSWORD),
            None,
        )
        .await;
    assert_eq!(del.json()["deleted_count"], 1);
    assert!(names(&app).await.is_empty());
    let load = app.post("/auth/load-env-creds", &json!({})).await.json();
    assert_eq!(load["loaded_count"], 1);
    assert_eq!(names(&app).await, ["env-penv-1.json"]);
    app.stop().await;
}

fn query_param(url: &str, name: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn start_flow(app: &TestApp, body: Value) -> Value {
    let answer = app
        .send(app.client.post(app.url("/auth/start")), Some(&body))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

#[actix_rt::test]
async fn oauth_flow_with_the_caught_callback() {
    let app = spawn_app_with(TestOptions::default()).await;
    app.google.set_auth_code("code-1", "rt-oauth");
    app.google.set_email("rt-oauth", "alice@example.com");
    app.google
        .set_load_code_assist(LoadCodeAssist::NeedsOnboarding {
            project: "free-proj".into(),
            polls_until_done: 1,
        });
    let started = start_flow(&app, json!({})).await;
    let auth_url = started["auth_url"].as_str().unwrap();
    assert_eq!(query_param(auth_url, "code_challenge_method"), "S256");
    assert_eq!(query_param(auth_url, "access_type"), "offline");
    let state = query_param(auth_url, "state");
    assert_eq!(state, started["state"]);
    assert!(
        !state.contains(PASSWORD),
        "the state is random, never a password"
    );
    let redirect = query_param(auth_url, "redirect_uri");
    assert!(redirect.ends_with("/oauth2callback"));
    // The browser comes back to the gateway itself.
    let back = app
        .send(
            app.client
                .get(app.url(&format!("/oauth2callback?state={state}&code=code-1"))),
            None,
        )
        .await;
    assert_eq!(back.status, 200);
    assert!(back.text().contains("successful"));
    let done = app
        .send(
            app.client.post(app.url("/auth/callback")),
            Some(&json!({"state": state})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let body = done.json();
    assert_eq!(body["project_id"], "free-proj");
    assert_eq!(body["user_email"], "alice@example.com");
    let exchange = app
        .google
        .requests_to("/token")
        .into_iter()
        .find(|r| r.body["grant_type"] == "authorization_code")
        .unwrap();
    assert!(exchange.body["code_verifier"].as_str().unwrap().len() >= 43);
    let chat = app
        .chat(json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(chat.status, 200, "{}", chat.text());
    assert_eq!(app.upstream_calls()[0].body["project"], "free-proj");
    let status = app.get("/creds/status").await.json();
    assert_eq!(status["items"][0]["user_email"], "alice@example.com");
    app.stop().await;
}

#[actix_rt::test]
async fn oauth_flow_with_a_pasted_callback_url_and_all_projects() {
    let app = spawn_app_with(TestOptions::default()).await;
    app.google.set_auth_code("code-2", "rt-two");
    app.google.set_projects(vec![
        ("proj-a".into(), "A".into()),
        ("proj-b".into(), "B".into()),
    ]);
    let started = start_flow(&app, json!({"get_all_projects": true})).await;
    let state = started["state"].as_str().unwrap();
    let pasted = format!("http://localhost:7861/oauth2callback?state={state}&code=code-2&scope=x");
    let done = app
        .send(
            app.client.post(app.url("/auth/callback-url")),
            Some(&json!({"callback_url": pasted})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    let body = done.json();
    assert_eq!(
        body["multiple_credentials"]["success"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(names(&app).await.len(), 2);
    let replay = app
        .send(
            app.client.post(app.url("/auth/callback-url")),
            Some(&json!({"callback_url": pasted})),
        )
        .await;
    assert_eq!(replay.status, 400, "a flow completes once");
    let bad = app
        .send(
            app.client.post(app.url("/auth/callback-url")),
            Some(&json!({"callback_url": "ftp://x"})),
        )
        .await;
    assert_eq!(bad.status, 400);
    app.stop().await;
}

async fn flow_status(app: &TestApp, state: &str) -> Value {
    app.get(&format!("/auth/status/{state}")).await.json()["status"].clone()
}

#[actix_rt::test]
async fn a_refused_code_leaves_the_flow_pending_for_a_retry() {
    let app = spawn_app_with(TestOptions::default()).await;
    app.google.set_projects(vec![("proj-r".into(), "R".into())]);
    let started = start_flow(&app, json!({"project_id": "proj-r"})).await;
    let state = started["state"].as_str().unwrap();
    assert_eq!(flow_status(&app, state).await, "pending");
    assert_eq!(flow_status(&app, "no-such-state").await, "not_found");

    let paste = |code: &str| {
        let url = format!("http://localhost:7861/oauth2callback?state={state}&code={code}");
        json!({ "callback_url": url })
    };
    let refused = app
        .send(
            app.client.post(app.url("/auth/callback-url")),
            Some(&paste("unknown-code")),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    // Nothing was saved, so pollers must not read "completed".
    assert_eq!(flow_status(&app, state).await, "pending");

    app.google.set_auth_code("good-code", "rt-retry");
    let back = app
        .send(
            app.client
                .get(app.url(&format!("/oauth2callback?state={state}&code=good-code"))),
            None,
        )
        .await;
    assert_eq!(back.status, 200, "the same link can be used again");
    assert_eq!(flow_status(&app, state).await, "code_received");
    let done = app
        .send(
            app.client.post(app.url("/auth/callback")),
            Some(&json!({"state": state})),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.text());
    assert_eq!(flow_status(&app, state).await, "completed");
    assert_eq!(names(&app).await.len(), 1);
    app.stop().await;
}
