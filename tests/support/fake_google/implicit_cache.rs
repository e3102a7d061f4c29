//! Gemini's implicit context cache, modelled for tests of session affinity: Google caches the prompt
//! prefix of each request per account and project, and a later request of the *same* project that
//! repeats it is partly served from the cache (`usageMetadata.cachedContentTokenCount`).
//!
//! Model: a request's cacheable prefix is its `systemInstruction` and all its contents but the last;
//! the cached count is the words of the longest leading run of contents (with an equal system
//! instruction) shared with an earlier request of the same project. Off unless enabled, so the usage
//! other tests see stays exact.

use std::collections::{HashMap, VecDeque};

use serde_json::Value;

/// Earlier requests remembered per project (the oldest are forgotten first).
const REMEMBERED_PER_PROJECT: usize = 64;

#[derive(Default)]
pub(crate) struct ImplicitCache {
    seen: HashMap<String, VecDeque<Prompt>>,
}

struct Prompt {
    system: Option<Value>,
    contents: Vec<Value>,
}

impl ImplicitCache {
    /// Words of `body`'s prompt served from this project's cache; remembers the prompt.
    pub(crate) fn observe(&mut self, project: &str, body: &Value) -> u64 {
        let request = body.get("request").unwrap_or(body);
        let prompt = Prompt {
            system: request.get("systemInstruction").cloned(),
            contents: request
                .get("contents")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        };
        let seen = self.seen.entry(project.to_owned()).or_default();
        let cacheable = prompt.contents.len().saturating_sub(1);
        let shared = seen
            .iter()
            .filter(|earlier| earlier.system == prompt.system)
            .map(|earlier| {
                earlier
                    .contents
                    .iter()
                    .zip(&prompt.contents)
                    .take(cacheable)
                    .take_while(|(a, b)| a == b)
                    .count()
            })
            .max();
        let cached = match shared {
            Some(n) if n > 0 => {
                let system = prompt.system.as_ref().map_or(0, words_of);
                system + prompt.contents.iter().take(n).map(words_of).sum::<u64>()
            }
            _ => 0,
        };
        if seen.len() == REMEMBERED_PER_PROJECT {
            seen.pop_front();
        }
        seen.push_back(prompt);
        cached
    }
}

/// Words of every text part of a content (or system instruction).
fn words_of(content: &Value) -> u64 {
    let Some(parts) = content.get("parts").and_then(Value::as_array) else {
        return 0;
    };
    parts
        .iter()
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .map(|text| u64::try_from(text.split_whitespace().count()).unwrap_or(u64::MAX))
        .sum()
}
