//! Server-sent events reader for streamed upstream answers.
//!
//! Works on raw bytes so reads may split anywhere (inside a UTF-8 sequence, between `\r` and
//! `\n`); lines are decoded only once complete. Follows the WHATWG event-stream rules for lines,
//! fields and dispatch, except that a final event without its blank line is still delivered by
//! [`SseParser::finish`], because an upstream that closes right after its last `data:` line has
//! still sent that data.

use std::{collections::VecDeque, fmt::Display};

use futures_util::{Stream, StreamExt as _};

/// Largest event (data + event name + the line being read) accepted before the stream is
/// treated as broken; bounds memory per stream.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field; `None` for the default ("message") type.
    pub event: Option<String>,
    /// `data:` lines joined with `\n`.
    pub data: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SseError {
    #[error("stream event larger than {limit} bytes")]
    EventTooLarge { limit: usize },
    #[error("reading the stream body failed: {0}")]
    Body(String),
}

#[derive(Debug)]
pub struct SseParser {
    limit: usize,
    /// Bytes of the line not yet terminated.
    line: Vec<u8>,
    /// The previous read ended in `\r`; a `\n` starting the next read belongs to it.
    pending_cr: bool,
    at_stream_start: bool,
    data: Option<String>,
    event: Option<String>,
    event_bytes: usize,
    failed: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    pub fn new() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }

    pub fn with_limit(limit: usize) -> Self {
        Self {
            limit,
            line: Vec::new(),
            pending_cr: false,
            at_stream_start: true,
            data: None,
            event: None,
            event_bytes: 0,
            failed: false,
        }
    }

    /// Feeds one read; returns the events it completed. After an error the parser stays failed.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        if self.failed {
            return Err(self.too_large());
        }
        let mut events = Vec::new();
        let mut rest = bytes;
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if let Some((b'\n', tail)) = rest.split_first() {
                rest = tail;
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, tail) = rest.split_at(pos);
            self.line.extend_from_slice(head);
            self.check_size()?;
            rest = match tail.split_first() {
                Some((b'\r', after)) => match after.split_first() {
                    Some((b'\n', after_lf)) => after_lf,
                    Some(_) => after,
                    None => {
                        self.pending_cr = true;
                        after
                    }
                },
                Some((_, after)) => after,
                None => tail,
            };
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.take_line(&line) {
                events.push(event);
            }
            // Reuse the allocation for the next line.
            self.line = line;
            self.line.clear();
        }
        self.line.extend_from_slice(rest);
        self.check_size()?;
        Ok(events)
    }

    /// Ends the stream: an unterminated last line is taken as complete and a pending event is
    /// delivered even without its blank line.
    pub fn finish(&mut self) -> Option<SseEvent> {
        if self.failed {
            return None;
        }
        let line = std::mem::take(&mut self.line);
        if !line.is_empty() {
            if let Some(event) = self.take_line(&line) {
                return Some(event);
            }
        }
        self.pending_cr = false;
        self.dispatch()
    }

    fn too_large(&self) -> SseError {
        SseError::EventTooLarge { limit: self.limit }
    }

    fn check_size(&mut self) -> Result<(), SseError> {
        if self.event_bytes.saturating_add(self.line.len()) > self.limit {
            self.failed = true;
            self.line = Vec::new();
            self.data = None;
            return Err(self.too_large());
        }
        Ok(())
    }

    fn take_line(&mut self, raw: &[u8]) -> Option<SseEvent> {
        let mut raw = raw;
        if self.at_stream_start {
            self.at_stream_start = false;
            raw = raw.strip_prefix(BOM).unwrap_or(raw);
        }
        if raw.is_empty() {
            return self.dispatch();
        }
        let line = String::from_utf8_lossy(raw);
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        match field {
            "data" => {
                self.event_bytes += value.len() + 1;
                match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                }
            }
            "event" => {
                self.event_bytes += value.len();
                self.event = (!value.is_empty()).then(|| value.to_owned());
            }
            // `id`, `retry` and unknown fields carry nothing the gateway uses.
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        self.event_bytes = 0;
        let event = self.event.take();
        // An event without any `data:` line is not dispatched (WHATWG rule).
        self.data.take().map(|data| SseEvent { event, data })
    }
}

/// Turns a body stream into events. The stream ends after the first error.
pub fn sse_events<S, B, E>(stream: S) -> impl Stream<Item = Result<SseEvent, SseError>>
where
    S: Stream<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: Display,
{
    struct State<S> {
        body: std::pin::Pin<Box<S>>,
        parser: SseParser,
        ready: VecDeque<SseEvent>,
        done: bool,
    }

    let state = State {
        body: Box::pin(stream),
        parser: SseParser::new(),
        ready: VecDeque::new(),
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(event) = st.ready.pop_front() {
                return Some((Ok(event), st));
            }
            if st.done {
                return None;
            }
            match st.body.next().await {
                Some(Ok(bytes)) => match st.parser.push(bytes.as_ref()) {
                    Ok(events) => st.ready.extend(events),
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                },
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(SseError::Body(e.to_string())), st));
                }
                None => {
                    st.done = true;
                    st.ready.extend(st.parser.finish());
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.to_owned(),
        }
    }

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.push(c).unwrap());
        }
        out.extend(p.finish());
        out
    }

    /// Every split point of `input` into two and three reads gives the same events.
    fn assert_split_invariant(input: &[u8], expected: &[SseEvent]) {
        assert_eq!(parse_all(&[input]), expected, "whole input");
        for i in 0..=input.len() {
            let (a, b) = input.split_at(i);
            assert_eq!(parse_all(&[a, b]), expected, "split at {i}");
            for j in i..=input.len() {
                let (b1, b2) = input[i..].split_at(j - i);
                assert_eq!(parse_all(&[a, b1, b2]), expected, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn single_event_with_and_without_space_after_colon() {
        assert_eq!(parse_all(&[b"data: {\"a\":1}\n\n"]), vec![ev("{\"a\":1}")]);
        assert_eq!(parse_all(&[b"data:{\"a\":1}\n\n"]), vec![ev("{\"a\":1}")]);
        // Only one leading space is removed.
        assert_eq!(parse_all(&[b"data:  x\n\n"]), vec![ev(" x")]);
    }

    #[test]
    fn multi_line_data_is_joined_with_newline() {
        assert_eq!(
            parse_all(&[b"data: one\ndata: two\ndata:\ndata: four\n\n"]),
            vec![ev("one\ntwo\n\nfour")]
        );
    }

    #[test]
    fn all_line_endings() {
        let expected = vec![ev("a"), ev("b\nc")];
        assert_eq!(parse_all(&[b"data: a\n\ndata: b\ndata: c\n\n"]), expected);
        assert_eq!(
            parse_all(&[b"data: a\r\n\r\ndata: b\r\ndata: c\r\n\r\n"]),
            expected
        );
        assert_eq!(parse_all(&[b"data: a\r\rdata: b\rdata: c\r\r"]), expected);
        assert_eq!(
            parse_all(&[b"data: a\r\n\ndata: b\rdata: c\n\r\n"]),
            expected
        );
    }

    #[test]
    fn split_anywhere_including_crlf_and_utf8() {
        let input = "event: delta\r\ndata: h\u{e9}llo \u{1F600}\r\n\r\n: keep-alive\r\ndata: z\u{4e2d}\r\n\r\n";
        let expected = vec![
            SseEvent {
                event: Some("delta".to_owned()),
                data: "h\u{e9}llo \u{1F600}".to_owned(),
            },
            ev("z\u{4e2d}"),
        ];
        assert_split_invariant(input.as_bytes(), &expected);
    }

    #[test]
    fn cr_at_end_of_read_then_lf_is_one_line_break() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: a\r").unwrap().is_empty());
        // The `\n` completes the CRLF; only the following CRLF ends the event.
        assert!(p.push(b"\n").unwrap().is_empty());
        assert_eq!(p.push(b"\r\n").unwrap(), vec![ev("a")]);
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn empty_reads_do_not_lose_pending_cr() {
        let mut p = SseParser::new();
        assert!(p.push(b"data: a\r").unwrap().is_empty());
        assert!(p.push(b"").unwrap().is_empty());
        assert!(p.push(b"\n").unwrap().is_empty());
        assert_eq!(p.push(b"\n").unwrap(), vec![ev("a")]);
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        assert_eq!(
            parse_all(&[b": ping\n\n:another\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n"]),
            vec![ev("x")]
        );
    }

    #[test]
    fn event_field_sets_type_and_resets_after_dispatch() {
        assert_eq!(
            parse_all(&[b"event: error\ndata: {}\n\ndata: next\n\n"]),
            vec![
                SseEvent {
                    event: Some("error".to_owned()),
                    data: "{}".to_owned()
                },
                ev("next")
            ]
        );
        // An event type without data is dropped and does not leak into the next event.
        assert_eq!(parse_all(&[b"event: lonely\n\ndata: d\n\n"]), vec![ev("d")]);
    }

    #[test]
    fn field_without_colon_is_name_with_empty_value() {
        assert_eq!(parse_all(&[b"data\n\n"]), vec![ev("")]);
    }

    #[test]
    fn final_event_without_blank_line_comes_from_finish() {
        let mut p = SseParser::new();
        assert_eq!(p.push(b"data: a\n\ndata: last").unwrap(), vec![ev("a")]);
        assert_eq!(p.finish(), Some(ev("last")));

        let mut p = SseParser::new();
        assert!(p.push(b"data: x\ndata: y\n").unwrap().is_empty());
        assert_eq!(p.finish(), Some(ev("x\ny")));
    }

    #[test]
    fn finish_with_nothing_pending_is_none() {
        let mut p = SseParser::new();
        assert_eq!(
            p.push(b"data: a\n\n: trailing comment").unwrap(),
            vec![ev("a")]
        );
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn leading_bom_is_stripped_once() {
        assert_eq!(parse_all(&[b"\xEF\xBB", b"\xBFdata: a\n\n"]), vec![ev("a")]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(parse_all(&[b"data: a\xFFb\n\n"]), vec![ev("a\u{FFFD}b")]);
    }

    #[test]
    fn oversized_event_is_an_error_and_parser_stays_failed() {
        let mut p = SseParser::with_limit(64);
        assert!(p.push(b"data: small\n\n").is_ok());
        let line = format!("data: {}\n", "x".repeat(40));
        assert!(p.push(line.as_bytes()).unwrap().is_empty());
        let err = p.push(line.as_bytes()).unwrap_err();
        assert!(matches!(err, SseError::EventTooLarge { limit: 64 }));
        assert!(p.push(b"\n").is_err());
        assert_eq!(p.finish(), None);
    }

    #[test]
    fn oversized_unterminated_line_is_an_error() {
        let mut p = SseParser::with_limit(32);
        assert!(p.push(&[b'a'; 20]).unwrap().is_empty());
        assert!(p.push(&[b'a'; 20]).is_err());
    }

    #[test]
    fn limit_resets_between_events() {
        let mut p = SseParser::with_limit(32);
        for _ in 0..10 {
            assert_eq!(p.push(b"data: 0123456789\n\n").unwrap().len(), 1);
        }
    }

    #[test]
    fn default_limit_is_16_mib() {
        assert_eq!(MAX_EVENT_BYTES, 16 * 1024 * 1024);
        let mut p = SseParser::new();
        let big = vec![b'x'; MAX_EVENT_BYTES];
        assert!(p.push(b"data: ").unwrap().is_empty());
        assert!(p.push(&big).is_err());
    }

    #[actix_rt::test]
    async fn stream_adapter_yields_events_then_final_one() {
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
            Ok(bytes::Bytes::from_static(b"data: a\r")),
            Ok(bytes::Bytes::from_static(b"\n\r\ndata: b\n\nda")),
            Ok(bytes::Bytes::from_static(b"ta: c")),
        ];
        let events: Vec<_> = sse_events(futures_util::stream::iter(chunks))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(events, vec![ev("a"), ev("b"), ev("c")]);
    }

    #[actix_rt::test]
    async fn stream_adapter_stops_after_body_error() {
        let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
            Ok(bytes::Bytes::from_static(b"data: a\n\ndata: partial")),
            Err(std::io::Error::other("connection reset")),
            Ok(bytes::Bytes::from_static(b"\n\ndata: never\n\n")),
        ];
        let items: Vec<_> = sse_events(futures_util::stream::iter(chunks))
            .collect::<Vec<_>>()
            .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap(), &ev("a"));
        match &items[1] {
            Err(SseError::Body(msg)) => assert!(msg.contains("connection reset")),
            other => panic!("expected body error, got {other:?}"),
        }
    }
}
