//! Which credentials may serve a model, and in which order the kinds are tried. Pure functions the
//! choice consults; the rotation itself is untouched.
//!
//! - Each kind serves the models of its list (`CODE_ASSIST_MODELS`, `GEMINI_API_KEY_MODELS`,
//!   `VERTEX_MODELS`): exact names or `*` wildcards.
//! - `UPSTREAM_PREFERENCE` ranks the kinds: listed kinds first, in order; unlisted kinds share the
//!   last rank. Empty: one rank, so every kind rotates together.

use crate::config::Settings;
use crate::credentials::CredentialKind;

/// Whether credentials of `kind` serve `base_model`.
pub fn serves(kind: CredentialKind, settings: &Settings, base_model: &str) -> bool {
    kind.rules()
        .models(settings)
        .iter()
        .any(|p| matches(p, base_model))
}

/// Which kinds serve one model, worked out once per choice rather than once per credential scanned.
#[derive(Debug, Clone, Copy)]
pub struct Serving([bool; CredentialKind::ALL.len()]);

impl Serving {
    pub fn of(settings: &Settings, base_model: &str) -> Self {
        Self(CredentialKind::ALL.map(|kind| serves(kind, settings, base_model)))
    }

    pub fn kind(self, kind: CredentialKind) -> bool {
        self.0.get(kind.index()).copied().unwrap_or(false)
    }
}

/// `pattern` with `*` standing for any run of characters.
fn matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let mut pieces: Vec<&str> = parts.collect();
    let Some(last) = pieces.pop() else {
        // No `*`: the whole name must have matched.
        return rest.is_empty();
    };
    for piece in pieces {
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The rank of `kind` under `preference` (lower is tried first).
pub fn rank(kind: CredentialKind, preference: &[String]) -> usize {
    preference
        .iter()
        .filter_map(|name| CredentialKind::parse(name))
        .position(|k| k == kind)
        .unwrap_or(preference.len())
}

/// Each kind's rank, read from the setting once per choice.
#[derive(Debug, Clone, Copy)]
pub struct Ranks([usize; CredentialKind::ALL.len()]);

impl Ranks {
    pub fn of(preference: &[String]) -> Self {
        Self(CredentialKind::ALL.map(|kind| rank(kind, preference)))
    }

    pub fn kind(self, kind: CredentialKind) -> usize {
        self.0.get(kind.index()).copied().unwrap_or(usize::MAX)
    }
}

/// The distinct ranks in use, in order: the passes the rotation makes.
pub fn ranks(preference: &[String]) -> Vec<usize> {
    let mut ranks: Vec<usize> = CredentialKind::ALL
        .iter()
        .map(|k| rank(*k, preference))
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_globs() {
        assert!(matches("*", "gemini-2.5-pro"));
        assert!(matches("gemini-*", "gemini-2.5-pro"));
        assert!(!matches("gemini-*", "imagen-3"));
        assert!(matches("gemini-2.5-pro", "gemini-2.5-pro"));
        assert!(!matches("gemini-2.5-pro", "gemini-2.5-pro-x"));
        assert!(matches("gemini-*-preview", "gemini-3-pro-preview"));
        assert!(!matches("gemini-*-preview", "gemini-3-pro"));
        assert!(matches("*flash*", "gemini-2.5-flash-lite"));
    }

    #[test]
    fn preference_ranks_listed_kinds_first() {
        let pref = vec!["gemini_api_key".to_string(), "code_assist".to_string()];
        assert_eq!(rank(CredentialKind::GeminiApiKey, &pref), 0);
        assert_eq!(rank(CredentialKind::CodeAssist, &pref), 1);
        assert_eq!(rank(CredentialKind::Vertex, &pref), 2);
        assert_eq!(ranks(&pref), vec![0, 1, 2]);
        assert_eq!(ranks(&[]), vec![0]);
        assert_eq!(rank(CredentialKind::Vertex, &[]), 0);
    }
}
