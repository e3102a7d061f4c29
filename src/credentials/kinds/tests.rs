//! Each kind's rules, asked through the trait as the rest of the crate asks them.

use serde_json::{json, Map, Value};

use super::*;
use crate::config::Settings;
use crate::credentials::CredentialKind;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn service_account() -> Map<String, Value> {
    obj(json!({
        "type": "service_account",
        "client_email": "sa@p.iam.gserviceaccount.com",
        "private_key": include_str!("../../../tests/fixtures/vertex_test_sa_private.pem"),
        "project_id": "vp",
        "location": "europe-west4",
    }))
}

#[test]
fn every_kind_is_found_by_its_name() {
    for kind in CredentialKind::ALL {
        assert_eq!(kind.rules().name(), kind.as_str());
        assert_eq!(CredentialKind::parse(kind.rules().name()), Some(kind));
        assert_eq!(CredentialKind::ALL[kind.index()], kind);
    }
}

#[test]
fn code_assist_goes_through_its_envelope_with_a_bearer_login() {
    let rules = CredentialKind::CodeAssist.rules();
    assert_eq!(rules.endpoint(None), Endpoint::CodeAssist);
    let login = obj(json!({"client_id": "c", "client_secret": "s", "refresh_token": "r"}));
    assert_eq!(rules.token_source(&login), TokenSource::RefreshToken);
    assert!(!rules.is_api_key(&login) && !rules.needs_location(&login));
    assert!(rules.is_account_login());
    assert!(rules.key_credential("AIzaKey").is_none());
    assert!(rules.accepts_session_id());
    assert!(!rules.refuses_safety_category("HARM_CATEGORY_IMAGE_HATE"));
    assert_eq!(
        rules.fields(&obj(json!({"client_id": "c"}))).unwrap_err(),
        "credential lacks `client_secret`"
    );
}

#[test]
fn a_gemini_api_key_calls_the_generative_language_api_with_the_key_header() {
    let rules = CredentialKind::GeminiApiKey.rules();
    assert_eq!(
        rules.endpoint(Some("ignored")),
        Endpoint::GeminiApi {
            auth: AuthHeader::ApiKey
        }
    );
    let key = obj(json!({"api_key": "AIzaKey"}));
    let f = rules.fields(&key).unwrap();
    assert_eq!(f.access_token.as_deref(), Some("AIzaKey"));
    assert_eq!(f.project_id.as_deref(), Some(""));
    assert!(f.expiry.unwrap() > chrono::Utc::now() + chrono::Duration::days(3650));
    assert_eq!(rules.token_source(&key), TokenSource::Fixed);
    assert_eq!(
        rules.fields(&obj(json!({}))).unwrap_err(),
        "credential lacks `api_key`"
    );
    assert!(rules.refuses_safety_category("HARM_CATEGORY_JAILBREAK"));
    assert!(!rules.accepts_labels() && !rules.accepts_session_id());
    let (name, json) = rules.key_credential(" AIzaKey ").unwrap();
    assert!(name.starts_with("gemini-key-") && !name.contains("AIza"));
    assert_eq!(json["api_key"], "AIzaKey");
}

#[test]
fn vertex_uses_a_bearer_token_at_a_location_and_the_key_header_in_express_mode() {
    let rules = CredentialKind::Vertex.rules();
    assert_eq!(
        rules.endpoint(Some("europe-west4")),
        Endpoint::Vertex {
            location: Some("europe-west4"),
            auth: AuthHeader::Bearer
        }
    );
    assert_eq!(
        rules.endpoint(None),
        Endpoint::Vertex {
            location: None,
            auth: AuthHeader::ApiKey
        }
    );
    let sa = service_account();
    assert!(rules.needs_location(&sa) && !rules.is_api_key(&sa));
    assert_eq!(rules.token_source(&sa), TokenSource::ServiceAccount);
    let f = rules.fields(&sa).unwrap();
    assert_eq!(
        (f.project_id.as_deref(), f.access_token.as_deref()),
        (Some("vp"), None)
    );
    let express = obj(json!({"api_key": "vk", "project_id": "p"}));
    assert!(rules.is_api_key(&express) && !rules.needs_location(&express));
    assert_eq!(rules.token_source(&express), TokenSource::Fixed);
    assert_eq!(
        rules.fields(&express).unwrap().project_id.as_deref(),
        Some("p")
    );
    assert!(rules.refuses_safety_category("HARM_CATEGORY_IMAGE_HATE"));
    assert!(!rules.refuses_safety_category("HARM_CATEGORY_JAILBREAK"));
    assert!(rules.accepts_labels() && !rules.is_account_login());
}

#[test]
fn vertex_refuses_names_that_could_leave_google() {
    let rules = CredentialKind::Vertex.rules();
    let mut no_project = service_account();
    no_project.remove("project_id");
    assert!(rules.fields(&no_project).is_err());
    let mut bad_location = service_account();
    bad_location.insert("location".into(), json!("127.0.0.1:1/steal?"));
    assert!(rules
        .fields(&bad_location)
        .unwrap_err()
        .contains("not a Google Cloud location"));
}

#[test]
fn each_kind_reads_its_own_model_list() {
    let mut settings: Settings =
        crate::config::ConfigLayers::load(None, &std::collections::HashMap::new())
            .and_then(|layers| layers.resolve())
            .unwrap();
    settings.code_assist_models = vec!["a".into()];
    settings.gemini_api_key_models = vec!["b".into()];
    settings.vertex_models = vec!["c".into()];
    let models: Vec<&[String]> = CredentialKind::ALL
        .iter()
        .map(|k| k.rules().models(&settings))
        .collect();
    assert_eq!(
        models,
        [["a".to_string()], ["b".to_string()], ["c".to_string()]]
    );
}
