//! The `model` label of the metric families. Labels live as long as the process and every distinct
//! value is a new series, so only models the gateway knows — the catalogue (live lists and
//! `BASE_MODELS`) or the built-in list — label a series; any other name a client sends counts as
//! `other`.

use crate::fleet::catalogue::{Catalogue, FALLBACK_MODELS};

/// The label of every model outside the catalogue and the built-in list.
pub const OTHER: &str = "other";

/// `model` itself when it is a known model (or empty: no model), else [`OTHER`].
pub fn model_label<'a>(model: &'a str, catalogue: &Catalogue) -> &'a str {
    if model.is_empty()
        || catalogue.get(model).is_some()
        || FALLBACK_MODELS.iter().any(|m| m.id == model)
    {
        model
    } else {
        OTHER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_share_one_label() {
        let empty = Catalogue::default();
        assert_eq!(model_label("gemini-2.5-pro", &empty), "gemini-2.5-pro");
        assert_eq!(model_label("", &empty), "");
        assert_eq!(model_label("made-up-model-123", &empty), OTHER);
    }
}
