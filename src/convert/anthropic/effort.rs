//! Anthropic's `output_config.effort` (`low`, `medium`, `high`, `xhigh`, `max`) → Gemini thinking.
//!
//! `low` to `high` read the same table as OpenAI's `reasoning_effort`, so one effort means one
//! budget or level on every route. `xhigh` and `max` ask for more than `high`: the family's deepest
//! thinking — the largest budget Gemini 2.5 takes (Pro 32768, Flash 24576), the `high` level on
//! Gemini 3 (its deepest). The catalogue may still lower a level the model refuses
//! (`gateway::capabilities`).

use crate::convert::gemini::model_name::{thinking_for_effort, ModelFamily, Thinking};

/// Every effort value Anthropic defines, in increasing order.
pub const EFFORTS: [&str; 5] = ["low", "medium", "high", "xhigh", "max"];

/// Thinking for an Anthropic effort; `None` when the value is not one of [`EFFORTS`].
pub fn thinking_for_anthropic_effort(family: ModelFamily, effort: &str) -> Option<Thinking> {
    match effort {
        "low" | "medium" | "high" => thinking_for_effort(family, effort),
        "xhigh" | "max" => Some(deepest(family)),
        _ => None,
    }
}

fn deepest(family: ModelFamily) -> Thinking {
    match family {
        ModelFamily::Gemini25Pro => Thinking::Budget(32_768),
        ModelFamily::Gemini25Flash => Thinking::Budget(24_576),
        ModelFamily::Gemini3Pro | ModelFamily::Gemini3Flash => Thinking::Level("high"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_effort_maps_for_every_family_and_never_decreases() {
        let rank = |t: &Thinking| match t {
            Thinking::Budget(b) => *b,
            Thinking::Level("minimal") => 0,
            Thinking::Level("low") => 1,
            Thinking::Level("medium") => 2,
            Thinking::Level(_) => 3,
            Thinking::Unset => -1,
        };
        for family in [
            ModelFamily::Gemini25Pro,
            ModelFamily::Gemini25Flash,
            ModelFamily::Gemini3Pro,
            ModelFamily::Gemini3Flash,
        ] {
            let mapped: Vec<Thinking> = EFFORTS
                .iter()
                .map(|e| thinking_for_anthropic_effort(family, e).unwrap())
                .collect();
            assert!(
                mapped.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
                "{family:?}: {mapped:?}"
            );
        }
        assert_eq!(
            thinking_for_anthropic_effort(ModelFamily::Gemini25Pro, "max"),
            Some(Thinking::Budget(32_768))
        );
        assert_eq!(
            thinking_for_anthropic_effort(ModelFamily::Gemini25Pro, "high"),
            Some(Thinking::Budget(24_576))
        );
        assert_eq!(
            thinking_for_anthropic_effort(ModelFamily::Gemini3Flash, "xhigh"),
            Some(Thinking::Level("high"))
        );
        assert_eq!(
            thinking_for_anthropic_effort(ModelFamily::Gemini25Flash, "huge"),
            None
        );
    }
}
