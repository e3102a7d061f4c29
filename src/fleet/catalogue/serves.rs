//! Whether one credential serves a model by what Google listed for it: the routing condition the choice
//! adds to its others (enabled, not resting, the kind's `*_MODELS`).

use crate::config::Settings;
use crate::credentials::CredentialKind;
use crate::store::CredentialInsight;
use crate::upstream::model_alias::sent_model;

/// A credential serves `model` when its list names it (or names the id its kind's `MODEL_ALIASES`
/// entry sends for it), while it has no list at all (never fetched, or Google's list was empty), when
/// `BASE_MODELS` names the model, and always while the live catalogue is off
/// (`MODEL_REFRESH_SECONDS=0`).
pub fn lists(
    kind: CredentialKind,
    insight: Option<&CredentialInsight>,
    model: &str,
    settings: &Settings,
) -> bool {
    if settings.model_refresh_seconds == 0 {
        return true;
    }
    let Some(models) = insight.and_then(|i| i.models.as_deref()) else {
        return true;
    };
    if models.is_empty() || settings.base_models.iter().any(|b| b == model) {
        return true;
    }
    if models.iter().any(|m| m.id == model) {
        return true;
    }
    // Read for every candidate of a choice: the aliases are only looked at when the name is not listed.
    let sent = sent_model(&settings.model_aliases, kind, model);
    sent != model && models.iter().any(|m| m.id == sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ModelInfo;

    fn settings() -> Settings {
        crate::config::ConfigLayers::load(None, &std::collections::HashMap::new())
            .and_then(|layers| layers.resolve())
            .unwrap()
    }

    fn listing(ids: &[&str]) -> CredentialInsight {
        CredentialInsight {
            models: Some(
                ids.iter()
                    .map(|id| ModelInfo {
                        id: id.to_string(),
                        ..ModelInfo::default()
                    })
                    .collect(),
            ),
            ..CredentialInsight::default()
        }
    }

    #[test]
    fn a_listed_credential_serves_only_what_it_lists() {
        let s = settings();
        let kind = CredentialKind::GeminiApiKey;
        let insight = listing(&["gemini-9-flash"]);
        assert!(lists(kind, Some(&insight), "gemini-9-flash", &s));
        assert!(!lists(kind, Some(&insight), "gemini-2.5-pro", &s));
    }

    #[test]
    fn no_list_serves_everything() {
        let s = settings();
        let kind = CredentialKind::CodeAssist;
        assert!(lists(kind, None, "anything", &s));
        assert!(lists(kind, Some(&CredentialInsight::default()), "x", &s));
        assert!(lists(kind, Some(&listing(&[])), "x", &s));
    }

    #[test]
    fn base_models_and_refresh_off_open_every_credential() {
        let mut s = settings();
        let insight = listing(&["gemini-9-flash"]);
        let kind = CredentialKind::Vertex;
        s.base_models = vec!["gemini-2.5-pro".into()];
        assert!(lists(kind, Some(&insight), "gemini-2.5-pro", &s));
        assert!(!lists(kind, Some(&insight), "gemini-2.5-flash", &s));
        s.model_refresh_seconds = 0;
        assert!(lists(kind, Some(&insight), "gemini-2.5-flash", &s));
    }

    #[test]
    fn an_alias_target_in_the_list_serves_the_asked_name() {
        let s = settings();
        let insight = listing(&["gemini-3-flash"]);
        assert!(lists(
            CredentialKind::CodeAssist,
            Some(&insight),
            "gemini-3.5-flash",
            &s
        ));
        assert!(!lists(
            CredentialKind::GeminiApiKey,
            Some(&insight),
            "gemini-3.5-flash",
            &s
        ));
    }
}
