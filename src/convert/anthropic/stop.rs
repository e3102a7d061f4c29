//! Client `stop_sequences`, matched on the answer text as it streams.
//!
//! Text that could be the start of a stop sequence is held back until the next piece shows whether
//! it is; at a match the text before it is released and the rest of the answer is dropped.

#[derive(Debug, Default)]
pub struct StopScanner {
    sequences: Vec<String>,
    held: String,
    matched: Option<String>,
}

impl StopScanner {
    pub fn new(sequences: Vec<String>) -> Self {
        Self {
            sequences: sequences.into_iter().filter(|s| !s.is_empty()).collect(),
            held: String::new(),
            matched: None,
        }
    }

    /// The stop sequence that ended the answer, once one matched.
    pub fn matched(&self) -> Option<&str> {
        self.matched.as_deref()
    }

    /// Text safe to send now. After a match this is the text before the sequence, and every later
    /// call returns nothing.
    pub fn push(&mut self, text: &str) -> String {
        if self.matched.is_some() {
            return String::new();
        }
        if self.sequences.is_empty() {
            return text.to_owned();
        }
        self.held.push_str(text);
        let first_match = self
            .sequences
            .iter()
            .filter_map(|seq| self.held.find(seq.as_str()).map(|at| (at, seq)))
            .min_by_key(|(at, _)| *at);
        if let Some((at, seq)) = first_match {
            let released = self.held.get(..at).unwrap_or_default().to_owned();
            self.matched = Some(seq.clone());
            self.held.clear();
            return released;
        }
        let keep = self.partial_suffix_len();
        let split = self.held.len() - keep;
        let released = self.held.get(..split).unwrap_or_default().to_owned();
        self.held = self.held.get(split..).unwrap_or_default().to_owned();
        released
    }

    /// Whatever is still held back (the answer ended without completing a sequence).
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// Length of the longest suffix of the held text that is a proper prefix of some sequence,
    /// always on a character boundary.
    fn partial_suffix_len(&self) -> usize {
        let held = self.held.as_str();
        held.char_indices()
            .map(|(at, _)| at)
            .find(|at| {
                let tail = held.get(*at..).unwrap_or_default();
                self.sequences
                    .iter()
                    .any(|seq| seq.len() > tail.len() && seq.starts_with(tail))
            })
            .map_or(0, |at| held.len() - at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_sequences_text_passes_at_once() {
        let mut s = StopScanner::new(Vec::new());
        assert_eq!(s.push("abc"), "abc");
        assert_eq!(s.flush(), "");
        assert_eq!(s.matched(), None);
    }

    #[test]
    fn a_sequence_split_across_pieces_is_found_and_cut() {
        let mut s = StopScanner::new(vec!["END".into(), "STOP!".into()]);
        assert_eq!(s.push("one two E"), "one two ");
        assert_eq!(s.push("N"), "");
        assert_eq!(s.push("D and more"), "");
        assert_eq!(s.matched(), Some("END"));
        assert_eq!(s.push("ignored"), "");
    }

    #[test]
    fn a_false_start_is_released_and_the_rest_flushed() {
        let mut s = StopScanner::new(vec!["END".into()]);
        assert_eq!(s.push("EN"), "");
        assert_eq!(s.push("GLAND E"), "ENGLAND ");
        assert_eq!(s.flush(), "E");
        assert_eq!(s.matched(), None);
    }

    #[test]
    fn the_earliest_match_wins_and_multibyte_text_is_safe() {
        let mut s = StopScanner::new(vec!["ß!".into(), "é".into()]);
        assert_eq!(s.push("caféß!"), "caf");
        assert_eq!(s.matched(), Some("é"));
    }
}
