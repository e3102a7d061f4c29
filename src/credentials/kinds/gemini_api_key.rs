//! An AI Studio key calling the Generative Language API (`v1beta/models/*`): `{"api_key": …}`; the
//! key itself is the token and never expires.

use serde_json::{Map, Value};

use super::{
    api_key_json, key_digest, key_fields, text, AuthHeader, Endpoint, KindRules, TokenSource,
};
use crate::config::Settings;
use crate::credentials::json::CredentialFields;

pub struct GeminiApiKey;

/// Safety categories the Generative Language API refuses (only Code Assist takes the image ones;
/// Vertex takes the jailbreak one).
const REFUSED: &[&str] = &[
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_JAILBREAK",
];

impl KindRules for GeminiApiKey {
    fn name(&self) -> &'static str {
        "gemini_api_key"
    }

    fn models<'a>(&self, settings: &'a Settings) -> &'a [String] {
        &settings.gemini_api_key_models
    }

    fn is_api_key(&self, _credential: &Map<String, Value>) -> bool {
        true
    }

    fn fields(&self, credential: &Map<String, Value>) -> Result<CredentialFields, String> {
        text(credential, "api_key")
            .map(|key| key_fields(key, None))
            .ok_or_else(|| "credential lacks `api_key`".to_string())
    }

    fn token_source(&self, _credential: &Map<String, Value>) -> TokenSource {
        TokenSource::Fixed
    }

    fn endpoint<'a>(&self, _location: Option<&'a str>) -> Endpoint<'a> {
        Endpoint::GeminiApi {
            auth: AuthHeader::ApiKey,
        }
    }

    fn refuses_safety_category(&self, category: &str) -> bool {
        REFUSED.contains(&category)
    }

    /// `labels` is Vertex-only: the Generative Language API answers 400 to it.
    fn accepts_labels(&self) -> bool {
        false
    }

    fn key_credential(&self, key: &str) -> Option<(String, Map<String, Value>)> {
        Some((
            format!("gemini-key-{}.json", key_digest(key)),
            api_key_json(key),
        ))
    }
}
