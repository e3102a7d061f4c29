//! Anti-truncation (`流式抗截断/` models): the model is told to end complete answers with a marker; a
//! stream that ends without it is continued by a further request that replays the answer so far.
//!
//! This module is the pure part. A driver runs the attempts and, per attempt, feeds every unwrapped
//! event through a [`MarkerFilter`] before forwarding it, so the client never sees the marker and
//! sees each attempt live, once. When an attempt ends, [`MarkerFilter::flush`] releases text held
//! back as a possible marker start ([`held_text_event`] wraps it as an event), and
//! [`needs_continuation`] decides whether to send [`continuation_request`]. On routes that forward
//! Gemini events as-is, the driver calls [`strip_finish_reason`] on an attempt's finishing event
//! when another attempt will follow, so the client sees exactly one finish reason; the OpenAI
//! stream converter already emits its finish reason only once, at the very end.

use serde_json::{json, Map, Value};

use crate::convert::gemini::finish::is_content_filter_reason;

pub const DONE_MARKER: &str = "[done]";

const DONE_INSTRUCTION: &str = "\
When your answer is complete, write the marker [done] alone on its last line. Only this marker \
tells that the answer is finished: an answer without it is treated as cut off and you will be \
asked to continue it. Do not write the marker anywhere else, and do not add it to a turn that \
only calls a tool.
回答完整结束时，请在最后单独一行写出标记 [done]。只有这个标记表示回答已经完成：没有该标记的回答会被视为\
被截断，并会要求你继续输出。不要在其他位置写出该标记，只调用工具的回合也不要添加它。";

const CONTINUE_INSTRUCTION: &str = "\
Your previous answer was cut off. Continue exactly where it stopped: do not repeat anything \
already written and do not add any preamble. When the answer is complete, write [done] alone on \
its last line.
你上一次的回答被截断了。请从中断处精确地继续：不要重复已经输出的任何内容，也不要添加开场白。回答完整\
结束时，在最后单独一行写出 [done]。";

/// Adds the marker instruction to the Gemini request body (the `request` member of the Code Assist
/// envelope), unless a system part already talks about the marker.
pub fn prepare_request(request: &mut Value) {
    let Some(body) = request.as_object_mut() else {
        return;
    };
    // Gemini accepts both spellings; adding a second instruction object would make the request ambiguous.
    let key = if !body.contains_key("systemInstruction") && body.contains_key("system_instruction")
    {
        "system_instruction"
    } else {
        "systemInstruction"
    };
    let instruction = body.entry(key).or_insert_with(|| json!({"parts": []}));
    if !instruction.is_object() {
        *instruction = json!({"parts": []});
    }
    let Some(instruction) = instruction.as_object_mut() else {
        return;
    };
    let parts = instruction.entry("parts").or_insert_with(|| json!([]));
    if !parts.is_array() {
        *parts = json!([]);
    }
    let Some(parts) = parts.as_array_mut() else {
        return;
    };
    let mentions_marker = parts.iter().any(|part| {
        part.get("text")
            .and_then(Value::as_str)
            .is_some_and(|text| text.to_ascii_lowercase().contains(DONE_MARKER))
    });
    if !mentions_marker {
        parts.push(json!({"text": DONE_INSTRUCTION}));
    }
}

/// Where a part stands for marker filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartRole {
    Thought,
    VisibleText,
    Other,
}

fn part_role(part: &Value) -> PartRole {
    if part.get("thought").and_then(Value::as_bool) == Some(true) {
        PartRole::Thought
    } else if part.get("text").is_some_and(Value::is_string) {
        PartRole::VisibleText
    } else {
        PartRole::Other
    }
}

/// Removes the done marker from the visible text of one attempt's events and records how the
/// attempt ended. Only the first candidate is examined: anti-truncation answers have one.
#[derive(Debug, Default)]
pub struct MarkerFilter {
    /// Tail of the last released text that may be the start of a marker (with the whitespace before it).
    held: String,
    /// Whitespace after a removed marker belongs to it, even when it arrives in a later event.
    strip_leading_whitespace: bool,
    marker_seen: bool,
    accumulated: String,
    tool_call: bool,
    finish_reason: Option<String>,
    prompt_blocked: bool,
}

impl MarkerFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Filters one unwrapped Gemini event in place; returns true when a marker completed in it.
    pub fn filter(&mut self, event: &mut Value) -> bool {
        if event
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
            .is_some_and(|reason| !reason.is_empty())
        {
            self.prompt_blocked = true;
        }
        let Some(candidate) = event
            .pointer_mut("/candidates/0")
            .and_then(Value::as_object_mut)
        else {
            return false;
        };
        let final_event = match candidate.get("finishReason").and_then(Value::as_str) {
            Some(reason) => {
                self.finish_reason = Some(reason.to_owned());
                true
            }
            None => false,
        };
        let seen_before = self.marker_seen;
        let parts = match candidate.get_mut("content").and_then(Value::as_object_mut) {
            Some(content) => content
                .get_mut("parts")
                .and_then(Value::as_array_mut)
                .map(std::mem::take)
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let filtered = self.filter_parts(parts, final_event);
        if !filtered.is_empty() {
            let content = candidate
                .entry("content")
                .or_insert_with(|| json!({"role": "model"}));
            if let Some(content) = content.as_object_mut() {
                content.insert("parts".into(), Value::Array(filtered));
            }
        } else if let Some(content) = candidate.get_mut("content").and_then(Value::as_object_mut) {
            if content.contains_key("parts") {
                content.insert("parts".into(), json!([]));
            }
        }
        self.marker_seen && !seen_before
    }

    fn filter_parts(&mut self, parts: Vec<Value>, final_event: bool) -> Vec<Value> {
        let roles: Vec<PartRole> = parts.iter().map(part_role).collect();
        let mut out = Vec::with_capacity(parts.len() + 1);
        for (position, mut part) in parts.into_iter().enumerate() {
            let role = roles.get(position).copied().unwrap_or(PartRole::Other);
            match role {
                PartRole::Thought => out.push(part),
                PartRole::Other => {
                    if part.get("functionCall").is_some() {
                        self.tool_call = true;
                    }
                    // Nothing can complete a marker across a non-text part: release what was held.
                    self.release_held_into(&mut out);
                    out.push(part);
                }
                PartRole::VisibleText => {
                    let next_visible = roles
                        .iter()
                        .skip(position + 1)
                        .find(|role| **role != PartRole::Thought);
                    let may_hold = match next_visible {
                        Some(PartRole::VisibleText) => true,
                        Some(_) => false,
                        None => !final_event,
                    };
                    let incoming = part.get("text").and_then(Value::as_str).unwrap_or_default();
                    let visible = self.process_text(incoming, may_hold);
                    if visible.is_empty() && is_bare_text_part(&part) {
                        continue;
                    }
                    if let Some(obj) = part.as_object_mut() {
                        obj.insert("text".into(), Value::String(visible));
                    }
                    out.push(part);
                }
            }
        }
        if final_event {
            self.release_held_into(&mut out);
        }
        out
    }

    fn release_held_into(&mut self, out: &mut Vec<Value>) {
        if !self.held.is_empty() {
            let text = std::mem::take(&mut self.held);
            self.accumulated.push_str(&text);
            out.push(json!({"text": text}));
        }
    }

    /// Returns the text to show now; keeps back a possible marker start when `may_hold`.
    fn process_text(&mut self, incoming: &str, may_hold: bool) -> String {
        let mut text = std::mem::take(&mut self.held);
        text.push_str(incoming);
        if self.strip_leading_whitespace {
            text = text.trim_start().to_owned();
            self.strip_leading_whitespace = text.is_empty();
        }
        while let Some((start, end)) = find_marker(&text) {
            self.marker_seen = true;
            let before = text.get(..start).unwrap_or_default();
            let after = text.get(end..).unwrap_or_default().trim_start();
            let kept_before = before.trim_end();
            text = if after.is_empty() {
                self.strip_leading_whitespace = true;
                kept_before.to_owned()
            } else if kept_before.is_empty() {
                after.to_owned()
            } else {
                // A marker inside the text: keep the original spacing on its left.
                format!("{before}{after}")
            };
        }
        if may_hold {
            let keep = held_tail_start(&text);
            self.held = text.get(keep..).unwrap_or_default().to_owned();
            text.truncate(keep);
        }
        self.accumulated.push_str(&text);
        text
    }

    /// Text still held back when the attempt's stream ended; the driver forwards it (see
    /// [`held_text_event`]) before the next attempt or the end of the response.
    pub fn flush(&mut self) -> Option<String> {
        if self.held.is_empty() {
            return None;
        }
        let text = std::mem::take(&mut self.held);
        self.accumulated.push_str(&text);
        Some(text)
    }

    /// The visible text released so far in this attempt, marker removed.
    pub fn accumulated(&self) -> &str {
        &self.accumulated
    }

    pub fn marker_seen(&self) -> bool {
        self.marker_seen
    }

    /// Whether the attempt produced a function call: such a turn is complete without the marker.
    pub fn ended_with_tool_call(&self) -> bool {
        self.tool_call
    }

    /// The Gemini `finishReason` of the attempt, when one arrived.
    pub fn finish_reason(&self) -> Option<&str> {
        self.finish_reason.as_deref()
    }
}

fn is_bare_text_part(part: &Value) -> bool {
    part.as_object()
        .is_some_and(|obj| obj.keys().all(|key| key == "text"))
}

/// Byte range of the first marker, case-insensitively.
fn find_marker(text: &str) -> Option<(usize, usize)> {
    // ASCII lower-casing keeps byte offsets, so positions found in the copy are valid in `text`.
    let start = text.to_ascii_lowercase().find(DONE_MARKER)?;
    Some((start, start + DONE_MARKER.len()))
}

/// Start of the tail that could still become a marker: whitespace, optionally followed by a proper
/// prefix of the marker, at the very end of `text`.
fn held_tail_start(text: &str) -> usize {
    let lower = text.to_ascii_lowercase();
    let prefix_len = (1..DONE_MARKER.len())
        .rev()
        .find(|&len| {
            DONE_MARKER
                .get(..len)
                .is_some_and(|prefix| lower.ends_with(prefix))
        })
        .unwrap_or(0);
    let before = text.get(..text.len() - prefix_len).unwrap_or_default();
    before.trim_end().len()
}

/// Wraps text released by [`MarkerFilter::flush`] as a Gemini stream event.
pub fn held_text_event(text: &str) -> Value {
    json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}]})
}

/// Whether the attempt that `filter` watched ended unfinished and is worth continuing.
pub fn needs_continuation(filter: &MarkerFilter) -> bool {
    let filtered = filter.finish_reason().is_some_and(is_content_filter_reason);
    !(filter.marker_seen() || filter.ended_with_tool_call() || filter.prompt_blocked || filtered)
}

/// The request for the next attempt: `base_request` (the request prepared for the first attempt)
/// plus `answer_so_far` (the visible text of every attempt so far, concatenated) as a model turn,
/// and a user turn asking to go on from where it stopped.
pub fn continuation_request(base_request: &Value, answer_so_far: &str) -> Value {
    let mut request = base_request.clone();
    if !request.is_object() {
        request = Value::Object(Map::new());
    }
    if let Some(body) = request.as_object_mut() {
        let contents = body.entry("contents").or_insert_with(|| json!([]));
        if !contents.is_array() {
            *contents = json!([]);
        }
        if let Some(contents) = contents.as_array_mut() {
            if !answer_so_far.is_empty() {
                contents.push(json!({"role": "model", "parts": [{"text": answer_so_far}]}));
            }
            contents.push(json!({"role": "user", "parts": [{"text": CONTINUE_INSTRUCTION}]}));
        }
    }
    request
}

/// Whether any candidate of the event carries a finish reason (the last event of an attempt).
pub fn has_finish_reason(event: &Value) -> bool {
    event
        .get("candidates")
        .and_then(Value::as_array)
        .is_some_and(|candidates| {
            candidates
                .iter()
                .any(|candidate| candidate.get("finishReason").is_some())
        })
}

/// Removes the finish reason from an event of an attempt that will be continued.
pub fn strip_finish_reason(event: &mut Value) {
    if let Some(candidates) = event.get_mut("candidates").and_then(Value::as_array_mut) {
        for candidate in candidates.iter_mut().filter_map(Value::as_object_mut) {
            candidate.remove("finishReason");
            candidate.remove("finishMessage");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(parts: Value) -> Value {
        json!({"candidates": [{"content": {"role": "model", "parts": parts}, "index": 0}]})
    }

    fn final_event(parts: Value, reason: &str) -> Value {
        json!({"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": reason, "index": 0}]})
    }

    fn visible_texts(events: &[Value]) -> String {
        events
            .iter()
            .flat_map(|e| {
                e["candidates"][0]["content"]["parts"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|p| p.get("thought").is_none())
            .filter_map(|p| p["text"].as_str().map(str::to_owned))
            .collect()
    }

    #[test]
    fn prepare_request_creates_system_instruction_once() {
        let mut request = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
        prepare_request(&mut request);
        assert_eq!(
            request["systemInstruction"],
            json!({"parts": [{"text": DONE_INSTRUCTION}]})
        );
        let once = request.clone();
        prepare_request(&mut request);
        assert_eq!(request, once);
    }

    #[test]
    fn prepare_request_appends_to_existing_parts_unless_marker_mentioned() {
        let mut request =
            json!({"systemInstruction": {"parts": [{"text": "Be brief."}]}, "contents": []});
        prepare_request(&mut request);
        assert_eq!(
            request["systemInstruction"]["parts"],
            json!([{"text": "Be brief."}, {"text": DONE_INSTRUCTION}])
        );
        let mut mentioned = json!({"systemInstruction": {"parts": [{"text": "End with [DONE]."}]}});
        let before = mentioned.clone();
        prepare_request(&mut mentioned);
        assert_eq!(mentioned, before);
    }

    #[test]
    fn instruction_is_bilingual_and_names_the_marker() {
        assert!(DONE_INSTRUCTION.contains("[done]"));
        assert!(DONE_INSTRUCTION.contains("alone on its last line"));
        assert!(DONE_INSTRUCTION.contains("标记 [done]"));
    }

    #[test]
    fn whole_marker_is_removed_with_surrounding_whitespace() {
        let mut filter = MarkerFilter::new();
        let mut ev = final_event(json!([{"text": "The answer is 4.\n[done]\n"}]), "STOP");
        assert!(filter.filter(&mut ev));
        assert_eq!(
            ev,
            final_event(json!([{"text": "The answer is 4."}]), "STOP")
        );
        assert_eq!(filter.accumulated(), "The answer is 4.");
        assert!(!needs_continuation(&filter));
    }

    #[test]
    fn marker_split_across_events_is_removed() {
        let mut filter = MarkerFilter::new();
        let mut first = event(json!([{"text": "Done here.\n[do"}]));
        assert!(!filter.filter(&mut first));
        assert_eq!(first, event(json!([{"text": "Done here."}])));
        let mut second = final_event(json!([{"text": "ne]"}]), "STOP");
        assert!(filter.filter(&mut second));
        assert_eq!(second, final_event(json!([]), "STOP"));
        assert_eq!(filter.accumulated(), "Done here.");
        assert_eq!(filter.flush(), None);
        assert!(!needs_continuation(&filter));
    }

    #[test]
    fn upper_case_marker_split_across_events_is_removed() {
        let mut filter = MarkerFilter::new();
        let mut events = vec![
            event(json!([{"text": "Result: ok"}])),
            event(json!([{"text": " [DO"}])),
            event(json!([{"text": "NE]"}])),
            final_event(json!([{"text": "\n"}]), "STOP"),
        ];
        let found: Vec<bool> = events.iter_mut().map(|e| filter.filter(e)).collect();
        assert_eq!(found, vec![false, false, true, false]);
        assert_eq!(visible_texts(&events), "Result: ok");
        assert!(filter.marker_seen());
    }

    #[test]
    fn false_alarm_is_released_intact() {
        let mut filter = MarkerFilter::new();
        let mut first = event(json!([{"text": "Look at the [do"}]));
        filter.filter(&mut first);
        assert_eq!(first, event(json!([{"text": "Look at the"}])));
        let mut second = event(json!([{"text": "g] there"}]));
        assert!(!filter.filter(&mut second));
        assert_eq!(second, event(json!([{"text": " [dog] there"}])));
        assert_eq!(filter.accumulated(), "Look at the [dog] there");
        assert!(needs_continuation(&filter));
    }

    #[test]
    fn held_text_is_released_on_final_event_and_by_flush() {
        let mut filter = MarkerFilter::new();
        let mut first = event(json!([{"text": "cut [d"}]));
        filter.filter(&mut first);
        let mut last = json!({"candidates": [{"finishReason": "MAX_TOKENS", "index": 0}]});
        filter.filter(&mut last);
        assert_eq!(
            last,
            json!({"candidates": [{"finishReason": "MAX_TOKENS", "index": 0,
                                   "content": {"role": "model", "parts": [{"text": " [d"}]}}]})
        );
        assert_eq!(filter.accumulated(), "cut [d");

        let mut unfinished = MarkerFilter::new();
        unfinished.filter(&mut event(json!([{"text": "abc\n"}])));
        assert_eq!(unfinished.flush().as_deref(), Some("\n"));
        assert_eq!(unfinished.flush(), None);
        assert_eq!(unfinished.accumulated(), "abc\n");
    }

    #[test]
    fn held_text_goes_before_a_following_function_call() {
        let mut filter = MarkerFilter::new();
        let call = json!({"functionCall": {"name": "f", "args": {}}});
        let mut ev = event(json!([{"text": "Calling [do"}, call.clone()]));
        filter.filter(&mut ev);
        assert_eq!(ev, event(json!([{"text": "Calling [do"}, call])));
        assert!(filter.ended_with_tool_call());
        assert!(!needs_continuation(&filter));
    }

    #[test]
    fn marker_in_thought_text_is_not_counted_or_removed() {
        let mut filter = MarkerFilter::new();
        let thought = json!({"text": "I must end with [done]", "thought": true});
        let mut ev = final_event(
            json!([thought.clone(), {"text": "Partial answer"}]),
            "MAX_TOKENS",
        );
        assert!(!filter.filter(&mut ev));
        assert_eq!(
            ev,
            final_event(json!([thought, {"text": "Partial answer"}]), "MAX_TOKENS")
        );
        assert_eq!(filter.accumulated(), "Partial answer");
        assert!(needs_continuation(&filter));
    }

    #[test]
    fn marker_inside_text_keeps_left_spacing() {
        let mut filter = MarkerFilter::new();
        let mut ev = final_event(json!([{"text": "a [done] b"}]), "STOP");
        assert!(filter.filter(&mut ev));
        assert_eq!(
            ev["candidates"][0]["content"]["parts"],
            json!([{"text": "a b"}])
        );
    }

    #[test]
    fn signed_text_part_survives_even_when_emptied() {
        let mut filter = MarkerFilter::new();
        let mut ev = final_event(
            json!([{"text": "[done]", "thoughtSignature": "c2ln"}]),
            "STOP",
        );
        assert!(filter.filter(&mut ev));
        assert_eq!(
            ev["candidates"][0]["content"]["parts"],
            json!([{"text": "", "thoughtSignature": "c2ln"}])
        );
    }

    #[test]
    fn continuation_decisions() {
        let run = |events: Vec<Value>| {
            let mut filter = MarkerFilter::new();
            for mut e in events {
                filter.filter(&mut e);
            }
            needs_continuation(&filter)
        };
        assert!(run(vec![final_event(
            json!([{"text": "half"}]),
            "MAX_TOKENS"
        )]));
        assert!(run(vec![event(json!([{"text": "stream dropped"}]))]));
        assert!(run(vec![final_event(
            json!([{"text": "no marker"}]),
            "STOP"
        )]));
        assert!(!run(vec![final_event(
            json!([{"text": "ok [done]"}]),
            "STOP"
        )]));
        assert!(!run(vec![final_event(json!([{"text": "x"}]), "SAFETY")]));
        assert!(!run(vec![final_event(
            json!([{"text": "x"}]),
            "RECITATION"
        )]));
        assert!(!run(vec![
            json!({"promptFeedback": {"blockReason": "BLOCKLIST"}})
        ]));
        assert!(!run(vec![final_event(
            json!([{"functionCall": {"name": "f", "args": {}}}]),
            "STOP"
        )]));
    }

    #[test]
    fn continuation_request_replays_answer_and_asks_to_go_on() {
        let base = json!({"contents": [{"role": "user", "parts": [{"text": "Write a story"}]}],
                          "generationConfig": {"temperature": 1}});
        assert_eq!(
            continuation_request(&base, "Once upon a"),
            json!({
                "contents": [
                    {"role": "user", "parts": [{"text": "Write a story"}]},
                    {"role": "model", "parts": [{"text": "Once upon a"}]},
                    {"role": "user", "parts": [{"text": CONTINUE_INSTRUCTION}]}
                ],
                "generationConfig": {"temperature": 1}
            })
        );
        assert!(CONTINUE_INSTRUCTION.contains("[done]"));
        assert_eq!(
            continuation_request(&base, "")["contents"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn finish_reason_can_be_stripped_for_non_final_attempts() {
        let mut ev = final_event(json!([{"text": "x"}]), "MAX_TOKENS");
        assert!(has_finish_reason(&ev));
        strip_finish_reason(&mut ev);
        assert!(!has_finish_reason(&ev));
        assert_eq!(ev, event(json!([{"text": "x"}])));
    }

    #[test]
    fn records_finish_reason_and_held_text_event_shape() {
        let mut filter = MarkerFilter::new();
        filter.filter(&mut final_event(json!([{"text": "x"}]), "SAFETY"));
        assert_eq!(filter.finish_reason(), Some("SAFETY"));
        assert_eq!(
            held_text_event(" [do"),
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": " [do"}]}, "index": 0}]})
        );
    }
}
