//! Which Google API a credential calls. Plain data; what each kind does differently lives in its own
//! module (`code_assist`, `gemini_api_key`, `vertex`) behind [`super::KindRules`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::kinds::{self, KindRules};

/// The kinds of Google credential one pool can hold. Each knows its own envelope, URL, auth, token and
/// models ([`Self::rules`]); everything else (rotation, cooldowns, usage) is shared.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// An OAuth login calling the Code Assist API (`v1internal:*`), as the Gemini CLI does.
    #[default]
    CodeAssist,
    /// An AI Studio key calling the Generative Language API (`v1beta/models/*`).
    GeminiApiKey,
    /// A Vertex AI service account (JWT-bearer token) or an express-mode API key.
    Vertex,
}

impl CredentialKind {
    pub const ALL: [CredentialKind; 3] = [Self::CodeAssist, Self::GeminiApiKey, Self::Vertex];

    /// What this kind does differently from the others. The one `match` on the kind: everything
    /// else asks its rules.
    pub fn rules(self) -> &'static dyn KindRules {
        match self {
            Self::CodeAssist => &kinds::CodeAssist,
            Self::GeminiApiKey => &kinds::GeminiApiKey,
            Self::Vertex => &kinds::Vertex,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.rules().name()
    }

    /// The kind's place in [`Self::ALL`], for per-kind tables.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The kind of a bare credential JSON (a file dropped in the credentials folder, an upload): a
    /// service-account key is Vertex, anything else an OAuth login.
    pub fn detect(credential: &Map<String, Value>) -> Self {
        match credential.get("type").and_then(Value::as_str) {
            Some("service_account") => Self::Vertex,
            _ => Self::CodeAssist,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text.trim().to_ascii_lowercase())
    }
}

impl std::fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
