//! `shapley`: each converting journey's credit is the Shapley value of its distinct labels in
//! the game whose worth v(S) is the conversion rate (conversions ÷ journeys) of the journeys whose
//! set of distinct labels is exactly S (v of a set never observed is 0), normalized to the
//! journey's conversions.
//!
//! Exact: up to `max_channels` distinct labels per journey (the most recent ones are kept beyond
//! that); values are computed once per distinct set, so the cost grows as 2^n per set, not per
//! journey. The `ordered` variant treats S as the sequence of distinct labels in order of first
//! appearance, and coalitions as its subsequences.
//!
//! A label that lowers the conversion rate of the sets it joins has a negative Shapley value;
//! such credits are kept (and the journey's credits still sum to 1), as the definition requires.

use anyhow::Result;
use rustc_hash::FxHashMap;

use super::labels::Labels;
use super::{journeys, Fitted, Model};
use crate::paths::PathSet;

pub struct Shapley {
    pub max_channels: usize,
    pub ordered: bool,
}

/// The coalition key of a journey: distinct labels, at most `max`, the most recent kept.
/// Sets are sorted by label rank (content order); ordered keys keep first-appearance order.
fn key(seq: &[u32], max: usize, ordered: bool, rank: &[u32]) -> Vec<u32> {
    let mut kept: Vec<u32> = Vec::new();
    for &l in seq.iter().rev() {
        if !kept.contains(&l) {
            if kept.len() == max {
                continue;
            }
            kept.push(l);
        }
    }
    if ordered {
        // First appearance among the kept labels, in journey order.
        let mut out = Vec::with_capacity(kept.len());
        for &l in seq {
            if kept.contains(&l) && !out.contains(&l) {
                out.push(l);
            }
        }
        out
    } else {
        kept.sort_by_key(|&l| rank[l as usize]);
        kept
    }
}

/// Shapley values of the players in `players` (a key), with worth looked up in `worth`.
pub fn values(players: &[u32], worth: &FxHashMap<Vec<u32>, f64>) -> Vec<f64> {
    let n = players.len();
    let full = 1usize << n;
    let mut v = vec![0.0; full];
    let mut buf = Vec::with_capacity(n);
    for (mask, slot) in v.iter_mut().enumerate().skip(1) {
        buf.clear();
        buf.extend((0..n).filter(|i| mask & (1 << i) != 0).map(|i| players[i]));
        *slot = worth.get(&buf).copied().unwrap_or(0.0);
    }
    // weight[s] = s! (n − s − 1)! / n!
    let mut fact = vec![1.0f64; n + 1];
    for i in 1..=n {
        fact[i] = fact[i - 1] * i as f64;
    }
    let weight: Vec<f64> = (0..n).map(|s| fact[s] * fact[n - s - 1] / fact[n]).collect();
    let mut phi = vec![0.0; n];
    for (i, p) in phi.iter_mut().enumerate() {
        let bit = 1 << i;
        for mask in 0..full {
            if mask & bit == 0 {
                *p += weight[mask.count_ones() as usize] * (v[mask | bit] - v[mask]);
            }
        }
    }
    phi
}

impl Model for Shapley {
    fn name(&self) -> &'static str {
        "shapley"
    }
    fn description(&self) -> &'static str {
        "Shapley value of each journey's distinct channels; worth of a set = conversion rate of journeys with exactly that set."
    }
    fn parameters(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![("shapley-max-channels", self.max_channels.to_string())];
        if self.ordered {
            p.push(("shapley-ordered", "true".into()));
        }
        p
    }
    fn learns_from_journeys(&self) -> bool {
        true
    }
    fn fit(&self, set: &PathSet, labels: &Labels) -> Result<Option<Box<dyn Fitted>>> {
        let mut tally: FxHashMap<Vec<u32>, (f64, f64)> = FxHashMap::default();
        journeys::each(set, labels, false, |seq, conv, nulls| {
            let e = tally.entry(key(seq, self.max_channels, self.ordered, &labels.rank)).or_default();
            e.0 += conv;
            e.1 += conv + nulls;
        })?;
        let worth: FxHashMap<Vec<u32>, f64> = tally.iter().map(|(k, &(c, j))| (k.clone(), if j > 0.0 { c / j } else { 0.0 })).collect();
        let mut shares = FxHashMap::default();
        for (k, &(c, _)) in &tally {
            if c <= 0.0 {
                continue;
            }
            let phi = values(k, &worth);
            let total: f64 = phi.iter().sum();
            let sh = if total != 0.0 { phi.iter().map(|p| p / total).collect() } else { vec![1.0 / k.len() as f64; k.len()] };
            shares.insert(k.clone(), sh);
        }
        let credits = journeys::PerSequence::build(set, labels, false, |seq, out| {
            let k = key(seq, self.max_channels, self.ordered, &labels.rank);
            if let Some(sh) = shares.get(&k) {
                out.extend(k.iter().copied().zip(sh.iter().copied()));
            }
        })?;
        Ok(Some(Box::new(credits)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two players, all coalitions written out: v({}) = 0, v({A}) = 0.2, v({B}) = 0.1,
    /// v({A,B}) = 0.5. φ_A = ½(v(A) − v(∅)) + ½(v(AB) − v(B)) = ½·0.2 + ½·0.4 = 0.3;
    /// φ_B = ½·0.1 + ½·0.3 = 0.2; they sum to v(AB) = 0.5, so the shares are 0.6 and 0.4.
    #[test]
    fn two_players_by_hand() {
        let mut w = FxHashMap::default();
        w.insert(vec![0], 0.2);
        w.insert(vec![1], 0.1);
        w.insert(vec![0, 1], 0.5);
        let phi = values(&[0, 1], &w);
        assert!((phi[0] - 0.3).abs() < 1e-12 && (phi[1] - 0.2).abs() < 1e-12, "{phi:?}");
    }

    /// Three players: v(A)=0.1, v(B)=0.2, v(C)=0, v(AB)=0.4, v(AC)=0.3, v(BC)=0.2, v(ABC)=0.6.
    /// φ_A = 1/3·(0.1−0) + 1/6·(0.4−0.2) + 1/6·(0.3−0) + 1/3·(0.6−0.2) = 1/30 + 1/30 + 1/20 + 2/15 = 0.25
    /// φ_B = 1/3·0.2 + 1/6·(0.4−0.1) + 1/6·(0.2−0) + 1/3·(0.6−0.3) = 1/15 + 1/20 + 1/30 + 1/10 = 0.25
    /// φ_C = 1/3·0 + 1/6·(0.3−0.1) + 1/6·(0.2−0.2) + 1/3·(0.6−0.4) = 1/30 + 0 + 1/15 = 0.1
    #[test]
    fn three_players_every_coalition() {
        let mut w = FxHashMap::default();
        for (k, v) in
            [(vec![0], 0.1), (vec![1], 0.2), (vec![2], 0.0), (vec![0, 1], 0.4), (vec![0, 2], 0.3), (vec![1, 2], 0.2), (vec![0, 1, 2], 0.6)]
        {
            w.insert(k, v);
        }
        let phi = values(&[0, 1, 2], &w);
        for (got, want) in phi.iter().zip([0.25, 0.25, 0.1]) {
            assert!((got - want).abs() < 1e-12, "{phi:?}");
        }
    }

    #[test]
    fn keys_keep_most_recent_distinct() {
        let rank = vec![3, 2, 1, 0];
        assert_eq!(key(&[0, 1, 0, 2, 3], 3, false, &rank), vec![3, 2, 0]);
        assert_eq!(key(&[0, 1, 0, 2, 3], 3, true, &rank), vec![0, 2, 3]);
        assert_eq!(key(&[1, 1, 1], 12, false, &rank), vec![1]);
    }
}
