//! Claude model names → Gemini model names, through the configurable `ANTHROPIC_MODEL_MAP`.
//!
//! Clients such as Claude Code only know Claude names (`claude-opus-4-8[1m]`, a haiku model for
//! titles). Each map entry is `<substring>=<gemini model>`; the first entry whose substring occurs
//! in the requested name wins (an entry equal to the whole name wins over substrings). Gemini names
//! pass unchanged, so every feature of the model-name catalogue (prefixes, suffixes) still works,
//! and a streaming-mode prefix in front of a Claude name is kept.

use crate::convert::gemini::model_name::{ANTI_TRUNCATION_PREFIX, FAKE_STREAM_PREFIX};

/// `ANTHROPIC_MODEL_MAP` when the configuration names none: opus and sonnet → the Pro model,
/// haiku → the Flash model.
pub fn default_model_map() -> Vec<String> {
    vec![
        "opus=gemini-2.5-pro".to_owned(),
        "sonnet=gemini-2.5-pro".to_owned(),
        "haiku=gemini-2.5-flash".to_owned(),
    ]
}

/// The `<name>=<model>` entries of a model-map setting as (lower-case name, model) in configuration
/// order. Entries without `=` or with an empty side are ignored: the config loader reports nothing
/// for them, so they are logged here at debug level, naming `setting`.
pub fn model_pairs(entries: &[String], setting: &str) -> Vec<(String, String)> {
    entries
        .iter()
        .filter_map(|entry| {
            let parsed = entry.split_once('=').and_then(|(from, to)| {
                let (from, to) = (from.trim(), to.trim());
                (!from.is_empty() && !to.is_empty())
                    .then(|| (from.to_ascii_lowercase(), to.to_owned()))
            });
            if parsed.is_none() {
                log::debug!("{setting} entry {entry:?} is not <name>=<model>; ignored");
            }
            parsed
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMap {
    /// (lower-case substring, target model) in configuration order.
    entries: Vec<(String, String)>,
}

impl ModelMap {
    /// The entries as [`model_pairs`] reads them.
    pub fn parse(entries: &[String]) -> Self {
        Self {
            entries: model_pairs(entries, "ANTHROPIC_MODEL_MAP"),
        }
    }

    /// The model name to parse as a Gemini model name: context tags (`[1m]`) removed, Claude names
    /// mapped, the streaming prefix kept.
    pub fn resolve(&self, requested: &str) -> String {
        let trimmed = requested.trim();
        let (prefix, rest) = [FAKE_STREAM_PREFIX, ANTI_TRUNCATION_PREFIX]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p).map(|rest| (*p, rest)))
            .unwrap_or(("", trimmed));
        let name = strip_context_tags(rest);
        let lower = name.to_ascii_lowercase();
        let exact = self.entries.iter().find(|(from, _)| *from == lower);
        let gemini_name = lower.starts_with("gemini") || lower.starts_with("models/");
        let by_substring = || {
            self.entries
                .iter()
                .find(|(from, _)| !gemini_name && lower.contains(from.as_str()))
        };
        match exact.or_else(by_substring) {
            Some((_, target)) => format!("{prefix}{target}"),
            None => format!("{prefix}{name}"),
        }
    }
}

/// `claude-opus-4-8[1m]` → `claude-opus-4-8`: bracketed tags select a context size on Anthropic's
/// side and mean nothing to Gemini.
fn strip_context_tags(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_map() -> ModelMap {
        ModelMap::parse(&default_model_map())
    }

    #[test]
    fn claude_families_map_to_pro_and_flash() {
        let map = default_map();
        assert_eq!(map.resolve("claude-opus-4-8[1m]"), "gemini-2.5-pro");
        assert_eq!(map.resolve("claude-sonnet-4-5-20250929"), "gemini-2.5-pro");
        assert_eq!(map.resolve("claude-3-5-haiku-latest"), "gemini-2.5-flash");
        assert_eq!(map.resolve("Claude-Opus-5-5"), "gemini-2.5-pro");
    }

    #[test]
    fn gemini_names_and_their_features_pass_unchanged() {
        let map = default_map();
        assert_eq!(
            map.resolve("gemini-3-pro-preview-high"),
            "gemini-3-pro-preview-high"
        );
        assert_eq!(
            map.resolve("假流式/gemini-2.5-flash"),
            "假流式/gemini-2.5-flash"
        );
        assert_eq!(map.resolve("gemini-2.5-pro[1m]"), "gemini-2.5-pro");
        // A Gemini name containing a map key is still a Gemini name.
        let odd = ModelMap::parse(&["pro=gemini-2.5-flash".to_owned()]);
        assert_eq!(odd.resolve("gemini-2.5-pro"), "gemini-2.5-pro");
    }

    #[test]
    fn stream_prefix_is_kept_in_front_of_a_mapped_name() {
        let map = default_map();
        assert_eq!(
            map.resolve("流式抗截断/claude-haiku-4-5"),
            "流式抗截断/gemini-2.5-flash"
        );
    }

    #[test]
    fn configured_entries_win_in_order_and_exact_names_first() {
        let map = ModelMap::parse(&[
            " sonnet = gemini-3-pro-preview-low ".to_owned(),
            "broken".to_owned(),
            "=x".to_owned(),
            "claude-sonnet-4=gemini-2.5-flash".to_owned(),
        ]);
        assert_eq!(map.resolve("claude-sonnet-4-5"), "gemini-3-pro-preview-low");
        assert_eq!(map.resolve("claude-sonnet-4"), "gemini-2.5-flash");
        // Unmapped Claude names go upstream as they are (and Google answers 404).
        assert_eq!(map.resolve("claude-opus-4"), "claude-opus-4");
    }
}
