//! How many bytes a value takes as JSON, counted without building the text: the measure the byte caps
//! of the in-memory histories use (the Responses store, the request history). It tracks what the
//! value holds (its strings dominate), which is what an attacker can make large.

use std::io::{Result, Write};

use serde::Serialize;

/// A writer that keeps only the count.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

/// The length of `value` as compact JSON (0 if it cannot be serialised, which our types never fail).
pub fn json_len<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_the_compact_text() {
        let value = json!({"a": "xyz", "b": [1, 2]});
        assert_eq!(json_len(&value), value.to_string().len());
    }
}
