//! What a credential actor needs to know about its kind: how to read the credential JSON into the
//! token view the actor keeps (token, expiry, project), whether the token is ever refreshed, and how.
//!
//! - `code_assist`: OAuth JSON; the refresh token buys an access token; the project may be discovered.
//! - `gemini_api_key`: `{"api_key": …}`; the key itself is the token and never expires.
//! - `vertex`: a service-account key file (`type: service_account`) whose token is minted by the
//!   JWT-bearer grant and renewed ahead of expiry like an OAuth token; or express mode,
//!   `{"api_key": …}`, a key that never expires. `location` (optional) picks the region.
//!
//! The actor's single-flight refresh, lease and backoff logic stays one: only [`Grant::run`] differs.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::credential::{parse_expiry, CredentialFields};
use crate::store::CredentialKind;
use crate::upstream::google_names;
use crate::upstream::oauth::{self, OAuthError, TokenResponse};
use crate::upstream::vertex_token::ServiceAccount;

/// A key's "expiry": far enough never to be due, near enough for timestamp arithmetic.
fn never() -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i64::from(i32::MAX) * 2, 0)
}

/// A trimmed, non-empty string field of a credential JSON.
pub(super) fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Whether a Vertex credential is an express-mode key rather than a service account.
pub fn is_api_key(kind: CredentialKind, map: &Map<String, Value>) -> bool {
    match kind {
        CredentialKind::CodeAssist => false,
        CredentialKind::GeminiApiKey => true,
        CredentialKind::Vertex => text(map, "api_key").is_some(),
    }
}

/// The token view of a credential JSON of `kind`; an error names what is missing.
pub fn fields_of(
    kind: CredentialKind,
    map: &Map<String, Value>,
) -> Result<CredentialFields, String> {
    let key_fields = |key: String, project: Option<String>| CredentialFields {
        client_id: String::new(),
        client_secret: String::new(),
        refresh_token: String::new(),
        access_token: Some(key),
        expiry: never(),
        // A key bills no Code Assist project; the empty project marks it ready.
        project_id: Some(project.unwrap_or_default()),
    };
    match kind {
        CredentialKind::CodeAssist => CredentialFields::parse(map).map_err(|e| e.to_string()),
        CredentialKind::GeminiApiKey => text(map, "api_key")
            .map(|key| key_fields(key, None))
            .ok_or_else(|| "credential lacks `api_key`".to_string()),
        CredentialKind::Vertex if is_api_key(kind, map) => Ok(key_fields(
            text(map, "api_key").unwrap_or_default(),
            text(map, "project_id"),
        )),
        CredentialKind::Vertex => {
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
    }
}

/// How a token is (re)gained.
pub enum Grant {
    RefreshToken {
        client_id: String,
        client_secret: String,
        refresh_token: String,
    },
    ServiceAccount(ServiceAccount),
}

impl Grant {
    /// The grant of a credential; `None` for keys, which have nothing to refresh.
    pub fn of(
        kind: CredentialKind,
        fields: &CredentialFields,
        map: &Map<String, Value>,
    ) -> Option<Self> {
        match kind {
            CredentialKind::CodeAssist => Some(Self::RefreshToken {
                client_id: fields.client_id.clone(),
                client_secret: fields.client_secret.clone(),
                refresh_token: fields.refresh_token.clone(),
            }),
            _ if is_api_key(kind, map) => None,
            _ => ServiceAccount::parse(map).ok().map(Self::ServiceAccount),
        }
    }

    pub async fn run(
        self,
        client: &awc::Client,
        oauth_base: &str,
        now: i64,
    ) -> Result<TokenResponse, OAuthError> {
        match self {
            Self::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => {
                oauth::refresh_access_token(
                    client,
                    oauth_base,
                    &client_id,
                    &client_secret,
                    &refresh_token,
                )
                .await
            }
            Self::ServiceAccount(account) => {
                crate::upstream::vertex_token::mint(client, oauth_base, &account, now).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn keys_are_ready_tokens_that_never_refresh() {
        let key = obj(json!({"api_key": "AIzaKey"}));
        let f = fields_of(CredentialKind::GeminiApiKey, &key).unwrap();
        assert_eq!(f.access_token.as_deref(), Some("AIzaKey"));
        assert_eq!(f.project_id.as_deref(), Some(""));
        assert!(f.expiry.unwrap() > Utc::now() + chrono::Duration::days(3650));
        assert!(Grant::of(CredentialKind::GeminiApiKey, &f, &key).is_none());
        assert!(Grant::of(CredentialKind::Vertex, &f, &key).is_none());
        assert_eq!(
            fields_of(CredentialKind::GeminiApiKey, &obj(json!({}))).unwrap_err(),
            "credential lacks `api_key`"
        );
    }

    #[test]
    fn service_accounts_need_a_project_and_a_key() {
        let sa = obj(json!({
            "type": "service_account",
            "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": include_str!("../../../tests/fixtures/vertex_test_sa_private.pem"),
            "project_id": "vp",
            "location": "europe-west4",
        }));
        let f = fields_of(CredentialKind::Vertex, &sa).unwrap();
        assert_eq!(
            (f.project_id.as_deref(), f.access_token.as_deref()),
            (Some("vp"), None)
        );
        assert!(matches!(
            Grant::of(CredentialKind::Vertex, &f, &sa),
            Some(Grant::ServiceAccount(_))
        ));
        let mut no_project = sa.clone();
        no_project.remove("project_id");
        assert!(fields_of(CredentialKind::Vertex, &no_project).is_err());
    }
}
