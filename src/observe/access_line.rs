//! The access line: one `info` line per client request, fixed in shape so it is cheap to write and
//! easy to read and grep. The full decision trace stays in the request history (and is logged at
//! `debug`).
//!
//! ```text
//! <request id> POST /v1/chat/completions model=gemini-2.5-pro status=200 ms=123 credential=a.json key=sk-abc…wxyz
//! ```
//!
//! `credential` is the one that answered (or was tried last), `key` the caller's `sk-` key masked, or
//! `password`; a field with nothing to show is `-`.

use std::fmt;

use super::trace::TraceRecord;

/// The log target of access lines.
pub const TARGET: &str = "gcli2api::access";

/// Displays a record as its access line.
pub struct AccessLine<'a>(pub &'a TraceRecord);

impl fmt::Display for AccessLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        let credential = r.attempts.last().map(|a| a.credential.as_str());
        let key = r.key_masked.as_deref().or(r.key.as_deref());
        write!(
            f,
            "{} {} {} model={} status={} ms={} credential={} key={}",
            Word(Some(&r.id)),
            Word(Some(&r.method)),
            Word(Some(&r.path)),
            Word(r.model.as_deref()),
            r.status,
            r.duration_ms,
            Word(credential),
            Word(key),
        )
    }
}

/// A field value as one word: whitespace and control characters (a client's model name could carry
/// a newline and forge a line) become `_`, nothing becomes `-`.
struct Word<'a>(Option<&'a str>);

impl fmt::Display for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.0 {
            Some(text) if !text.is_empty() => text,
            _ => return f.write_str("-"),
        };
        let odd = |c: char| c.is_whitespace() || c.is_control();
        if !text.chars().any(odd) {
            return f.write_str(text);
        }
        for c in text.chars() {
            fmt::Write::write_char(f, if odd(c) { '_' } else { c })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::trace::Attempt;

    fn attempt(credential: &str, decision: &str) -> Attempt {
        Attempt {
            credential: credential.into(),
            start_ms: 0,
            latency_ms: 0,
            status: Some(200),
            kind: "ok".into(),
            reason: None,
            decision: decision.into(),
            wait_ms: 0,
            cooldown_secs: None,
        }
    }

    #[test]
    fn names_the_request_in_fixed_fields() {
        let record = TraceRecord {
            id: "r1".into(),
            method: "POST".into(),
            path: "/v1/chat/completions".into(),
            model: Some("gemini-2.5-pro".into()),
            key: Some("k-1a2b3c4d".into()),
            key_masked: Some(crate::logging::mask("sk-0123456789abcdef")),
            status: 200,
            duration_ms: 123,
            attempts: vec![attempt("a.json", "retried"), attempt("b.json", "answered")],
            ..TraceRecord::default()
        };
        assert_eq!(
            AccessLine(&record).to_string(),
            "r1 POST /v1/chat/completions model=gemini-2.5-pro status=200 ms=123 credential=b.json key=sk-012…cdef"
        );
    }

    #[test]
    fn missing_fields_are_dashes_and_values_stay_one_word() {
        let record = TraceRecord {
            id: "r2".into(),
            method: "POST".into(),
            path: "/v1/messages".into(),
            model: Some("evil\n[ERROR] forged".into()),
            key: Some("password".into()),
            status: 400,
            ..TraceRecord::default()
        };
        assert_eq!(
            AccessLine(&record).to_string(),
            "r2 POST /v1/messages model=evil_[ERROR]_forged status=400 ms=0 credential=- key=password"
        );
        let unknown = TraceRecord::default();
        assert_eq!(
            AccessLine(&unknown).to_string(),
            "- - - model=- status=0 ms=0 credential=- key=-"
        );
    }
}
