//! How a credential actor regains its token: the kind says which grant (`KindRules::token_source`),
//! this runs it — the OAuth refresh-token grant, the service account's JWT-bearer grant, or nothing
//! for keys. The actor's single-flight refresh, lease and backoff logic stays one: only [`Grant::run`]
//! differs.

use serde_json::{Map, Value};

use crate::credentials::json::CredentialFields;
use crate::credentials::service_account::ServiceAccount;
use crate::credentials::{CredentialKind, TokenSource};
use crate::upstream::oauth::{self, OAuthError, TokenResponse};

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
        match kind.rules().token_source(map) {
            TokenSource::RefreshToken => Some(Self::RefreshToken {
                client_id: fields.client_id.clone(),
                client_secret: fields.client_secret.clone(),
                refresh_token: fields.refresh_token.clone(),
            }),
            TokenSource::Fixed => None,
            TokenSource::ServiceAccount => {
                ServiceAccount::parse(map).ok().map(Self::ServiceAccount)
            }
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
    fn keys_have_no_grant_and_service_accounts_mint() {
        let key = obj(json!({"api_key": "AIzaKey"}));
        let f = CredentialKind::GeminiApiKey.rules().fields(&key).unwrap();
        assert!(Grant::of(CredentialKind::GeminiApiKey, &f, &key).is_none());
        assert!(Grant::of(CredentialKind::Vertex, &f, &key).is_none());
        let sa = obj(json!({
            "type": "service_account",
            "client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": include_str!("../../../tests/fixtures/vertex_test_sa_private.pem"),
            "project_id": "vp",
        }));
        let f = CredentialKind::Vertex.rules().fields(&sa).unwrap();
        assert!(matches!(
            Grant::of(CredentialKind::Vertex, &f, &sa),
            Some(Grant::ServiceAccount(_))
        ));
        let login = obj(json!({"client_id": "c", "client_secret": "s", "refresh_token": "r"}));
        let f = CredentialKind::CodeAssist.rules().fields(&login).unwrap();
        assert!(matches!(
            Grant::of(CredentialKind::CodeAssist, &f, &login),
            Some(Grant::RefreshToken { .. })
        ));
    }
}
