//! `fractribution`: the counterfactual model published by Google. For each touch of a
//! converting path, its contribution is the path's conversion rate minus the rate of the same
//! path without that touch (0 for a path never observed), floored at 0; contributions are
//! normalized per path, and when all are 0 the last touch takes the conversion. Paths are
//! label sequences with consecutive repeats collapsed by default (Fractribution's "exposure"
//! transform); removing a touch does not re-collapse, as in the original.

use anyhow::Result;
use rustc_hash::FxHashMap;

use super::labels::Labels;
use super::{journeys, Fitted, Model};
use crate::paths::PathSet;

pub struct Fractribution {
    pub collapse: bool,
}

/// Credit per position of `seq` given path conversion rates.
pub fn contributions(seq: &[u32], rate: &FxHashMap<Vec<u32>, f64>) -> Vec<f64> {
    let own = rate.get(seq).copied().unwrap_or(0.0);
    let mut cf = Vec::with_capacity(seq.len());
    let mut mc: Vec<f64> = (0..seq.len())
        .map(|i| {
            cf.clear();
            cf.extend(seq.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, &l)| l));
            (own - rate.get(&cf).copied().unwrap_or(0.0)).max(0.0)
        })
        .collect();
    let total: f64 = mc.iter().sum();
    if total > 0.0 {
        mc.iter_mut().for_each(|m| *m /= total);
    } else if let Some(last) = mc.last_mut() {
        *last = 1.0;
    }
    mc
}

impl Model for Fractribution {
    fn name(&self) -> &'static str {
        "fractribution"
    }
    fn description(&self) -> &'static str {
        "Counterfactual leave-one-out: path conversion rate minus the rate without the touch, floored at 0, normalized (Google Fractribution)."
    }
    fn parameters(&self) -> Vec<(&'static str, String)> {
        vec![("collapse-repeats", self.collapse.to_string())]
    }
    fn learns_from_journeys(&self) -> bool {
        true
    }
    fn fit(&self, set: &PathSet, labels: &Labels) -> Result<Option<Box<dyn Fitted>>> {
        let mut tally: FxHashMap<Vec<u32>, (f64, f64)> = FxHashMap::default();
        journeys::each(set, labels, self.collapse, |seq, conv, nulls| {
            let e = tally.entry(seq.to_vec()).or_default();
            e.0 += conv;
            e.1 += conv + nulls;
        })?;
        let rate = tally.into_iter().map(|(k, (c, j))| (k, if j > 0.0 { c / j } else { 0.0 })).collect();
        let credits = journeys::PerSequence::build(set, labels, self.collapse, |seq, out| {
            out.extend(seq.iter().zip(contributions(seq, &rate)).filter(|&(_, w)| w != 0.0).map(|(&l, w)| (l, w)));
        })?;
        Ok(Some(Box::new(credits)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rates: (A,B) = 0.5, (A) = 0.2, (B) = 0.4. Removing A from (A,B) leaves (B): 0.5 − 0.4 = 0.1;
    /// removing B leaves (A): 0.5 − 0.2 = 0.3. Normalized: A 0.25, B 0.75.
    #[test]
    fn leave_one_out_by_hand() {
        let mut r = FxHashMap::default();
        r.insert(vec![0, 1], 0.5);
        r.insert(vec![0], 0.2);
        r.insert(vec![1], 0.4);
        let c = contributions(&[0, 1], &r);
        assert!((c[0] - 0.25).abs() < 1e-12 && (c[1] - 0.75).abs() < 1e-12, "{c:?}");
        // All counterfactuals convert better: everything to the last touch.
        r.insert(vec![0], 0.9);
        r.insert(vec![1], 0.9);
        assert_eq!(contributions(&[0, 1], &r), vec![0.0, 1.0]);
        // A single touch against the never-observed empty path takes all.
        assert_eq!(contributions(&[1], &r), vec![1.0]);
    }
}
