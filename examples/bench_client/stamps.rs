//! Reads the fake's send stamps (`sent at <20 digits>`) out of an SSE body, event by event.

use std::time::{SystemTime, UNIX_EPOCH};

const STAMP_PREFIX: &[u8] = b"sent at ";
const STAMP_DIGITS: usize = 20;
const EVENT_END: &[u8] = b"\n\n";

/// Nanoseconds since the Unix epoch, the fake's clock (same machine, same realtime clock).
pub fn wall_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Splits reads into SSE events; an event may span reads.
#[derive(Default)]
pub struct EventSplitter {
    pending: Vec<u8>,
}

impl EventSplitter {
    /// The stamps of every event completed by this read, one list per event.
    pub fn push(&mut self, read: &[u8]) -> Vec<Vec<u128>> {
        self.pending.extend_from_slice(read);
        let mut events = Vec::new();
        let mut consumed = 0;
        while let Some(pos) = find(self.pending.get(consumed..).unwrap_or_default(), EVENT_END) {
            let event = self
                .pending
                .get(consumed..consumed + pos)
                .unwrap_or_default();
            events.push(stamps_in(event));
            consumed += pos + EVENT_END.len();
        }
        self.pending.drain(..consumed);
        events
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn stamps_in(event: &[u8]) -> Vec<u128> {
    let mut stamps = Vec::new();
    let mut rest = event;
    while let Some(pos) = find(rest, STAMP_PREFIX) {
        let digits_at = pos + STAMP_PREFIX.len();
        let digits = rest.get(digits_at..digits_at + STAMP_DIGITS);
        if let Some(stamp) = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| d.parse::<u128>().ok())
        {
            stamps.push(stamp);
        }
        rest = rest.get(digits_at..).unwrap_or_default();
    }
    stamps
}
