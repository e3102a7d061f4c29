//! The built-in model list: what the gateway offers while no credential has told it what it may call
//! (nothing fetched yet, a kind without a model list, or `MODEL_REFRESH_SECONDS=0`). Current as of
//! December 2026, as the official Gemini CLI lists them; kept short on purpose — the live catalogue
//! adds whatever Google ships next, and `BASE_MODELS` adds what an operator wants listed anyway.

/// One model of the fallback list, with what Google documents of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FallbackModel {
    pub id: &'static str,
    pub input_token_limit: u64,
    pub output_token_limit: u64,
}

const fn model(id: &'static str) -> FallbackModel {
    // Every Gemini model of this list takes a 1M-token prompt and writes up to 64K tokens.
    FallbackModel {
        id,
        input_token_limit: 1_048_576,
        output_token_limit: 65_536,
    }
}

/// In the order the model lists show them.
pub const FALLBACK_MODELS: &[FallbackModel] = &[
    model("gemini-2.5-pro"),
    model("gemini-2.5-flash"),
    model("gemini-2.5-flash-lite"),
    model("gemini-3-pro-preview"),
    model("gemini-3-flash-preview"),
    model("gemini-3.1-pro-preview"),
    model("gemini-3.5-flash"),
    model("gemini-3.1-flash-lite"),
];

/// The fallback entry of `id`, if it has one.
pub fn fallback_model(id: &str) -> Option<&'static FallbackModel> {
    FALLBACK_MODELS.iter().find(|m| m.id == id)
}

/// Where `id` stands in the fallback list (models outside it sort after).
pub fn fallback_rank(id: &str) -> usize {
    FALLBACK_MODELS
        .iter()
        .position(|m| m.id == id)
        .unwrap_or(FALLBACK_MODELS.len())
}
