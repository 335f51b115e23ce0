//! `time-decay`: a touch's weight halves with every half-life between it and the conversion,
//! 2^(−Δt / half-life), normalized over the path.

use super::Model;
use crate::config::Duration;
use crate::paths::{PTouch, Path, PathSet};

pub struct TimeDecay {
    pub half_life: Duration,
}

impl Model for TimeDecay {
    fn name(&self) -> &'static str {
        "time-decay"
    }
    fn description(&self) -> &'static str {
        "Weight 2^(-Δt/half-life) per touch, Δt = time from touch to conversion, normalized per path."
    }
    fn parameters(&self) -> Vec<(&'static str, String)> {
        vec![("half-life", self.half_life.to_string())]
    }
    fn needs_timestamps(&self) -> bool {
        true
    }
    fn weights(&self, set: &PathSet, path: &Path, touches: &[PTouch], out: &mut Vec<f64>) {
        let conv_ts = set.conversion_of(path).map_or_else(|| touches.last().map_or(0, |t| t.ts), |c| c.ts);
        let h = self.half_life.seconds() as f64;
        // Exponents relative to the latest touch keep the largest weight at 1, so long paths with
        // old touches cannot underflow every weight to zero.
        let latest = touches.iter().map(|t| t.ts).max().unwrap_or(conv_ts);
        let base = (conv_ts - latest) as f64;
        out.extend(touches.iter().map(|t| (-((conv_ts - t.ts) as f64 - base) / h).exp2()));
        let sum: f64 = out.iter().sum();
        for w in out.iter_mut() {
            *w /= sum;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;

    #[test]
    fn halves_every_half_life() {
        let cfg = config("");
        // Touches 14, 7 and 0 days before the conversion: weights 1/4, 1/2, 1 → 1/7, 2/7, 4/7.
        let set = pathset(&[journey("a", &[("A", 0), ("B", 7 * DAY), ("C", 14 * DAY)], &[(14 * DAY, 70.0, false)])], &cfg);
        let m = TimeDecay { half_life: Duration(7 * DAY) };
        assert_credits(&credits(&set, &m, 0), &[("A", 1.0 / 7.0), ("B", 2.0 / 7.0), ("C", 4.0 / 7.0)]);
        // Same instant: equal weights.
        let set = pathset(&[journey("b", &[("A", DAY), ("B", DAY)], &[(2 * DAY, 1.0, false)])], &cfg);
        assert_credits(&credits(&set, &m, 0), &[("A", 0.5), ("B", 0.5)]);
    }
}
