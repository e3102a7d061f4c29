//! What a request costs against an API key's quota.

use std::collections::BTreeMap;

use crate::convert::gemini::model_name::{ModelSpec, StreamMode};

pub const DEFAULT_COST: u64 = 1;
const PRO_COST: u64 = 10;
const FLASH_COST: u64 = 2;

/// The cost of one request to `requested` (the model name as the client sent it): the configured cost of
/// the name without its streaming prefix, else of its base model, else Pro 10 / Flash 2 / other 1.
/// Thinking and search suffixes cost as their base model; the anti-truncation prefix doubles the cost,
/// since it may make several upstream calls.
pub fn cost_of(requested: &str, table: &BTreeMap<String, u64>) -> u64 {
    let (display, base, anti) = match ModelSpec::parse(requested) {
        Ok(spec) => (
            spec.display.clone(),
            spec.base.clone(),
            spec.mode == StreamMode::AntiTruncation,
        ),
        Err(_) => (requested.to_string(), requested.to_string(), false),
    };
    let unit = table
        .get(&display)
        .or_else(|| table.get(&base))
        .copied()
        .unwrap_or_else(|| family_cost(&base));
    if anti {
        unit.saturating_mul(2)
    } else {
        unit
    }
}

fn family_cost(base: &str) -> u64 {
    let lower = base.to_ascii_lowercase();
    if lower.contains("pro") {
        PRO_COST
    } else if lower.contains("flash") {
        FLASH_COST
    } else {
        DEFAULT_COST
    }
}

/// The table as the panel shows it: defaults for the listed base models, overridden by configured costs.
pub fn effective_table(
    bases: &[String],
    configured: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    let mut table: BTreeMap<String, u64> =
        bases.iter().map(|b| (b.clone(), family_cost(b))).collect();
    table.extend(configured.iter().map(|(k, v)| (k.clone(), *v)));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_by_family_and_prefix_doubling() {
        let table = BTreeMap::new();
        assert_eq!(cost_of("gemini-2.5-pro", &table), 10);
        assert_eq!(cost_of("gemini-2.5-flash", &table), 2);
        assert_eq!(cost_of("gemma-3", &table), 1);
        assert_eq!(cost_of("gemini-2.5-pro-maxthinking-search", &table), 10);
        assert_eq!(cost_of("假流式/gemini-2.5-flash", &table), 2);
        assert_eq!(cost_of("流式抗截断/gemini-2.5-pro", &table), 20);
        assert_eq!(cost_of("流式抗截断/gemini-2.5-flash-high", &table), 4);
    }

    #[test]
    fn configured_costs_win() {
        let mut table = BTreeMap::new();
        table.insert("gemini-2.5-flash".to_string(), 5);
        table.insert("gemini-3-pro-preview".to_string(), 15);
        assert_eq!(cost_of("gemini-2.5-flash-nothinking", &table), 5);
        assert_eq!(cost_of("流式抗截断/gemini-3-pro-preview", &table), 30);
    }
}
