//! The recent log lines, kept as the batches they arrived in: taking a batch costs no copy of its lines,
//! and the oldest batches go once the newer ones hold enough lines.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::logging::LogBatch;

pub struct Ring {
    batches: VecDeque<Arc<LogBatch>>,
    /// Lines in `batches`; those beyond `keep` at the front are not shown.
    lines: usize,
    keep: usize,
}

impl Ring {
    pub fn new(keep: usize) -> Self {
        Self {
            batches: VecDeque::new(),
            lines: 0,
            keep,
        }
    }

    pub fn push(&mut self, batch: Arc<LogBatch>) {
        self.lines += batch.len();
        self.batches.push_back(batch);
        while let Some(front) = self.batches.front() {
            if self.lines - front.len() < self.keep {
                break;
            }
            self.lines -= front.len();
            self.batches.pop_front();
        }
    }

    pub fn clear(&mut self) {
        self.batches.clear();
        self.lines = 0;
    }

    /// The last `n` lines (at most the `keep` the ring was made with), oldest first.
    pub fn last(&self, n: usize) -> impl Iterator<Item = &str> {
        let skip = self.lines.saturating_sub(n.min(self.keep));
        self.batches.iter().flat_map(|b| b.lines()).skip(skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(lines: &[&str]) -> Arc<LogBatch> {
        let mut batch = LogBatch::default();
        for line in lines {
            batch.push(line);
        }
        Arc::new(batch)
    }

    #[test]
    fn keeps_the_last_lines_across_batches() {
        let mut ring = Ring::new(3);
        ring.push(batch(&["a", "b"]));
        ring.push(batch(&["c"]));
        assert_eq!(ring.last(10).collect::<Vec<_>>(), ["a", "b", "c"]);
        ring.push(batch(&["d", "e"]));
        assert_eq!(ring.last(10).collect::<Vec<_>>(), ["c", "d", "e"]);
        assert_eq!(ring.last(2).collect::<Vec<_>>(), ["d", "e"]);
        // The batch holding "c" stays for it; the one before is gone.
        assert_eq!(ring.batches.len(), 2);
        ring.push(batch(&["f", "g", "h", "i"]));
        assert_eq!(ring.last(10).collect::<Vec<_>>(), ["g", "h", "i"]);
        assert_eq!(ring.batches.len(), 1);
        ring.clear();
        assert_eq!(ring.last(10).count(), 0);
    }
}
