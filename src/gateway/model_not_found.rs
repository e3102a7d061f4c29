//! A model no credential of the pool serves: a 404 (`model_not_found` for OpenAI clients, `NOT_FOUND`
//! for Gemini ones, `not_found_error` for Anthropic ones) naming the catalogue ids closest to what was
//! asked, so a typo or a retired id is one look away from the right name.

use crate::error::{ApiError, ErrorKind};
use crate::state::AppState;

/// How many ids the answer suggests.
const SUGGESTIONS: usize = 3;

/// The catalogue ids closest to `model`, read from the catalogue only now, on this rare path.
pub fn closest_ids(state: &AppState, model: &str) -> Vec<String> {
    let settings = state.settings.current();
    let catalogue = state
        .catalogue
        .fresh(&state.fleet, &settings, state.clock.now());
    let mut closest = catalogue.closest(model);
    closest.truncate(SUGGESTIONS);
    closest
}

/// The 404's body text.
pub fn not_found(model: &str, closest: &[String]) -> ApiError {
    let message = if closest.is_empty() {
        format!("The model `{model}` does not exist or no credential here serves it")
    } else {
        format!(
            "The model `{model}` does not exist or no credential here serves it; closest: {}",
            closest.join(", ")
        )
    };
    ApiError::new(ErrorKind::ModelNotFound, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorStyle;

    #[test]
    fn the_message_names_the_closest_ids() {
        let e = not_found("gemini-2.5-flsh", &["gemini-2.5-flash".to_string()]);
        let body = e.render(ErrorStyle::OpenAi);
        assert_eq!(body["error"]["code"], "model_not_found");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("`gemini-2.5-flsh`"), "{message}");
        assert!(message.ends_with("closest: gemini-2.5-flash"), "{message}");
        let bare = not_found("x", &[]).render(ErrorStyle::Google);
        assert_eq!(bare["error"]["status"], "NOT_FOUND");
    }
}
