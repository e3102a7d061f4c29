//! Access tokens of Vertex AI service accounts: the account's signed JWT exchanged at the token
//! endpoint by the JWT-bearer grant. The credential actor calls this where an OAuth login refreshes, so
//! minting is single-flight and runs ahead of expiry exactly like OAuth refreshes.

use super::oauth::{self, OAuthError, TokenResponse};
use crate::credentials::service_account::ServiceAccount;

/// Mints a token for `account` at `{oauth_base}/token`.
pub async fn mint(
    client: &awc::Client,
    oauth_base: &str,
    account: &ServiceAccount,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let assertion = account.assertion(now).map_err(|e| OAuthError::Permanent {
        status: 400,
        reason: e.to_string(),
    })?;
    oauth::jwt_bearer(client, oauth_base, &assertion).await
}
