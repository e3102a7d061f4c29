//! `ANTHROPIC_FALLBACK_MAP`: which model answers a `/v1/messages` request that asked for
//! `fallbacks: "default"` when Google has no capacity for the model it named. An entry is
//! `<Gemini model>=<next model>`, read like `MODEL_ALIASES` (a list, `a=b,c=d` in the environment);
//! the left side is the base model Google refused (case ignored), the right side any name the route
//! accepts (a Claude name goes through `ANTHROPIC_MODEL_MAP`). Entries chain (`a=b`, `b=c`), at most
//! [`MAX_FALLBACKS`] models after the first and never one already tried.

use crate::convert::anthropic::model::model_pairs;

/// Models tried after the requested one, at most: every try is a full round over the pool.
pub const MAX_FALLBACKS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FallbackMap {
    /// (lower-case refused model, next model) in configuration order.
    entries: Vec<(String, String)>,
}

impl FallbackMap {
    /// Entries that are not `<model>=<model>` are ignored (logged at debug level).
    pub fn parse(entries: &[String]) -> Self {
        Self {
            entries: model_pairs(entries, "ANTHROPIC_FALLBACK_MAP"),
        }
    }

    /// The model to try after `refused` (a base model), unless none is configured, it was tried
    /// already (`tried` holds base models) or the chain is at its limit.
    pub fn next(&self, refused: &str, tried: &[String]) -> Option<&str> {
        if tried.len() > MAX_FALLBACKS {
            return None;
        }
        let refused = refused.to_ascii_lowercase();
        self.entries
            .iter()
            .find(|(from, _)| *from == refused)
            .map(|(_, to)| to.as_str())
            .filter(|to| !tried.iter().any(|t| t.eq_ignore_ascii_case(to)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[&str]) -> FallbackMap {
        FallbackMap::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn entries_name_the_next_model_case_blind() {
        let m = map(&[
            " gemini-2.5-pro = gemini-2.5-flash ",
            "broken",
            "=x",
            "Gemini-2.5-Flash=claude-haiku-4-5",
        ]);
        assert_eq!(m.next("gemini-2.5-pro", &[]), Some("gemini-2.5-flash"));
        assert_eq!(m.next("gemini-2.5-flash", &[]), Some("claude-haiku-4-5"));
        assert_eq!(m.next("gemini-3-pro-preview", &[]), None);
        assert_eq!(FallbackMap::default().next("gemini-2.5-pro", &[]), None);
    }

    #[test]
    fn cycles_and_long_chains_stop() {
        let m = map(&["a=b", "b=a"]);
        assert_eq!(m.next("a", &["a".into()]), Some("b"));
        assert_eq!(m.next("b", &["a".into(), "b".into()]), None);
        let long: Vec<String> = (0..=MAX_FALLBACKS).map(|i| format!("m{i}")).collect();
        assert_eq!(map(&["m3=z"]).next("m3", &long), None);
    }
}
