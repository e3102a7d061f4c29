//! One log line, formatted on the thread that logs it into a buffer that thread keeps:
//! `[2025-01-31 12:00:00] [INFO] message`. The timestamp is formatted once a second per thread.

use std::cell::RefCell;
use std::fmt::{self, Write as _};

use log::Level;

/// A line buffer grown past this by one long message is given back after it.
const KEEP_BYTES: usize = 16 << 10;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[derive(Default)]
struct Scratch {
    line: String,
    /// The Unix second `stamp` shows.
    second: i64,
    stamp: String,
}

impl Scratch {
    fn write(&mut self, level: Level, args: fmt::Arguments<'_>) {
        let now = chrono::Utc::now();
        if now.timestamp() != self.second || self.stamp.is_empty() {
            self.second = now.timestamp();
            self.stamp.clear();
            let _ = write!(self.stamp, "{}", now.format("%Y-%m-%d %H:%M:%S"));
        }
        self.line.clear();
        self.line.push('[');
        self.line.push_str(&self.stamp);
        self.line.push_str("] [");
        self.line.push_str(level_name(level));
        self.line.push_str("] ");
        let _ = self.line.write_fmt(args);
    }
}

pub(super) fn level_name(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
        Level::Trace => "TRACE",
    }
}

/// Formats one line and hands it to `take`, which must copy what it keeps.
pub(super) fn with_line(level: Level, args: fmt::Arguments<'_>, mut take: impl FnMut(&str)) {
    let reused = SCRATCH.try_with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            scratch.write(level, args);
            take(&scratch.line);
            scratch.line.shrink_to(KEEP_BYTES);
            true
        }
        // A value being formatted logs itself: its line gets a buffer of its own.
        Err(_) => false,
    });
    if !matches!(reused, Ok(true)) {
        let mut scratch = Scratch::default();
        scratch.write(level, args);
        take(&scratch.line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(level: Level, args: fmt::Arguments<'_>) -> String {
        let mut out = String::new();
        with_line(level, args, |l| out = l.to_string());
        out
    }

    #[test]
    fn lines_carry_a_second_stamp_and_the_level() {
        let out = line(Level::Warn, format_args!("disk {}", "full"));
        let (stamp, rest) = out.split_at(21);
        assert!(stamp.starts_with("[20") && stamp.ends_with(']'), "{out}");
        assert_eq!(rest, " [WARN] disk full");
    }

    #[test]
    fn a_message_that_logs_while_formatting_gets_its_own_buffer() {
        struct Nested;
        impl fmt::Display for Nested {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let inner = line(Level::Debug, format_args!("inner"));
                f.write_str(inner.get(22..).unwrap_or_default())
            }
        }
        let out = line(Level::Info, format_args!("outer {}", Nested));
        assert!(out.ends_with("[INFO] outer [DEBUG] inner"), "{out}");
    }
}
