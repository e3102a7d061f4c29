use std::collections::HashMap;
use std::sync::Arc;

use super::build::{build, Member};
use super::*;
use crate::store::{CredentialInsight, ModelInfo, QuotaBucket};

fn settings() -> Settings {
    crate::config::ConfigLayers::load(None, &HashMap::new())
        .and_then(|layers| layers.resolve())
        .unwrap()
}

fn info(id: &str, output: Option<u64>) -> ModelInfo {
    ModelInfo {
        id: id.to_string(),
        output_token_limit: output,
        input_token_limit: output.map(|o| o * 16),
        methods: vec!["generateContent".into()],
        thinking: Some(true),
        ..ModelInfo::default()
    }
}

fn member(name: &str, kind: CredentialKind, models: Option<Vec<ModelInfo>>) -> Member {
    Member {
        name: Arc::from(name),
        kind,
        insight: Some(Arc::new(CredentialInsight {
            models,
            ..CredentialInsight::default()
        })),
    }
}

fn ids(models: &[CatalogueModel]) -> Vec<&str> {
    models.iter().map(|m| m.id.as_str()).collect()
}

#[test]
fn an_empty_fleet_lists_the_fallback() {
    let (models, open) = build(&[], &settings(), 100, &mut HashMap::new());
    assert!(open);
    let fallback: Vec<&str> = FALLBACK_MODELS.iter().map(|m| m.id).collect();
    assert_eq!(ids(&models), fallback);
    assert!(models.iter().all(|m| m.source == Source::Fallback));
    assert_eq!(models[0].output_token_limit, Some(65_536));
}

#[test]
fn live_lists_replace_the_fallback_and_keep_names_limits_and_kinds() {
    let s = settings();
    let fleet = [
        member(
            "key-1",
            CredentialKind::GeminiApiKey,
            Some(vec![
                info("gemini-9-flash", Some(8192)),
                info("gemini-2.5-pro", None),
            ]),
        ),
        member(
            "key-2",
            CredentialKind::GeminiApiKey,
            Some(vec![info("gemini-9-flash", Some(16384))]),
        ),
    ];
    let (models, open) = build(&fleet, &s, 100, &mut HashMap::new());
    assert!(!open);
    assert_eq!(ids(&models), vec!["gemini-2.5-pro", "gemini-9-flash"]);
    let nine = &models[1];
    assert_eq!(nine.source, Source::Live);
    assert_eq!(nine.credential_count, 2);
    assert_eq!(
        nine.credentials,
        vec![Arc::<str>::from("key-1"), Arc::from("key-2")]
    );
    assert_eq!(nine.kinds, vec![CredentialKind::GeminiApiKey]);
    assert_eq!(nine.output_token_limit, Some(16384));
    assert_eq!(nine.thinking, Some(true));
    // A live model without limits of its own takes the fallback's.
    assert_eq!(models[0].output_token_limit, Some(65_536));
}

#[test]
fn a_credential_without_a_list_brings_the_fallback_and_serves_everything() {
    let s = settings();
    let fleet = [
        member(
            "key-1",
            CredentialKind::GeminiApiKey,
            Some(vec![info("gemini-9-flash", None)]),
        ),
        member("oauth-1", CredentialKind::CodeAssist, None),
    ];
    let (models, open) = build(&fleet, &s, 100, &mut HashMap::new());
    assert!(open);
    assert_eq!(models.len(), FALLBACK_MODELS.len() + 1);
    let nine = models.iter().find(|m| m.id == "gemini-9-flash").unwrap();
    assert_eq!(nine.credential_count, 2);
    assert_eq!(
        nine.kinds,
        vec![CredentialKind::CodeAssist, CredentialKind::GeminiApiKey]
    );
    let pro = models.iter().find(|m| m.id == "gemini-2.5-pro").unwrap();
    assert_eq!(pro.credentials, vec![Arc::<str>::from("oauth-1")]);
}

#[test]
fn base_models_add_and_refresh_off_ignores_the_lists() {
    let mut s = settings();
    s.base_models = vec!["my-model".into(), "gemini-2.5-pro".into()];
    let fleet = [member(
        "key-1",
        CredentialKind::GeminiApiKey,
        Some(vec![info("gemini-9-flash", None)]),
    )];
    let (models, _) = build(&fleet, &s, 100, &mut HashMap::new());
    assert_eq!(
        ids(&models),
        vec!["gemini-2.5-pro", "gemini-9-flash", "my-model"]
    );
    // `my-model` is outside `GEMINI_API_KEY_MODELS` (gemini-*): no key serves it.
    assert_eq!(models[2].source, Source::BaseModels);
    assert_eq!(models[2].credential_count, 0);
    assert_eq!(models[0].source, Source::BaseModels);
    assert_eq!(models[0].credential_count, 1);

    s.model_refresh_seconds = 0;
    let (models, open) = build(&fleet, &s, 100, &mut HashMap::new());
    assert!(open);
    assert!(!ids(&models).contains(&"gemini-9-flash"));
    assert_eq!(ids(&models).last(), Some(&"my-model"));
}

#[test]
fn aliases_list_the_asked_name_and_quota_is_summed() {
    let s = settings();
    let mut insight = CredentialInsight {
        models: Some(vec![info("gemini-3-flash", None)]),
        ..CredentialInsight::default()
    };
    insight.quota = vec![QuotaBucket {
        model: "gemini-3-flash".into(),
        remaining_fraction: Some(0.25),
        reset_time: Some(500),
        ..QuotaBucket::default()
    }];
    let fleet = [Member {
        name: Arc::from("oauth-1"),
        kind: CredentialKind::CodeAssist,
        insight: Some(Arc::new(insight)),
    }];
    let (models, _) = build(&fleet, &s, 100, &mut HashMap::new());
    assert_eq!(ids(&models), vec!["gemini-3.5-flash"]);
    let quota = &models[0].quota;
    assert_eq!((quota.known, quota.with_quota), (1, 1));
    assert_eq!(quota.mean_remaining_fraction, Some(0.25));
    assert_eq!(quota.next_reset, Some(500));
}

#[test]
fn models_that_cannot_generate_are_left_out() {
    let mut embedding = info("gemini-embedding-001", None);
    embedding.methods = vec!["embedContent".into()];
    let mut unknown = info("gemini-9-flash", None);
    unknown.methods.clear();
    let fleet = [member(
        "key-1",
        CredentialKind::GeminiApiKey,
        Some(vec![embedding, unknown]),
    )];
    let (models, _) = build(&fleet, &settings(), 100, &mut HashMap::new());
    assert_eq!(ids(&models), vec!["gemini-9-flash"]);
}

#[test]
fn first_seen_survives_rebuilds() {
    let s = settings();
    let mut first_seen = HashMap::new();
    build(&[], &s, 100, &mut first_seen);
    let fleet = [member(
        "key-1",
        CredentialKind::GeminiApiKey,
        Some(vec![
            info("gemini-2.5-pro", None),
            info("gemini-9-flash", None),
        ]),
    )];
    let (models, _) = build(&fleet, &s, 200, &mut first_seen);
    assert_eq!(models[0].first_seen, 100);
    assert_eq!(models[1].first_seen, 200);
}

#[test]
fn many_credentials_keep_fifty_names_and_the_count() {
    let s = settings();
    let fleet: Vec<Member> = (0..120)
        .map(|i| {
            member(
                &format!("key-{i}"),
                CredentialKind::GeminiApiKey,
                Some(vec![info("gemini-9-flash", None)]),
            )
        })
        .collect();
    let (models, _) = build(&fleet, &s, 100, &mut HashMap::new());
    assert_eq!(models[0].credentials.len(), MAX_NAMES);
    assert_eq!(models[0].credential_count, 120);
}

#[test]
fn the_view_learns_thinking_levels_per_model() {
    use thinking_levels::ThinkingLevel::{Low, Minimal};
    let view = CatalogueView::default();
    assert_eq!(view.thinking_substitute("m", Minimal), None);
    let refusal = Refusal {
        refused: Minimal,
        supported: vec![Low],
    };
    view.learn_thinking("m", &refusal, Low);
    assert_eq!(view.thinking_substitute("m", Minimal), Some(Low));
    assert_eq!(view.thinking_substitute("other", Minimal), None);
}

#[test]
fn the_catalogue_answers_limits_and_closest_ids() {
    let (models, open) = build(&[], &settings(), 100, &mut HashMap::new());
    let catalogue = Catalogue::new(models, open);
    assert_eq!(catalogue.output_limit("gemini-2.5-flash"), Some(65_536));
    assert_eq!(catalogue.output_limit("nope"), None);
    assert_eq!(catalogue.closest("gemini-2.5-flsh")[0], "gemini-2.5-flash");
    assert!(catalogue.may_serve("anything"));
}

#[test]
fn a_hundred_thousand_credentials_build_in_one_walk() {
    let s = settings();
    let shared: Vec<ModelInfo> = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-9-flash"]
        .iter()
        .map(|id| info(id, Some(65_536)))
        .collect();
    let insight = Arc::new(CredentialInsight {
        models: Some(shared),
        ..CredentialInsight::default()
    });
    let fleet: Vec<Member> = (0..100_000)
        .map(|i| Member {
            name: Arc::from(format!("key-{i}")),
            kind: CredentialKind::GeminiApiKey,
            insight: Some(insight.clone()),
        })
        .collect();
    let started = std::time::Instant::now();
    let (models, _) = build(&fleet, &s, 100, &mut HashMap::new());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(models.len(), 3);
    assert!(models.iter().all(|m| m.credential_count == 100_000));
    assert!(models.iter().all(|m| m.credentials.len() == MAX_NAMES));
}
