//! The CSV form of the audit log: RFC 4180 quoting, and cells that a spreadsheet would run as a
//! formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) prefixed with `'`.

use crate::store::AuditEntry;

pub const CSV_HEADER: &str = "time,actor,address,action,target,changes";

/// One cell, safe for a spreadsheet.
pub(super) fn cell(value: &str) -> String {
    let mut text = String::with_capacity(value.len() + 3);
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        text.push('\'');
    }
    text.push_str(value);
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The entries as CSV, header first, times in RFC 3339 (UTC).
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::with_capacity(64 * (entries.len() + 1));
    out.push_str(CSV_HEADER);
    out.push_str("\r\n");
    for e in entries {
        let time = chrono::DateTime::from_timestamp_millis(e.time)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
            .unwrap_or_default();
        let changes = if e.changes.is_null() {
            String::new()
        } else {
            e.changes.to_string()
        };
        let cells = [
            cell(&time),
            cell(&e.actor),
            cell(&e.address),
            cell(e.action.as_str()),
            cell(&e.target),
            cell(&changes),
        ];
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
    }
}
