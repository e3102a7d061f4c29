//! Thinking levels a model accepts, as learned from Google's refusals. Newer Flash models answer 400 to
//! `thinkingLevel: MINIMAL` ("Thinking level MINIMAL is not supported for this model. Supported
//! thinking levels are: LOW, MEDIUM, HIGH."); the gateway then retries with the nearest level the model
//! takes and remembers it, so the next request goes out with that level straight away.

use serde::Serialize;
use serde_json::Value;

/// `thinkingLevel`, in the order the levels think more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ThinkingLevel {
    Minimal,
    Low,
    Medium,
    High,
}

impl ThinkingLevel {
    const ALL: [ThinkingLevel; 4] = [Self::Minimal, Self::Low, Self::Medium, Self::High];

    /// Either spelling Google uses (`minimal`, `MINIMAL`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|level| level.wire().eq_ignore_ascii_case(text.trim()))
    }

    /// As the converters send it.
    pub fn wire(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    fn rank(self) -> usize {
        self as usize
    }
}

/// What a refusal said: the level refused and the levels the message lists as supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub refused: ThinkingLevel,
    pub supported: Vec<ThinkingLevel>,
}

/// The text of Google's error body: `error.message` when it has one, else the body as sent.
fn message_of(body: &Value) -> String {
    match body.pointer("/error/message").and_then(Value::as_str) {
        Some(message) => message.to_string(),
        None => body.to_string(),
    }
}

/// Reads a 400's body as a thinking-level refusal of `sent` (the level the request carried). `None`
/// when the message is about something else.
pub fn refusal(body: &Value, sent: ThinkingLevel) -> Option<Refusal> {
    let message = message_of(body).to_ascii_lowercase();
    let at = message.find("thinking level")?;
    let words = |text: &str| -> Vec<ThinkingLevel> {
        text.split(|c: char| !c.is_ascii_alphabetic())
            .filter_map(ThinkingLevel::parse)
            .collect()
    };
    let after = message
        .get(at + "thinking level".len()..)
        .unwrap_or_default();
    // The refused level is the word right after "thinking level", when it names one.
    let refused = after
        .split(|c: char| !c.is_ascii_alphabetic())
        .find(|w| !w.is_empty())
        .and_then(ThinkingLevel::parse)
        .unwrap_or(sent);
    let supported = message
        .find("supported thinking levels")
        .and_then(|at| message.get(at..))
        .map(|tail| tail.split('.').next().unwrap_or_default())
        .map(words)
        .unwrap_or_default();
    Some(Refusal { refused, supported })
}

/// The level to send instead of `refused`: the nearest in MINIMAL → LOW → MEDIUM → HIGH order among
/// `supported` (a tie goes to the higher level), or, when the message listed none, the next level up
/// (down from HIGH). `None` when nothing else is left.
pub fn nearest(refused: ThinkingLevel, supported: &[ThinkingLevel]) -> Option<ThinkingLevel> {
    let candidates: Vec<ThinkingLevel> = if supported.is_empty() {
        ThinkingLevel::ALL.to_vec()
    } else {
        supported.to_vec()
    };
    candidates
        .into_iter()
        .filter(|level| *level != refused)
        .min_by_key(|level| {
            let distance = level.rank().abs_diff(refused.rank());
            (distance, *level < refused)
        })
}

/// What one model taught: the levels it said it supports, and the substitutes used so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LearnedLevels {
    /// Empty while no refusal listed them.
    pub supported: Vec<ThinkingLevel>,
    /// (refused, sent instead).
    pub substitutes: Vec<(ThinkingLevel, ThinkingLevel)>,
}

impl LearnedLevels {
    /// Notes that `refused` was refused and `accepted` is sent instead.
    pub fn learn(&mut self, refusal: &Refusal, accepted: ThinkingLevel) {
        if !refusal.supported.is_empty() {
            self.supported = refusal.supported.clone();
        }
        self.substitutes
            .retain(|(from, _)| *from != refusal.refused);
        self.substitutes.push((refusal.refused, accepted));
    }

    /// The level to send for `asked`, when it is known to be refused.
    pub fn substitute(&self, asked: ThinkingLevel) -> Option<ThinkingLevel> {
        if let Some((_, to)) = self.substitutes.iter().find(|(from, _)| *from == asked) {
            return Some(*to);
        }
        if self.supported.is_empty() || self.supported.contains(&asked) {
            return None;
        }
        nearest(asked, &self.supported)
    }
}

#[cfg(test)]
mod tests {
    use super::ThinkingLevel::*;
    use super::*;
    use serde_json::json;

    const FAKE: &str = "Thinking level MINIMAL is not supported for this model. Supported thinking levels are: LOW, MEDIUM, HIGH.";

    #[test]
    fn a_refusal_names_the_level_and_the_supported_ones() {
        let body = json!({"error": {"code": 400, "message": FAKE, "status": "INVALID_ARGUMENT"}});
        assert_eq!(
            refusal(&body, Minimal),
            Some(Refusal {
                refused: Minimal,
                supported: vec![Low, Medium, High],
            })
        );
        let vague = json!({"error": {"message": "thinking level is not supported"}});
        assert_eq!(
            refusal(&vague, High),
            Some(Refusal {
                refused: High,
                supported: vec![],
            })
        );
        let other = json!({"error": {"message": "Invalid JSON payload received."}});
        assert_eq!(refusal(&other, Low), None);
    }

    #[test]
    fn nearest_prefers_a_listed_level_and_goes_up_on_a_tie() {
        assert_eq!(nearest(Minimal, &[Low, Medium, High]), Some(Low));
        assert_eq!(nearest(Minimal, &[]), Some(Low));
        assert_eq!(nearest(Medium, &[Low, High]), Some(High));
        assert_eq!(nearest(Medium, &[]), Some(High));
        assert_eq!(nearest(High, &[]), Some(Medium));
        assert_eq!(nearest(High, &[Minimal, Low]), Some(Low));
        assert_eq!(nearest(Low, &[Low]), None);
    }

    #[test]
    fn learned_levels_substitute_refused_ones() {
        let mut learned = LearnedLevels::default();
        let refused = Refusal {
            refused: Minimal,
            supported: vec![Low, Medium, High],
        };
        learned.learn(&refused, Low);
        assert_eq!(learned.substitute(Minimal), Some(Low));
        assert_eq!(learned.substitute(Medium), None);
        let mut only_known = LearnedLevels::default();
        only_known.learn(
            &Refusal {
                refused: High,
                supported: vec![],
            },
            Medium,
        );
        assert_eq!(only_known.substitute(High), Some(Medium));
        assert_eq!(only_known.substitute(Low), None);
        assert_eq!(ThinkingLevel::parse("MEDIUM"), Some(Medium));
        assert_eq!(Medium.wire(), "medium");
    }
}
