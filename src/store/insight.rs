//! What Google told about one credential, beyond its errors: its quota per model (Code Assist
//! `retrieveUserQuota`), its credits (`loadCodeAssist` and the last `remainingCredits`), and the models it
//! may call (the same quota buckets, the Gemini API model list, the Vertex publisher list). Plain data:
//! fetched by the credential scout, shared across instances through the store
//! (`Store::put_insight` / `get_insight`), published to the request workers with the credential.

use serde::{Deserialize, Serialize};

/// One credential's view of Google. Every field is optional: a credential whose kind has no quota call
/// (API keys, Vertex) has no buckets, and one never fetched has nothing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialInsight {
    /// Quota per model, as Google last answered it.
    pub quota: Vec<QuotaBucket>,
    /// Unix milliseconds of the last successful quota fetch; `None`: never fetched.
    pub quota_fetched_at: Option<i64>,
    /// Why the last quota fetch failed, if it did (the snapshot above is then the previous one).
    pub quota_error: Option<String>,
    /// Credits the account can spend once its free quota is out.
    pub credits: Vec<CreditBalance>,
    /// The models the credential may call; `None` while not known (no list fetched, or an empty one).
    pub models: Option<Vec<ModelInfo>>,
    /// Unix milliseconds of the last successful model-list fetch.
    pub models_fetched_at: Option<i64>,
}

/// One `retrieveUserQuota` bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuotaBucket {
    /// Google's model id (`modelId`), e.g. `gemini-2.5-pro`.
    pub model: String,
    /// `tokenType` (`REQUESTS`, `INPUT_TOKENS`, …) when Google says.
    pub token_type: Option<String>,
    /// `remainingFraction`, 0.0 to 1.0.
    pub remaining_fraction: Option<f64>,
    /// `remainingAmount`.
    pub remaining: Option<i64>,
    /// remainingAmount / remainingFraction, when both are present and the fraction is not 0.
    pub limit: Option<i64>,
    /// `resetTime` as unix seconds.
    pub reset_time: Option<i64>,
}

impl QuotaBucket {
    /// Whether the bucket says nothing is left (known empty), as opposed to unknown or some left.
    pub fn is_empty(&self) -> bool {
        self.remaining_fraction.is_some_and(|f| f <= 0.0) || self.remaining == Some(0)
    }
}

/// Credits of one type (`GOOGLE_ONE_AI`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreditBalance {
    pub credit_type: String,
    pub amount: i64,
}

/// One model a credential may call, with what Google says of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelInfo {
    /// The bare id (`gemini-2.5-pro`), without `models/` or `publishers/google/models/`.
    pub id: String,
    pub display_name: Option<String>,
    pub input_token_limit: Option<u64>,
    pub output_token_limit: Option<u64>,
    /// `supportedGenerationMethods` (`generateContent`, `countTokens`, …); empty when unknown.
    pub methods: Vec<String>,
    /// Whether the model thinks (`thinking`), when Google says.
    pub thinking: Option<bool>,
}

impl CredentialInsight {
    /// The bucket for `model` (the first, when Google lists several token types).
    pub fn bucket(&self, model: &str) -> Option<&QuotaBucket> {
        self.quota.iter().find(|b| b.model == model)
    }
}
