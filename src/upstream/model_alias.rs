//! `MODEL_ALIASES`: model ids Google knows by another name on one kind of credential. An entry is
//! `[kind:]asked=sent` — Code Assist, for one, expects `gemini-3-flash` for what the Gemini CLI calls
//! `gemini-3.5-flash`. Clients and the catalogue use the asked name; only the call to Google carries the
//! sent one. The list is a handful of short strings, so it is read where it is needed rather than kept
//! parsed.

use crate::credentials::CredentialKind;

/// One parsed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alias<'a> {
    /// The kind it applies to; `None`: every kind.
    pub kind: Option<CredentialKind>,
    pub asked: &'a str,
    pub sent: &'a str,
}

impl<'a> Alias<'a> {
    /// `[kind:]asked=sent`; `None` for an entry that is not of that form (an unknown kind, an empty
    /// side), which is then ignored.
    pub fn parse(entry: &'a str) -> Option<Self> {
        let (left, sent) = entry.split_once('=')?;
        let (kind, asked) = match left.split_once(':') {
            Some((kind, asked)) => (Some(CredentialKind::parse(kind)?), asked),
            None => (None, left),
        };
        let (asked, sent) = (asked.trim(), sent.trim());
        (!asked.is_empty() && !sent.is_empty()).then_some(Self { kind, asked, sent })
    }

    /// Whether the entry applies to credentials of `kind`.
    pub fn applies_to(&self, kind: CredentialKind) -> bool {
        self.kind.is_none_or(|k| k == kind)
    }
}

/// Every valid entry of the setting.
pub fn parse_all(entries: &[String]) -> impl Iterator<Item = Alias<'_>> {
    entries.iter().filter_map(|e| Alias::parse(e))
}

/// The model id sent to Google for `asked` on a credential of `kind`: the first matching entry's target,
/// else `asked` itself.
pub fn sent_model<'a>(entries: &'a [String], kind: CredentialKind, asked: &'a str) -> &'a str {
    parse_all(entries)
        .find(|a| a.applies_to(kind) && a.asked == asked)
        .map_or(asked, |a| a.sent)
}

/// The asked name a credential of `kind` offers for the id `listed` it got from Google, when an entry
/// names `listed` as its target.
pub fn asked_model<'a>(
    entries: &'a [String],
    kind: CredentialKind,
    listed: &str,
) -> Option<&'a str> {
    parse_all(entries)
        .find(|a| a.applies_to(kind) && a.sent == listed)
        .map(|a| a.asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entries_parse_with_and_without_a_kind() {
        assert_eq!(
            Alias::parse("code_assist:gemini-3.5-flash=gemini-3-flash"),
            Some(Alias {
                kind: Some(CredentialKind::CodeAssist),
                asked: "gemini-3.5-flash",
                sent: "gemini-3-flash",
            })
        );
        assert_eq!(
            Alias::parse(" a = b "),
            Some(Alias {
                kind: None,
                asked: "a",
                sent: "b",
            })
        );
        for bad in ["nothing", "=b", "a=", "spaceship:a=b", ":a=b"] {
            assert_eq!(Alias::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_sent_model_depends_on_the_kind() {
        let list = entries(&["code_assist:gemini-3.5-flash=gemini-3-flash", "x=y"]);
        assert_eq!(
            sent_model(&list, CredentialKind::CodeAssist, "gemini-3.5-flash"),
            "gemini-3-flash"
        );
        assert_eq!(
            sent_model(&list, CredentialKind::GeminiApiKey, "gemini-3.5-flash"),
            "gemini-3.5-flash"
        );
        assert_eq!(sent_model(&list, CredentialKind::Vertex, "x"), "y");
        assert_eq!(
            asked_model(&list, CredentialKind::CodeAssist, "gemini-3-flash"),
            Some("gemini-3.5-flash")
        );
        assert_eq!(
            asked_model(&list, CredentialKind::Vertex, "gemini-3-flash"),
            None
        );
    }
}
