//! Model names carry features: a streaming-mode prefix (`假流式/`, `流式抗截断/`) and suffixes for
//! thinking (`-high`, `-maxthinking`, …) and Google Search (`-search`). `ModelSpec::parse` splits a
//! requested name into the base model sent upstream and those features.

use crate::convert::gemini::model_name_check::check_model_name;
// The prefixes live with the name check (which strips them first) so the two files do not import
// each other; callers keep reading them here, beside the features they turn on.
pub use crate::convert::gemini::model_name_check::{ANTI_TRUNCATION_PREFIX, FAKE_STREAM_PREFIX};
use crate::convert::ConvertError;

const STREAM_PREFIXES: [&str; 3] = ["", FAKE_STREAM_PREFIX, ANTI_TRUNCATION_PREFIX];
const SEARCH_SUFFIX: &str = "-search";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    Normal,
    Fake,
    AntiTruncation,
}

/// Thinking requested by the model name (or by `reasoning_effort`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thinking {
    Unset,
    /// `thinkingBudget` in tokens (Gemini 2.5 style; also accepted by Gemini 3).
    Budget(i64),
    /// `thinkingLevel` (Gemini 3 style).
    Level(&'static str),
}

/// Thinking controls differ per model generation: 2.5 takes token budgets, 3 takes levels; pro
/// models always think, flash models may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFamily {
    Gemini25Pro,
    /// Also the family of unknown names: it assumes nothing about default thinking.
    Gemini25Flash,
    Gemini3Pro,
    Gemini3Flash,
}

impl ModelFamily {
    pub fn of(base: &str) -> Self {
        let lower = base.to_ascii_lowercase();
        let flash = lower.contains("flash");
        let level_based = gemini_major_version(&lower).is_some_and(|major| major >= 3);
        match (level_based, flash) {
            (true, true) => ModelFamily::Gemini3Flash,
            (true, false) => ModelFamily::Gemini3Pro,
            (false, false) if lower.contains("pro") => ModelFamily::Gemini25Pro,
            (false, _) => ModelFamily::Gemini25Flash,
        }
    }

    /// Gemini 3 and later: thinking is set with `thinkingLevel` and tool calls need thought signatures.
    pub fn is_gemini3(self) -> bool {
        matches!(self, ModelFamily::Gemini3Pro | ModelFamily::Gemini3Flash)
    }

    /// Pro models cannot switch thinking off, so asking for thoughts is always valid.
    pub fn always_thinks(self) -> bool {
        matches!(self, ModelFamily::Gemini25Pro | ModelFamily::Gemini3Pro)
    }

    /// Thinking suffixes advertised in the model list for this family.
    fn listed_thinking_suffixes(self) -> &'static [&'static str] {
        match self {
            ModelFamily::Gemini25Pro | ModelFamily::Gemini25Flash => &[
                "-maxthinking",
                "-nothinking",
                "-max",
                "-high",
                "-medium",
                "-low",
                "-minimal",
            ],
            ModelFamily::Gemini3Flash => &["-high", "-medium", "-low", "-minimal"],
            ModelFamily::Gemini3Pro => &["-high", "-low"],
        }
    }
}

/// `gemini-2.5-pro` → 2, `gemini-3.1-flash-lite` → 3; `None` for names without a version.
fn gemini_major_version(lower: &str) -> Option<u32> {
    let after = lower.split("gemini-").nth(1)?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThinkingSuffix {
    MaxThinking,
    NoThinking,
    Max,
    High,
    Medium,
    Low,
    Minimal,
}

impl ThinkingSuffix {
    fn thinking(self, family: ModelFamily) -> Thinking {
        use ModelFamily::*;
        use ThinkingSuffix::*;
        match (family, self) {
            (Gemini25Pro, MaxThinking | Max) => Thinking::Budget(32768),
            (Gemini25Flash, MaxThinking | Max) => Thinking::Budget(24576),
            (Gemini25Pro | Gemini25Flash, High) => Thinking::Budget(16000),
            (Gemini25Pro | Gemini25Flash, Medium) => Thinking::Budget(8192),
            (Gemini25Pro | Gemini25Flash, Low) => Thinking::Budget(1024),
            // 2.5 pro cannot stop thinking; 128 is its smallest budget.
            (Gemini25Pro, NoThinking | Minimal) => Thinking::Budget(128),
            (Gemini25Flash, NoThinking | Minimal) => Thinking::Budget(0),
            (Gemini3Pro | Gemini3Flash, MaxThinking | Max | High) => Thinking::Level("high"),
            (Gemini3Pro | Gemini3Flash, Low) => Thinking::Level("low"),
            (Gemini3Flash, Medium) => Thinking::Level("medium"),
            (Gemini3Flash, Minimal) => Thinking::Level("minimal"),
            (Gemini3Flash, NoThinking) => Thinking::Budget(0),
            (Gemini3Pro, NoThinking) => Thinking::Budget(128),
            // Gemini 3 pro offers only the low and high levels.
            (Gemini3Pro, Medium | Minimal) => Thinking::Unset,
        }
    }
}

enum Suffix {
    Thinking(ThinkingSuffix),
    Search,
    Stream(StreamMode),
}

/// No entry is a suffix of another, so the order of the checks does not matter.
const SUFFIXES: &[(&str, Suffix)] = &[
    (
        "-maxthinking",
        Suffix::Thinking(ThinkingSuffix::MaxThinking),
    ),
    ("-nothinking", Suffix::Thinking(ThinkingSuffix::NoThinking)),
    ("-max", Suffix::Thinking(ThinkingSuffix::Max)),
    ("-high", Suffix::Thinking(ThinkingSuffix::High)),
    ("-medium", Suffix::Thinking(ThinkingSuffix::Medium)),
    ("-low", Suffix::Thinking(ThinkingSuffix::Low)),
    ("-minimal", Suffix::Thinking(ThinkingSuffix::Minimal)),
    (SEARCH_SUFFIX, Suffix::Search),
    // Markers from the time streaming modes were suffixes; still accepted.
    ("-假流式", Suffix::Stream(StreamMode::Fake)),
    ("-流式抗截断", Suffix::Stream(StreamMode::AntiTruncation)),
];

/// A requested model name split into what goes upstream and the features it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The name exactly as the client sent it.
    pub requested: String,
    /// The name shown back to the client: without the streaming marker, with the other suffixes.
    pub display: String,
    /// The model sent upstream.
    pub base: String,
    pub mode: StreamMode,
    pub search: bool,
    pub thinking: Thinking,
}

impl ModelSpec {
    /// Suffixes are stripped repeatedly in any order; when several thinking suffixes are given the
    /// right-most one wins.
    pub fn parse(name: &str) -> Result<ModelSpec, ConvertError> {
        let trimmed = name.trim();
        if trimmed.is_empty() {
            return Err(ConvertError::invalid("model", "must not be empty"));
        }
        // Before any other use: the name reaches URLs, headers, labels and logs.
        check_model_name(name, false)?;
        let mut rest = trimmed.strip_prefix("models/").unwrap_or(trimmed);
        let mut mode = StreamMode::Normal;
        if let Some(stripped) = rest.strip_prefix(FAKE_STREAM_PREFIX) {
            mode = StreamMode::Fake;
            rest = stripped;
        } else if let Some(stripped) = rest.strip_prefix(ANTI_TRUNCATION_PREFIX) {
            mode = StreamMode::AntiTruncation;
            rest = stripped;
        }

        let mut kept_suffixes: Vec<&str> = Vec::new();
        let mut thinking_suffix = None;
        let mut search = false;
        while let Some((stripped, text, kind)) = SUFFIXES
            .iter()
            .find_map(|(text, kind)| rest.strip_suffix(text).map(|s| (s, *text, kind)))
        {
            rest = stripped;
            match kind {
                Suffix::Thinking(t) => {
                    thinking_suffix.get_or_insert(*t);
                    kept_suffixes.push(text);
                }
                Suffix::Search => {
                    search = true;
                    kept_suffixes.push(text);
                }
                Suffix::Stream(m) => {
                    if mode == StreamMode::Normal {
                        mode = *m;
                    }
                }
            }
        }
        if rest.is_empty() {
            return Err(ConvertError::invalid(
                "model",
                format!("\"{trimmed}\" names no base model"),
            ));
        }

        let base = rest.to_owned();
        let family = ModelFamily::of(&base);
        let thinking = thinking_suffix.map_or(Thinking::Unset, |t| t.thinking(family));
        let mut display = base.clone();
        for suffix in kept_suffixes.iter().rev() {
            display.push_str(suffix);
        }
        Ok(ModelSpec {
            requested: name.to_owned(),
            display,
            base,
            mode,
            search,
            thinking,
        })
    }

    /// The thinking family of the base model.
    pub fn family(&self) -> ModelFamily {
        ModelFamily::of(&self.base)
    }
}

/// Thinking for an OpenAI `reasoning_effort` value; `None` when the value is unknown.
pub fn thinking_for_effort(family: ModelFamily, effort: &str) -> Option<Thinking> {
    use ModelFamily::*;
    let thinking = match (family, effort) {
        (Gemini25Pro, "none") => Thinking::Budget(128),
        (Gemini25Flash, "none") => Thinking::Budget(0),
        (Gemini25Pro | Gemini25Flash, "minimal") => Thinking::Budget(512),
        (Gemini25Pro | Gemini25Flash, "low") => Thinking::Budget(1024),
        (Gemini25Pro | Gemini25Flash, "medium") => Thinking::Budget(8192),
        (Gemini25Pro | Gemini25Flash, "high" | "xhigh") => Thinking::Budget(24576),
        (Gemini3Flash, "none" | "minimal") => Thinking::Level("minimal"),
        (Gemini3Flash, "low") => Thinking::Level("low"),
        (Gemini3Flash, "medium") => Thinking::Level("medium"),
        (Gemini3Flash, "high" | "xhigh") => Thinking::Level("high"),
        (Gemini3Pro, "none" | "minimal" | "low") => Thinking::Level("low"),
        (Gemini3Pro, "medium" | "high" | "xhigh") => Thinking::Level("high"),
        _ => return None,
    };
    Some(thinking)
}

/// Every advertised name: base, then thinking suffix, then `-search`, each under every prefix.
/// Order: per base, per thinking variant (none first), without then with search, then the prefixes
/// (none, `假流式/`, `流式抗截断/`).
pub fn model_catalogue(bases: &[String]) -> Vec<String> {
    let mut names = Vec::new();
    for base in bases {
        let thinking_variants = std::iter::once("").chain(
            ModelFamily::of(base)
                .listed_thinking_suffixes()
                .iter()
                .copied(),
        );
        for thinking in thinking_variants {
            for search in ["", SEARCH_SUFFIX] {
                for prefix in STREAM_PREFIXES {
                    names.push(format!("{prefix}{base}{thinking}{search}"));
                }
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> ModelSpec {
        ModelSpec::parse(name).unwrap()
    }

    #[test]
    fn plain_name_has_no_features() {
        let spec = parse("gemini-2.5-pro");
        assert_eq!(
            spec,
            ModelSpec {
                requested: "gemini-2.5-pro".into(),
                display: "gemini-2.5-pro".into(),
                base: "gemini-2.5-pro".into(),
                mode: StreamMode::Normal,
                search: false,
                thinking: Thinking::Unset,
            }
        );
    }

    #[test]
    fn empty_or_blank_name_is_invalid_on_model() {
        for name in ["", "   "] {
            let err = ModelSpec::parse(name).unwrap_err();
            assert_eq!(err.field(), "model");
            assert_eq!(err.to_string(), "model: must not be empty");
        }
        let err = ModelSpec::parse("-high-search").unwrap_err();
        assert_eq!(err.field(), "model");
        assert!(err.to_string().contains("names no base model"));
    }

    #[test]
    fn prefixes_set_the_stream_mode_and_leave_the_display_name() {
        let spec = parse("假流式/gemini-2.5-flash-high");
        assert_eq!(spec.mode, StreamMode::Fake);
        assert_eq!(spec.base, "gemini-2.5-flash");
        assert_eq!(spec.display, "gemini-2.5-flash-high");
        assert_eq!(spec.requested, "假流式/gemini-2.5-flash-high");

        let spec = parse("流式抗截断/gemini-2.5-pro");
        assert_eq!(spec.mode, StreamMode::AntiTruncation);
        assert_eq!(spec.display, "gemini-2.5-pro");
    }

    #[test]
    fn only_one_prefix_is_recognised() {
        // A second prefix would be part of the base name sent to Google: refused at the edge.
        let err = ModelSpec::parse("假流式/流式抗截断/gemini-2.5-pro").unwrap_err();
        assert_eq!(err.field(), "model");
    }

    #[test]
    fn legacy_stream_suffixes_are_accepted() {
        let spec = parse("gemini-2.5-pro-假流式");
        assert_eq!(spec.mode, StreamMode::Fake);
        assert_eq!(spec.base, "gemini-2.5-pro");
        assert_eq!(spec.display, "gemini-2.5-pro");

        let spec = parse("gemini-2.5-pro-maxthinking-流式抗截断");
        assert_eq!(spec.mode, StreamMode::AntiTruncation);
        assert_eq!(spec.thinking, Thinking::Budget(32768));
        assert_eq!(spec.display, "gemini-2.5-pro-maxthinking");
    }

    #[test]
    fn suffixes_strip_in_any_order() {
        for name in ["gemini-2.5-pro-max-search", "gemini-2.5-pro-search-max"] {
            let spec = parse(name);
            assert_eq!(spec.base, "gemini-2.5-pro");
            assert!(spec.search);
            assert_eq!(spec.thinking, Thinking::Budget(32768));
            assert_eq!(spec.display, name);
        }
    }

    #[test]
    fn rightmost_thinking_suffix_wins() {
        assert_eq!(
            parse("gemini-2.5-pro-low-high").thinking,
            Thinking::Budget(16000)
        );
    }

    #[test]
    fn models_path_prefix_is_ignored() {
        let spec = parse("models/gemini-2.5-flash-search");
        assert_eq!(spec.base, "gemini-2.5-flash");
        assert_eq!(spec.display, "gemini-2.5-flash-search");
    }

    fn thinking_of(name: &str) -> Thinking {
        parse(name).thinking
    }

    #[test]
    fn gemini_25_budget_table() {
        let table = [
            ("", Thinking::Unset, Thinking::Unset),
            ("-max", Thinking::Budget(32768), Thinking::Budget(24576)),
            ("-high", Thinking::Budget(16000), Thinking::Budget(16000)),
            ("-medium", Thinking::Budget(8192), Thinking::Budget(8192)),
            ("-low", Thinking::Budget(1024), Thinking::Budget(1024)),
            ("-minimal", Thinking::Budget(128), Thinking::Budget(0)),
            (
                "-maxthinking",
                Thinking::Budget(32768),
                Thinking::Budget(24576),
            ),
            ("-nothinking", Thinking::Budget(128), Thinking::Budget(0)),
        ];
        for (suffix, pro, flash) in table {
            assert_eq!(
                thinking_of(&format!("gemini-2.5-pro{suffix}")),
                pro,
                "{suffix}"
            );
            assert_eq!(
                thinking_of(&format!("gemini-2.5-flash{suffix}")),
                flash,
                "{suffix}"
            );
            assert_eq!(
                thinking_of(&format!("gemini-2.5-flash-lite{suffix}")),
                flash,
                "{suffix}"
            );
        }
    }

    #[test]
    fn gemini_3_level_table() {
        let table = [
            ("", Thinking::Unset, Thinking::Unset),
            ("-high", Thinking::Level("high"), Thinking::Level("high")),
            ("-medium", Thinking::Level("medium"), Thinking::Unset),
            ("-low", Thinking::Level("low"), Thinking::Level("low")),
            ("-minimal", Thinking::Level("minimal"), Thinking::Unset),
            (
                "-maxthinking",
                Thinking::Level("high"),
                Thinking::Level("high"),
            ),
            ("-nothinking", Thinking::Budget(0), Thinking::Budget(128)),
        ];
        for (suffix, flash, pro) in table {
            assert_eq!(
                thinking_of(&format!("gemini-3-flash-preview{suffix}")),
                flash,
                "{suffix}"
            );
            assert_eq!(
                thinking_of(&format!("gemini-3.1-flash-lite{suffix}")),
                flash,
                "{suffix}"
            );
            assert_eq!(
                thinking_of(&format!("gemini-3-pro-preview{suffix}")),
                pro,
                "{suffix}"
            );
            assert_eq!(
                thinking_of(&format!("gemini-3.1-pro-preview{suffix}")),
                pro,
                "{suffix}"
            );
        }
    }

    #[test]
    fn families_follow_version_and_tier() {
        assert_eq!(ModelFamily::of("gemini-2.5-pro"), ModelFamily::Gemini25Pro);
        assert_eq!(
            ModelFamily::of("gemini-2.5-flash-lite"),
            ModelFamily::Gemini25Flash
        );
        assert_eq!(
            ModelFamily::of("gemini-3-pro-preview"),
            ModelFamily::Gemini3Pro
        );
        assert_eq!(
            ModelFamily::of("gemini-3.5-flash"),
            ModelFamily::Gemini3Flash
        );
        assert_eq!(ModelFamily::of("gemini-10-pro"), ModelFamily::Gemini3Pro);
        assert_eq!(ModelFamily::of("some-model"), ModelFamily::Gemini25Flash);
    }

    #[test]
    fn reasoning_effort_maps_per_family() {
        let f25 = ModelFamily::Gemini25Flash;
        assert_eq!(
            thinking_for_effort(f25, "minimal"),
            Some(Thinking::Budget(512))
        );
        assert_eq!(
            thinking_for_effort(f25, "low"),
            Some(Thinking::Budget(1024))
        );
        assert_eq!(
            thinking_for_effort(f25, "medium"),
            Some(Thinking::Budget(8192))
        );
        assert_eq!(
            thinking_for_effort(f25, "high"),
            Some(Thinking::Budget(24576))
        );
        assert_eq!(thinking_for_effort(f25, "none"), Some(Thinking::Budget(0)));
        assert_eq!(
            thinking_for_effort(ModelFamily::Gemini25Pro, "none"),
            Some(Thinking::Budget(128))
        );
        assert_eq!(
            thinking_for_effort(ModelFamily::Gemini3Flash, "medium"),
            Some(Thinking::Level("medium"))
        );
        assert_eq!(
            thinking_for_effort(ModelFamily::Gemini3Pro, "medium"),
            Some(Thinking::Level("high"))
        );
        assert_eq!(thinking_for_effort(f25, "extreme"), None);
    }

    #[test]
    fn catalogue_orders_base_thinking_search_and_prefixes() {
        let names = model_catalogue(&["gemini-2.5-pro".to_string()]);
        assert_eq!(names.len(), 8 * 2 * 3);
        assert_eq!(
            names[..6],
            [
                "gemini-2.5-pro",
                "假流式/gemini-2.5-pro",
                "流式抗截断/gemini-2.5-pro",
                "gemini-2.5-pro-search",
                "假流式/gemini-2.5-pro-search",
                "流式抗截断/gemini-2.5-pro-search",
            ]
        );
        assert!(names.contains(&"假流式/gemini-2.5-pro-maxthinking-search".to_string()));
        assert!(names.contains(&"流式抗截断/gemini-2.5-pro-minimal".to_string()));
        for name in &names {
            let spec = ModelSpec::parse(name).unwrap();
            assert_eq!(spec.base, "gemini-2.5-pro", "{name}");
        }
    }

    #[test]
    fn catalogue_lists_only_family_suffixes() {
        let bases: Vec<String> = [
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-3-pro-preview",
            "gemini-3-flash-preview",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let names = model_catalogue(&bases);
        // 2.5: 8 thinking variants, Gemini 3 flash: 5, Gemini 3 pro: 3; each × 2 search × 3 prefixes.
        assert_eq!(names.len(), (3 * 8 + 5 + 3) * 6);
        assert!(names.contains(&"gemini-3-flash-preview-minimal-search".to_string()));
        assert!(names.contains(&"假流式/gemini-3-pro-preview-low".to_string()));
        assert!(!names.contains(&"gemini-3-pro-preview-medium".to_string()));
        assert!(!names.contains(&"gemini-3-flash-preview-maxthinking".to_string()));
        assert!(names.contains(&"gemini-2.5-flash-lite-nothinking".to_string()));
    }
}
