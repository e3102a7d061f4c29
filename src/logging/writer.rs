//! The log thread: takes the queued lines every few milliseconds, masks secrets, writes them to stderr
//! in one write and hands the batch to every gateway's sink. Everything a line costs beyond being
//! formatted happens here, off the request threads.

use std::io::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use log::Level;

use super::batch::LogBatch;
use super::queue::{LineQueue, Pending};

/// How long lines gather before they are handled together: short for a live log, long enough that a
/// busy gateway wakes this thread tens of times a second rather than once per line.
const WINDOW: Duration = Duration::from_millis(25);
/// Batch buffer kept between batches; a burst's larger buffer is given back.
const KEEP_BYTES: usize = 256 << 10;

pub(super) fn start(queue: Arc<LineQueue>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("log-lines".into())
        .spawn(move || run(&queue))
        .map(drop)
}

fn run(queue: &LineQueue) {
    let mut taken = Pending::default();
    loop {
        queue.take(WINDOW, &mut taken);
        let batch = Arc::new(redacted(&taken));
        if !batch.is_empty() {
            // Nowhere to report a failing stderr; the sinks still get the lines.
            let _ = io::stderr().lock().write_all(batch.text().as_bytes());
            super::deliver(&batch);
        }
        taken.lines.clear();
        taken.lines.shrink(KEEP_BYTES);
        taken.dropped = 0;
        for waiter in taken.waiters.drain(..) {
            waiter.wake();
        }
    }
}

/// The taken lines with secrets masked, and a warning when some were dropped.
fn redacted(taken: &Pending) -> LogBatch {
    let redactor = super::secrets().redactor();
    let mut out = LogBatch::default();
    out.open_line().reserve(taken.lines.bytes());
    for line in taken.lines.lines() {
        redactor.redact_into(line, out.open_line());
        out.end_line();
    }
    if taken.dropped > 0 {
        super::format::with_line(
            Level::Warn,
            format_args!(
                "{} log line(s) dropped: lines came faster than they could be written",
                taken.dropped
            ),
            |line| out.push(line),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_redacted_line_by_line_and_report_drops() {
        let mut taken = Pending::default();
        taken.lines.push("key sk-abcdefghijklmnopqrstuvwxyz");
        taken.lines.push("two\nlines");
        taken.dropped = 4;
        let batch = redacted(&taken);
        let lines: Vec<&str> = batch.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "key sk-abc…wxyz");
        assert_eq!(lines[1], "two\nlines");
        assert!(lines[2].ends_with(
            "[WARN] 4 log line(s) dropped: lines came faster than they could be written"
        ));
    }
}
