//! Masking of secrets before they reach a log line, an error body or an API response.

use std::sync::Arc;

use arc_swap::ArcSwap;

/// Prefixes of credentials Google and this gateway hand out; any token starting with one is masked.
const SECRET_PREFIXES: &[&str] = &["ya29.", "1//", "sk-", "GOCSPX-", "eyJ"];

/// Shows enough of a secret to tell two apart, never enough to use it: `sk-abc…wxyz`.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 8 {
        return "***".to_string();
    }
    let head: String = chars.iter().take(6).collect();
    let tail: String = chars.iter().skip(chars.len() - 4).collect();
    format!("{head}…{tail}")
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | '=')
}

/// Replaces every well-known token and every configured secret in `text` by its masked form.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        // '=' and '+' may end a base64 token but also introduce one (`token=ya29…`).
        let at_boundary = out
            .chars()
            .last()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')));
        if at_boundary {
            for prefix in SECRET_PREFIXES {
                if rest.starts_with(prefix) {
                    let len = rest
                        .char_indices()
                        .find(|(_, c)| !is_token_char(*c))
                        .map_or(rest.len(), |(i, _)| i);
                    // Short matches are ordinary words ("sk-1"), not tokens.
                    if len >= prefix.len() + 12 {
                        out.push_str(&mask(&rest[..len]));
                        rest = &rest[len..];
                        continue 'outer;
                    }
                }
            }
        }
        for secret in secrets {
            if secret.len() >= 3 && rest.starts_with(secret.as_str()) {
                out.push_str("***");
                rest = &rest[secret.len()..];
                continue 'outer;
            }
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            out.push(c);
        }
        rest = chars.as_str();
    }
    out
}

/// The configured passwords, kept current by the config route so the logger can scrub them.
#[derive(Clone, Default)]
pub struct SecretList(Arc<ArcSwap<Vec<String>>>);

impl SecretList {
    pub fn set(&self, secrets: Vec<String>) {
        self.0.store(Arc::new(secrets));
    }

    pub fn redact(&self, text: &str) -> String {
        redact(text, &self.0.load())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_known_tokens_and_configured_secrets() {
        let line = "refresh 1//0gABCDEFGHIJKLMNOP token=ya29.a0AfH6SMBxyzxyzxyz key sk-abcdefghijklmnopqrstuvwxyz pw hunter2";
        let out = redact(line, &["hunter2".to_string()]);
        assert!(!out.contains("1//0gABCDEFGHIJKLMNOP"), "{out}");
        assert!(!out.contains("ya29.a0AfH6SMBxyzxyzxyz"), "{out}");
        assert!(!out.contains("sk-abcdefghijklmnopqrstuvwxyz"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("sk-abc…wxyz"), "{out}");
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let line = "model gemini-2.5-pro task-1 ask-me 假流式/gemini";
        assert_eq!(redact(line, &[]), line);
    }
}
