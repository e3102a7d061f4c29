//! An OAuth login calling the Code Assist API (`v1internal:*`), as the Gemini CLI does: the refresh
//! token buys an access token; the project may be discovered; the account reports its quota and may
//! spend Google One AI credits.

use serde_json::{Map, Value};

use super::{Endpoint, KindRules, TokenSource};
use crate::config::Settings;
use crate::credentials::json::CredentialFields;

pub struct CodeAssist;

impl KindRules for CodeAssist {
    fn name(&self) -> &'static str {
        "code_assist"
    }

    fn models<'a>(&self, settings: &'a Settings) -> &'a [String] {
        &settings.code_assist_models
    }

    fn is_api_key(&self, _credential: &Map<String, Value>) -> bool {
        false
    }

    fn fields(&self, credential: &Map<String, Value>) -> Result<CredentialFields, String> {
        CredentialFields::parse(credential).map_err(|e| e.to_string())
    }

    fn token_source(&self, _credential: &Map<String, Value>) -> TokenSource {
        TokenSource::RefreshToken
    }

    fn endpoint<'a>(&self, _location: Option<&'a str>) -> Endpoint<'a> {
        Endpoint::CodeAssist
    }

    /// Code Assist takes every category, the image ones included.
    fn refuses_safety_category(&self, _category: &str) -> bool {
        false
    }

    fn accepts_session_id(&self) -> bool {
        true
    }

    fn is_account_login(&self) -> bool {
        true
    }
}
