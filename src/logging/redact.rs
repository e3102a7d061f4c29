//! Masking of secrets before they reach a log line, an error body or an API response.
//!
//! Secrets are meant to be masked where they are formatted ([`Masked`]); the [`Redactor`] is the safety
//! net every log line passes anyway. It finds the well-known token prefixes and every configured secret
//! in one pass of an Aho-Corasick automaton, so its cost grows with the line, not with the number of
//! secrets.

use std::fmt;
use std::fmt::Write as _;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, Input, MatchKind};
use arc_swap::{ArcSwap, Guard};

/// Prefixes of credentials Google and this gateway hand out; any token starting with one is masked.
const SECRET_PREFIXES: &[&str] = &["ya29.", "1//", "sk-", "GOCSPX-", "eyJ"];
/// Token characters a prefix must be followed by: fewer make an ordinary word ("sk-1"), not a token.
const MIN_TOKEN_TAIL: usize = 12;
/// Shorter configured secrets are not scrubbed: they would mask ordinary words.
const MIN_SECRET_LEN: usize = 3;
/// What a line becomes when no automaton could be built: withheld rather than risk a secret.
const WITHHELD: &str = "[line withheld: the log redaction is unavailable]";

/// A secret that prints masked: enough to tell two apart, never enough to use it (`sk-abc…wxyz`).
/// Formatting it allocates nothing, so log arguments can carry it instead of the secret.
#[derive(Clone, Copy)]
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = self.0;
        let count = secret.chars().count();
        if count <= 8 {
            return f.write_str("***");
        }
        let offset = |nth: usize| secret.char_indices().nth(nth).map_or(0, |(i, _)| i);
        let head = secret.get(..offset(6)).unwrap_or_default();
        let tail = secret.get(offset(count - 4)..).unwrap_or_default();
        write!(f, "{head}…{tail}")
    }
}

/// `{:?}` must not reveal the secret either.
impl fmt::Debug for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The masked form of `secret` as a string (see [`Masked`]).
pub fn mask(secret: &str) -> String {
    Masked(secret).to_string()
}

/// Characters a token consists of.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | '=')
}

/// Characters that, right before a prefix, make it the middle of a word rather than a token's start.
/// '=' and '+' may end a base64 token but also introduce one (`token=ya29…`).
fn continues_a_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')
}

/// The configured secrets and the token prefixes, compiled into one automaton.
pub struct Redactor {
    automaton: Option<AhoCorasick>,
    /// Patterns below this index are configured secrets, the rest token prefixes. Secrets come first
    /// so that, starting at the same place, a secret wins: it is replaced whole.
    secrets: usize,
}

impl Redactor {
    pub fn new(secrets: &[String]) -> Self {
        let mut patterns: Vec<&str> = secrets
            .iter()
            .map(String::as_str)
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        patterns.sort_unstable();
        patterns.dedup();
        let secrets = patterns.len();
        patterns.extend_from_slice(SECRET_PREFIXES);
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&patterns)
            .map_err(|e| eprintln!("log redaction unavailable, log lines are withheld: {e}"))
            .ok();
        Self { automaton, secrets }
    }

    /// Appends `text` to `out` with every well-known token masked and every configured secret
    /// replaced by `***`.
    pub fn redact_into(&self, text: &str, out: &mut String) {
        let Some(automaton) = &self.automaton else {
            out.push_str(WITHHELD);
            return;
        };
        // `text[..copied]` is in `out` already; the search resumes at `from`.
        let mut copied = 0;
        let mut from = 0;
        // A secret's `***` ends a word: a prefix right after it starts a token.
        let mut secret_end = None;
        while from < text.len() {
            let Some(found) = automaton.find(Input::new(text).range(from..)) else {
                break;
            };
            let (start, end) = (found.start(), found.end());
            if found.pattern().as_usize() < self.secrets {
                out.push_str(text.get(copied..start).unwrap_or_default());
                out.push_str("***");
                (copied, from, secret_end) = (end, end, Some(end));
                continue;
            }
            let at_word_start = secret_end == Some(start)
                || text
                    .get(..start)
                    .and_then(|before| before.chars().next_back())
                    .is_none_or(|c| !continues_a_word(c));
            let rest = text.get(start..).unwrap_or_default();
            let token_len = rest
                .char_indices()
                .find(|(_, c)| !is_token_char(*c))
                .map_or(rest.len(), |(i, _)| i);
            if at_word_start && token_len >= found.len() + MIN_TOKEN_TAIL {
                out.push_str(text.get(copied..start).unwrap_or_default());
                let token = rest.get(..token_len).unwrap_or_default();
                let _ = write!(out, "{}", Masked(token));
                copied = start + token_len;
                from = copied;
            } else {
                // Prefixes start with an ASCII character, so the next byte starts a character.
                from = start + 1;
            }
        }
        out.push_str(text.get(copied..).unwrap_or_default());
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        self.redact_into(text, &mut out);
        out
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(&[])
    }
}

/// The configured passwords, kept current by the config route so the logger can scrub them.
#[derive(Clone, Default)]
pub struct SecretList(Arc<ArcSwap<Redactor>>);

impl SecretList {
    pub fn set(&self, secrets: Vec<String>) {
        self.0.store(Arc::new(Redactor::new(&secrets)));
    }

    /// The redactor for the current secrets.
    pub fn redactor(&self) -> Guard<Arc<Redactor>> {
        self.0.load()
    }

    pub fn redact(&self, text: &str) -> String {
        self.0.load().redact(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str, secrets: &[&str]) -> String {
        let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
        Redactor::new(&secrets).redact(text)
    }

    #[test]
    fn masks_known_tokens_and_configured_secrets() {
        let line = "refresh 1//0gABCDEFGHIJKLMNOP token=ya29.a0AfH6SMBxyzxyzxyz key sk-abcdefghijklmnopqrstuvwxyz pw hunter2";
        let out = redact(line, &["hunter2"]);
        assert!(!out.contains("1//0gABCDEFGHIJKLMNOP"), "{out}");
        assert!(!out.contains("ya29.a0AfH6SMBxyzxyzxyz"), "{out}");
        assert!(!out.contains("sk-abcdefghijklmnopqrstuvwxyz"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("sk-abc…wxyz"), "{out}");
        assert!(out.ends_with("pw ***"), "{out}");
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let line = "model gemini-2.5-pro task-1 ask-me 假流式/gemini";
        assert_eq!(redact(line, &[]), line);
        assert_eq!(redact("", &["hunter2"]), "");
    }

    #[test]
    fn a_prefix_inside_a_word_is_not_a_token() {
        let line = "risk-abcdefghijklmnopqrstuvwxyz task.sk-abcdefghijklmnopqrstuvwxyz";
        assert_eq!(redact(line, &[]), line);
        // After `=` or `+` a token starts.
        let out = redact("a=sk-abcdefghijklmnopqrstuvwxyz", &[]);
        assert_eq!(out, "a=sk-abc…wxyz");
    }

    #[test]
    fn a_short_prefix_match_still_finds_a_secret_right_after_it() {
        // "sk-1" is a word, not a token; the password after it is still scrubbed.
        assert_eq!(redact("sk-1hunter2 x", &["hunter2"]), "sk-1*** x");
        // A secret that itself starts like a token is replaced whole.
        assert_eq!(redact("pw sk-pass! ok", &["sk-pass"]), "pw ***! ok");
        // A token right after a secret is masked too.
        assert_eq!(
            redact("hunter2sk-abcdefghijklmnopqrstuvwxyz", &["hunter2"]),
            "***sk-abc…wxyz"
        );
    }

    #[test]
    fn secrets_too_short_to_be_words_are_ignored() {
        assert_eq!(redact("a ab abc", &["ab", ""]), "a ab abc");
    }

    #[test]
    fn many_secrets_are_all_scrubbed_in_one_pass() {
        let secrets: Vec<String> = (0..2000).map(|i| format!("secret-{i:04}-pw")).collect();
        let redactor = Redactor::new(&secrets);
        let line = "first secret-0000-pw middle secret-1999-pw last secret-0777-pw.";
        assert_eq!(redactor.redact(line), "first *** middle *** last ***.");
    }

    #[test]
    fn masked_prints_like_mask_and_hides_short_secrets_whole() {
        assert_eq!(Masked("sk-0123456789abcdef").to_string(), "sk-012…cdef");
        assert_eq!(
            format!("{:?}", Masked("sk-0123456789abcdef")),
            "sk-012…cdef"
        );
        assert_eq!(mask("12345678"), "***");
        assert_eq!(mask("ключ-абвгдежз"), "ключ-а…дежз");
    }
}
