//! What the credentials' quota buckets say of one model, summed up for the panel.

use serde::Serialize;

use crate::store::QuotaBucket;

/// Over the credentials that have a bucket for the model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QuotaSummary {
    /// Credentials whose quota snapshot has a bucket for the model.
    pub known: usize,
    /// Of those, the ones not known to be out.
    pub with_quota: usize,
    /// The mean `remainingFraction` of the buckets that carry one.
    pub mean_remaining_fraction: Option<f64>,
    /// The earliest reset still ahead (unix seconds), else the earliest of all.
    pub next_reset: Option<i64>,
}

/// Sums buckets one at a time while the catalogue is built.
#[derive(Debug, Clone, Default)]
pub struct QuotaTally {
    known: usize,
    with_quota: usize,
    fraction_sum: f64,
    fractions: usize,
    next_reset_ahead: Option<i64>,
    earliest_reset: Option<i64>,
}

impl QuotaTally {
    /// One credential's bucket for the model (`now` in unix seconds).
    pub fn add(&mut self, bucket: &QuotaBucket, now: i64) {
        self.known += 1;
        if !bucket.is_empty() {
            self.with_quota += 1;
        }
        if let Some(fraction) = bucket.remaining_fraction {
            self.fraction_sum += fraction;
            self.fractions += 1;
        }
        if let Some(reset) = bucket.reset_time {
            self.earliest_reset = Some(self.earliest_reset.map_or(reset, |r| r.min(reset)));
            if reset > now {
                self.next_reset_ahead = Some(self.next_reset_ahead.map_or(reset, |r| r.min(reset)));
            }
        }
    }

    pub fn summary(&self) -> QuotaSummary {
        QuotaSummary {
            known: self.known,
            with_quota: self.with_quota,
            mean_remaining_fraction: (self.fractions > 0)
                .then(|| self.fraction_sum / self.fractions as f64),
            next_reset: self.next_reset_ahead.or(self.earliest_reset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_sum_to_counts_a_mean_and_the_next_reset() {
        let mut tally = QuotaTally::default();
        let bucket = |fraction: f64, reset: i64| QuotaBucket {
            model: "m".into(),
            remaining_fraction: Some(fraction),
            reset_time: Some(reset),
            ..QuotaBucket::default()
        };
        tally.add(&bucket(0.5, 50), 100);
        tally.add(&bucket(0.0, 300), 100);
        tally.add(&bucket(1.0, 200), 100);
        let summary = tally.summary();
        assert_eq!(summary.known, 3);
        assert_eq!(summary.with_quota, 2);
        assert_eq!(summary.mean_remaining_fraction, Some(0.5));
        assert_eq!(summary.next_reset, Some(200));
        assert_eq!(QuotaTally::default().summary(), QuotaSummary::default());
    }
}
