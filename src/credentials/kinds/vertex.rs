//! Vertex AI: a service-account key file (`type: service_account`) whose token is minted by the
//! JWT-bearer grant and renewed ahead of expiry like an OAuth token, calling its project at a
//! location (its own `location`, else the configured one); or express mode, `{"api_key": …}`, a key
//! that never expires, calling the global host.

use serde_json::{Map, Value};

use super::{
    api_key_json, key_digest, key_fields, text, AuthHeader, Endpoint, KindRules, TokenSource,
};
use crate::config::Settings;
use crate::credentials::google_names;
use crate::credentials::json::{parse_expiry, CredentialFields};
use crate::credentials::service_account::ServiceAccount;

pub struct Vertex;

/// Safety categories Vertex refuses: the image ones, which only Code Assist takes.
const REFUSED: &[&str] = &[
    "HARM_CATEGORY_IMAGE_HATE",
    "HARM_CATEGORY_IMAGE_DANGEROUS_CONTENT",
    "HARM_CATEGORY_IMAGE_HARASSMENT",
    "HARM_CATEGORY_IMAGE_SEXUALLY_EXPLICIT",
];

impl KindRules for Vertex {
    fn name(&self) -> &'static str {
        "vertex"
    }

    fn models<'a>(&self, settings: &'a Settings) -> &'a [String] {
        &settings.vertex_models
    }

    fn is_api_key(&self, credential: &Map<String, Value>) -> bool {
        text(credential, "api_key").is_some()
    }

    fn fields(&self, map: &Map<String, Value>) -> Result<CredentialFields, String> {
        if let Some(key) = text(map, "api_key") {
            return Ok(key_fields(key, text(map, "project_id")));
        }
        ServiceAccount::parse(map).map_err(|e| e.to_string())?;
        let project = text(map, "project_id")
            .ok_or_else(|| "service account JSON lacks `project_id`".to_string())?;
        // Both go into the upstream URL (the location into its host name): only Google's formats.
        if !google_names::is_project_id(&project) {
            return Err("service account `project_id` is not a Google Cloud project id".into());
        }
        if text(map, "location").is_some_and(|l| !google_names::is_location(&l)) {
            return Err(
                "service account `location` is not a Google Cloud location (like us-central1)"
                    .into(),
            );
        }
        Ok(CredentialFields {
            client_id: String::new(),
            client_secret: String::new(),
            refresh_token: String::new(),
            access_token: text(map, "token").or_else(|| text(map, "access_token")),
            expiry: text(map, "expiry").as_deref().and_then(parse_expiry),
            project_id: Some(project),
        })
    }

    fn token_source(&self, credential: &Map<String, Value>) -> TokenSource {
        if self.is_api_key(credential) {
            TokenSource::Fixed
        } else {
            TokenSource::ServiceAccount
        }
    }

    fn needs_location(&self, credential: &Map<String, Value>) -> bool {
        !self.is_api_key(credential)
    }

    fn endpoint<'a>(&self, location: Option<&'a str>) -> Endpoint<'a> {
        let auth = match location {
            Some(_) => AuthHeader::Bearer,
            None => AuthHeader::ApiKey,
        };
        Endpoint::Vertex { location, auth }
    }

    fn refuses_safety_category(&self, category: &str) -> bool {
        REFUSED.contains(&category)
    }

    fn key_credential(&self, key: &str) -> Option<(String, Map<String, Value>)> {
        Some((
            format!("vertex-express-{}.json", key_digest(key)),
            api_key_json(key),
        ))
    }
}
