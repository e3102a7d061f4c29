//! Log lines travelling together: one text (each line followed by a newline, ready for a file or
//! stderr in one write) and where each line ends, so a message that spans several lines stays one
//! entry for the live log.

/// Lines in the order they were logged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LogBatch {
    text: String,
    /// Byte offset of each line's closing newline in `text`.
    ends: Vec<usize>,
}

impl LogBatch {
    pub fn from_line(line: &str) -> Self {
        let mut batch = Self::default();
        batch.push(line);
        batch
    }

    pub fn push(&mut self, line: &str) {
        self.text.push_str(line);
        self.end_line();
    }

    /// Ends the line written into [`LogBatch::open_line`] so far.
    pub fn end_line(&mut self) {
        self.ends.push(self.text.len());
        self.text.push('\n');
    }

    /// The text after the last ended line, for writing the next line in place.
    pub fn open_line(&mut self) -> &mut String {
        &mut self.text
    }

    /// Every line, each followed by a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes held, newlines included.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    /// The lines without their newlines.
    pub fn lines(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.ends.iter().enumerate().map(|(i, &end)| {
            let start = match i.checked_sub(1).and_then(|prev| self.ends.get(prev)) {
                Some(&prev_end) => prev_end + 1,
                None => 0,
            };
            self.text.get(start..end).unwrap_or_default()
        })
    }

    /// Where each line ends in [`LogBatch::text`], its newline included.
    pub fn line_ends(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.ends.iter().map(|end| end + 1)
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    /// Gives back memory a burst left behind, so a quiet logger holds little.
    pub fn shrink(&mut self, keep_bytes: usize) {
        if self.text.capacity() > keep_bytes {
            self.text.shrink_to(keep_bytes);
            self.ends.shrink_to(keep_bytes / 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_own_newlines_and_end_where_recorded() {
        let mut batch = LogBatch::from_line("one");
        batch.push("two\nstill two");
        batch.open_line().push_str("three");
        batch.end_line();
        assert_eq!(batch.text(), "one\ntwo\nstill two\nthree\n");
        assert_eq!(
            batch.lines().collect::<Vec<_>>(),
            ["one", "two\nstill two", "three"]
        );
        assert_eq!(batch.line_ends().collect::<Vec<_>>(), [4, 18, 24]);
        assert_eq!((batch.len(), batch.bytes()), (3, 24));
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.lines().count(), 0);
    }
}
