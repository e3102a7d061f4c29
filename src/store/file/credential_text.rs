//! Credentials as the files backend keeps them in memory: the text of each one's tables in
//! `creds.toml` (`[name]`, `[name.state]`, …), not the parsed record.
//!
//! Why text: the credential actors hold every record already, and the store needs its copy only to
//! rewrite `creds.toml` at compaction and to answer the rare reads (start-up, an import, a peer's
//! refreshed token). As parsed records the second copy cost about 1.6 KiB per credential; as text it
//! is the ~600 bytes it takes on disk, and compaction becomes a concatenation instead of rendering
//! one TOML document of every credential (which at 100,000 credentials peaked at hundreds of MiB).
//!
//! Loading splits `creds.toml` at its table headers and parses one credential at a time, for the
//! same reason. The split only trusts what it can check: every piece must parse on its own into
//! exactly the credential its headers name, and no credential may come back later in the file;
//! otherwise (hand-written TOML with a `[` line inside a multi-line string, a credential's tables
//! scattered, …) the whole file is parsed as one document, as before.

use std::collections::BTreeMap;

use super::toml_format;
use crate::credentials::CredentialRecord;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CredentialText(Box<str>);

impl CredentialText {
    pub fn render(record: &CredentialRecord) -> Result<Self, StoreError> {
        toml_format::render_credential(record).map(|text| Self(text.into_boxed_str()))
    }

    pub fn record(&self) -> Result<CredentialRecord, StoreError> {
        toml_format::parse_credential(&self.0)?.ok_or_else(|| {
            StoreError::Corrupt("creds.toml: a credential's tables are mixed".into())
        })
    }

    fn text(&self) -> &str {
        &self.0
    }
}

/// `creds.toml` from the kept texts: the header, then each credential in name order.
pub(super) fn render_all(credentials: &BTreeMap<String, CredentialText>) -> String {
    let size = credentials
        .values()
        .map(|c| c.text().len() + 1)
        .sum::<usize>();
    let mut out = String::with_capacity(toml_format::HEADER.len() + size);
    out.push_str(toml_format::HEADER);
    for (i, credential) in credentials.values().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(credential.text().trim_end());
        out.push('\n');
    }
    out
}

/// What loading `creds.toml` yields: the texts the store keeps, and the records parsed on the way
/// (in name order), so the gateway's start-up load does not parse every credential a second time.
pub(super) type Loaded = (BTreeMap<String, CredentialText>, Vec<CredentialRecord>);

/// Reads `creds.toml` one credential at a time (see the module note), falling back to one parse
/// of the whole document.
pub(super) fn parse_all(text: &str) -> Result<Loaded, StoreError> {
    if let Some(loaded) = parse_piecewise(text) {
        return Ok(loaded);
    }
    let records: Vec<CredentialRecord> = toml_format::parse_credentials(text)?
        .into_values()
        .collect();
    let texts = records
        .iter()
        .map(|record| Ok((record.name.clone(), CredentialText::render(record)?)))
        .collect::<Result<_, StoreError>>()?;
    Ok((texts, records))
}

fn parse_piecewise(text: &str) -> Option<Loaded> {
    let mut out = (BTreeMap::new(), Vec::new());
    let mut current: Option<(String, usize)> = None;
    let mut offset = 0usize;
    let mut prelude_end = text.len();
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(name) = header_name(line) else {
            continue;
        };
        if current.as_ref().is_some_and(|(open, _)| *open == name) {
            continue;
        }
        if let Some((open, from)) = current.take() {
            finish(&mut out, open, text.get(from..start)?)?;
        } else {
            prelude_end = start;
        }
        current = Some((name, start));
    }
    // Before the first header only comments and blank lines may stand.
    let prelude = text.get(..prelude_end)?;
    if !prelude.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#')
    }) {
        return None;
    }
    if let Some((open, from)) = current {
        finish(&mut out, open, text.get(from..)?)?;
    }
    // A hand-edited file need not be in name order; the store answers in name order.
    out.1.sort_by(|a, b| a.name.cmp(&b.name));
    Some(out)
}

/// Checks one piece parses into exactly the credential `name` and keeps its text.
fn finish(out: &mut Loaded, name: String, piece: &str) -> Option<()> {
    let (texts, records) = out;
    if texts.contains_key(&name) {
        return None;
    }
    let record = toml_format::parse_credential(piece).ok()??;
    if record.name != name {
        return None;
    }
    texts.insert(name, CredentialText(piece.trim_end().into()));
    records.push(record);
    Some(())
}

/// The first key of a table header line (`[name…]` or `[[name…]]`), for the bare and simply
/// quoted keys gcli2api writes; `None` for anything else (then the line is not a split point, and
/// the piece it falls in either still parses into one credential or sends the load to the fallback).
fn header_name(line: &str) -> Option<String> {
    let rest = line.trim_start().strip_prefix('[')?;
    let rest = rest.strip_prefix('[').unwrap_or(rest).trim_start();
    if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        let key = quoted.get(..end)?;
        // Escapes would need unescaping; leave such names to the whole-document parse.
        return (!key.contains('\\')).then(|| key.to_string());
    }
    if let Some(quoted) = rest.strip_prefix('\'') {
        let end = quoted.find('\'')?;
        return quoted.get(..end).map(str::to_string);
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let key = rest.get(..end)?;
    (!key.is_empty()).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::credentials::{CredentialKind, CredentialState};

    fn record(name: &str, credential: serde_json::Value) -> CredentialRecord {
        CredentialRecord {
            name: name.into(),
            kind: CredentialKind::CodeAssist,
            credential: credential.as_object().cloned().unwrap_or_default(),
            state: CredentialState::default(),
        }
    }

    fn kept(records: &[CredentialRecord]) -> BTreeMap<String, CredentialText> {
        records
            .iter()
            .map(|r| (r.name.clone(), CredentialText::render(r).unwrap()))
            .collect()
    }

    #[test]
    fn written_file_reads_back_piece_by_piece() {
        let mut a = record("a.json", json!({"client_id": "c", "token": "t"}));
        a.state.errors.push(crate::credentials::ErrorRecord {
            code: 429,
            message: "slow [down] [b.json]".into(),
            at: 1,
        });
        a.state.model_cooldowns.insert("gemini-2.5-pro".into(), 9);
        let b = record("b", json!({"client_id": "d", "null": null}));
        let c = record("it's 'q'.json", json!({"refresh_token": "r"}));
        let text = render_all(&kept(&[a.clone(), b.clone(), c.clone()]));
        let (pieces, records) = parse_piecewise(&text).expect("split at headers");
        assert_eq!(pieces.len(), 3);
        assert_eq!(records, [a.clone(), b.clone(), c.clone()]);
        for r in [a, b, c] {
            assert_eq!(pieces[&r.name].record().unwrap(), r);
        }
    }

    #[test]
    fn kinds_survive_piece_by_piece() {
        let mut key = record("key", json!({"api_key": "AIza-x"}));
        key.kind = CredentialKind::GeminiApiKey;
        let mut sa = record("sa.json", json!({"type": "service_account"}));
        sa.kind = CredentialKind::Vertex;
        let oauth = record("oauth.json", json!({"refresh_token": "r"}));
        let text = render_all(&kept(&[key.clone(), oauth.clone(), sa.clone()]));
        assert!(text.contains("kind = \"gemini_api_key\""), "{text}");
        assert!(!text.contains("kind = \"code_assist\""), "{text}");
        let (pieces, records) = parse_piecewise(&text).expect("split at headers");
        assert_eq!(records, [key.clone(), oauth.clone(), sa.clone()]);
        for r in [key, oauth, sa] {
            assert_eq!(pieces[&r.name].record().unwrap(), r);
        }
    }

    #[test]
    fn multi_line_values_survive_whichever_way_they_are_read() {
        let mut a = record("a.json", json!({"note": "line\n[b.json]\nend"}));
        a.state.disabled_reason = Some("x\n[[a.json.state.errors]]\n".into());
        let b = record("b.json", json!({"client_id": "d"}));
        let text = render_all(&kept(&[a.clone(), b.clone()]));
        let (all, records) = parse_all(&text).unwrap();
        assert_eq!(all["a.json"].record().unwrap(), a);
        assert_eq!(all["b.json"].record().unwrap(), b);
        assert_eq!(records, [a, b]);
    }

    #[test]
    fn hand_written_layouts_fall_back_to_the_whole_document() {
        // A credential's tables scattered, and a `[` line inside a multi-line string.
        let scattered = "[a]\nx = 1\n[b]\ny = 2\n[a.state]\ndisabled = true\n";
        let multiline = "[a]\nnote = \"\"\"\n[b]\n\"\"\"\n";
        for text in [scattered, multiline] {
            assert!(parse_piecewise(text).is_none(), "{text}");
            let (all, records) = parse_all(text).unwrap();
            assert!(all.contains_key("a"), "{text}");
            assert_eq!(records.len(), all.len(), "{text}");
        }
        let (scattered, _) = parse_all(scattered).unwrap();
        assert!(scattered["a"].record().unwrap().state.disabled);
        assert_eq!(parse_all(multiline).unwrap().0.len(), 1);
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_partial_load() {
        assert!(matches!(
            parse_all("[a]\nx = \n"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(parse_all("x = 1\n"), Err(StoreError::Corrupt(_))));
    }
}
