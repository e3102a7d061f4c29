//! What differs between the kinds of credential, behind one trait: each kind's module answers where
//! its calls go and how they authenticate, which request fields its API refuses, how its credential
//! JSON reads into a token view and how that token is regained, which models it serves, and which
//! account features (project discovery, quota, credits, model lists) it has. Everything else —
//! rotation, cooldowns, usage, leases — is shared and never asks which kind it holds.
//!
//! Adding a kind: a variant in [`super::CredentialKind`], a module here implementing [`KindRules`],
//! and its arm in [`super::CredentialKind::rules`] — the one place that matches on the kind.

mod code_assist;
mod gemini_api_key;
mod vertex;

use serde_json::{Map, Value};

use super::json::CredentialFields;
use crate::config::Settings;

pub use code_assist::CodeAssist;
pub use gemini_api_key::GeminiApiKey;
pub use vertex::Vertex;

/// Which header carries a bare call's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthHeader {
    /// `x-goog-api-key: {key}`: the token is an API key.
    ApiKey,
    /// `Authorization: Bearer {token}`: an OAuth or service-account access token.
    Bearer,
}

/// Where a kind's calls go, and in which envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    /// Code Assist (`v1internal:*`): its client builds the URL and wraps the request in its
    /// envelope; the token is an OAuth bearer token.
    CodeAssist,
    /// The Generative Language API (`v1beta/models/*`), bare request and answer.
    GeminiApi { auth: AuthHeader },
    /// Vertex AI, bare request and answer: at a project's `location` for a service account, at the
    /// global express-mode host for a key (`location` `None`).
    Vertex {
        location: Option<&'a str>,
        auth: AuthHeader,
    },
}

/// How a credential's token is (re)gained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// The token is an API key: nothing to refresh.
    Fixed,
    /// The OAuth refresh-token grant.
    RefreshToken,
    /// The JWT-bearer grant of a service account.
    ServiceAccount,
}

/// One kind of credential. Implementations are unit structs; [`super::CredentialKind::rules`] picks
/// one.
pub trait KindRules: Sync {
    /// The kind's name in settings, stored records and the panel.
    fn name(&self) -> &'static str;

    /// The setting listing the models this kind serves (`*` wildcards allowed).
    fn models<'a>(&self, settings: &'a Settings) -> &'a [String];

    /// Whether the credential JSON is an API key (never refreshed) rather than a login or account.
    fn is_api_key(&self, credential: &Map<String, Value>) -> bool;

    /// The token view of a credential JSON of this kind; an error names what is missing or wrong.
    /// Uploads, the panel's forms and environment variables are all checked with this.
    fn fields(&self, credential: &Map<String, Value>) -> Result<CredentialFields, String>;

    /// How the token of `credential` is regained.
    fn token_source(&self, credential: &Map<String, Value>) -> TokenSource;

    /// Whether calls need a Cloud location (a Vertex service account).
    fn needs_location(&self, credential: &Map<String, Value>) -> bool {
        let _ = credential;
        false
    }

    /// Where a call goes; `location` is the resolved location of a credential that needs one.
    fn endpoint<'a>(&self, location: Option<&'a str>) -> Endpoint<'a>;

    /// Whether this API answers 400 to a request naming the safety `category`.
    fn refuses_safety_category(&self, category: &str) -> bool;

    /// Whether this API accepts the Vertex `labels` field.
    fn accepts_labels(&self) -> bool {
        true
    }

    /// Whether this API accepts Code Assist's `session_id` field.
    fn accepts_session_id(&self) -> bool {
        false
    }

    /// An OAuth login of a Google account: it discovers its project, has an account e-mail, reports
    /// its quota and may spend Google One AI credits. Every other kind names its project (or needs
    /// none) and lists its models instead.
    fn is_account_login(&self) -> bool {
        false
    }

    /// The name and credential JSON of a key of this kind pasted in the panel or the environment;
    /// `None` when this kind is not a key.
    fn key_credential(&self, key: &str) -> Option<(String, Map<String, Value>)> {
        let _ = key;
        None
    }
}

/// The trimmed, non-empty string field `key` of a credential JSON.
pub fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A key's "expiry": far enough never to be due, near enough for timestamp arithmetic.
fn never() -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(i64::from(i32::MAX) * 2, 0)
}

/// The token view of an API key: ready at once, never expiring.
fn key_fields(key: String, project: Option<String>) -> CredentialFields {
    CredentialFields {
        client_id: String::new(),
        client_secret: String::new(),
        refresh_token: String::new(),
        access_token: Some(key),
        expiry: never(),
        // A key bills no Code Assist project; the empty project marks it ready.
        project_id: Some(project.unwrap_or_default()),
    }
}

/// A stable, non-reversible name part for a key.
pub fn key_digest(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// The credential JSON of a key: `{"api_key": …}`.
pub fn api_key_json(key: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("api_key".into(), Value::String(key.trim().to_string()));
    map
}

#[cfg(test)]
mod tests;
