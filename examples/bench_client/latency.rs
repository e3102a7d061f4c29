//! Percentiles of recorded durations, in microseconds.

use serde::Serialize;

#[derive(Debug, Default, Serialize, serde::Deserialize, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    let index = rank.clamp(1, sorted.len()) - 1;
    sorted.get(index).map_or(0.0, |v| *v as f64 / 1000.0)
}

/// `values` are nanoseconds.
pub fn summarise(mut values: Vec<u64>) -> Summary {
    values.sort_unstable();
    let count = values.len();
    let mean_us = if count == 0 {
        0.0
    } else {
        values.iter().map(|v| *v as f64).sum::<f64>() / count as f64 / 1000.0
    };
    Summary {
        count,
        mean_us,
        p50_us: percentile(&values, 0.50),
        p90_us: percentile(&values, 0.90),
        p99_us: percentile(&values, 0.99),
        max_us: percentile(&values, 1.0),
    }
}
