//! `markov`: data-driven attribution by removal effect in an absorbing Markov chain over all
//! journeys, converting and not.
//!
//! States are `(start)`, the last k labels (order k), `(conversion)` and `(null)`. A label's
//! removal effect is 1 − P(conversion | every state holding the label leads to null) /
//! P(conversion); credits are removal effects normalized to the conversions (and, separately,
//! to the revenue). Probabilities come from solving the chain's linear system exactly — dense
//! Gaussian elimination for small chains, Gauss–Seidel to a 1e-14 tolerance for large ones —
//! never from random simulation, so results are identical on every run.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use rustc_hash::FxHashMap;

use super::labels::Labels;
use super::{journeys, no_touch, Credit, Fitted, Model, Target};
use crate::paths::{Path, PathSet};

pub struct Markov {
    pub order: usize,
    pub collapse: bool,
}

pub const START: u32 = 0;
pub const CONVERSION: u32 = 1;
pub const NULL: u32 = 2;
const DENSE_LIMIT: usize = 250;
const TOLERANCE: f64 = 1e-14;

/// The fitted chain: states, transition counts, and what removing each label does.
pub struct Chain {
    /// State → its labels (empty for the three special states).
    pub states: Vec<Vec<u32>>,
    /// (from, to) → journeys making that transition, in state order.
    pub counts: BTreeMap<(u32, u32), f64>,
    pub out_total: Vec<f64>,
    pub p_conversion: f64,
    /// Per label present in the chain (by name): (label, P(conversion) without it, removal effect).
    pub removal: Vec<(u32, f64, f64)>,
}

impl Chain {
    pub fn state_name(&self, s: u32, labels: &Labels) -> String {
        match s {
            START => "(start)".into(),
            CONVERSION => "(conversion)".into(),
            NULL => "(null)".into(),
            _ => self.states[s as usize].iter().map(|&l| labels.names[l as usize].as_str()).collect::<Vec<_>>().join(" > "),
        }
    }

    /// Shares of credit per label (sum 1), by label name.
    pub fn shares(&self) -> Vec<(u32, f64)> {
        let total: f64 = self.removal.iter().map(|r| r.2).sum();
        if total <= 0.0 {
            return Vec::new();
        }
        self.removal.iter().filter(|r| r.2 > 0.0).map(|r| (r.0, r.2 / total)).collect()
    }
}

/// Builds the chain of order `order` and solves it.
pub fn fit_chain(set: &PathSet, labels: &Labels, order: usize, collapse: bool) -> Result<Chain> {
    // Transitions are counted between states numbered as they first appear, found by their
    // labels without allocating (millions of journeys), then renumbered by content (label
    // names) so that every sum and every solve runs in the same order whatever the input
    // order. Each count is summed in journey order either way.
    let mut seen: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
    let mut raw: FxHashMap<(u32, u32), f64> = FxHashMap::default();
    journeys::each(set, labels, collapse, |seq, conv, nulls| {
        let mut prev = START;
        for i in 0..seq.len() {
            let labels_of = &seq[(i + 1).saturating_sub(order)..=i];
            let cur = match seen.get(labels_of) {
                Some(&s) => s,
                None => {
                    let s = seen.len() as u32 + 3;
                    seen.insert(labels_of.to_vec(), s);
                    s
                }
            };
            *raw.entry((prev, cur)).or_default() += conv + nulls;
            prev = cur;
        }
        if conv > 0.0 {
            *raw.entry((prev, CONVERSION)).or_default() += conv;
        }
        if nulls > 0.0 {
            *raw.entry((prev, NULL)).or_default() += nulls;
        }
    })?;
    let mut found: Vec<Vec<u32>> = vec![Vec::new(); seen.len()];
    for (labels_of, s) in seen {
        found[s as usize - 3] = labels_of;
    }
    let mut by_content: Vec<u32> = (0..found.len() as u32).collect();
    let ranks = |s: &[u32]| -> Vec<u32> { s.iter().map(|&l| labels.rank[l as usize]).collect() };
    by_content.sort_by_cached_key(|&f| ranks(&found[f as usize]));
    let mut renumber: Vec<u32> = vec![START, CONVERSION, NULL];
    renumber.resize(found.len() + 3, 0);
    let mut states: Vec<Vec<u32>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for f in by_content {
        renumber[f as usize + 3] = states.len() as u32;
        states.push(std::mem::take(&mut found[f as usize]));
    }
    let counts: BTreeMap<(u32, u32), f64> = raw.into_iter().map(|((a, b), c)| ((renumber[a as usize], renumber[b as usize]), c)).collect();
    let mut out_total = vec![0.0; states.len()];
    for (&(a, _), &c) in &counts {
        out_total[a as usize] += c;
    }
    let removed_none = vec![false; states.len()];
    let p = solve(&states, &counts, &out_total, &removed_none)?;
    let mut present: Vec<u32> = states.iter().flatten().copied().collect();
    present.sort_by_key(|&l| labels.rank[l as usize]);
    present.dedup();
    let mut removal = Vec::with_capacity(present.len());
    for l in present {
        let removed: Vec<bool> = states.iter().map(|s| s.contains(&l)).collect();
        let pr = solve(&states, &counts, &out_total, &removed)?;
        let effect = if p > 0.0 { (1.0 - pr / p).max(0.0) } else { 0.0 };
        removal.push((l, pr, effect));
    }
    Ok(Chain { states, counts, out_total, p_conversion: p, removal })
}

/// P(reaching conversion from start) with the `removed` states sending everything to null.
fn solve(states: &[Vec<u32>], counts: &BTreeMap<(u32, u32), f64>, out_total: &[f64], removed: &[bool]) -> Result<f64> {
    // Unknowns: transient states that are not removed (start is never removed).
    let mut index = vec![usize::MAX; states.len()];
    let mut vars = Vec::new();
    for s in 0..states.len() {
        if s as u32 == CONVERSION || s as u32 == NULL || removed[s] || out_total[s] <= 0.0 {
            continue;
        }
        index[s] = vars.len();
        vars.push(s);
    }
    if index[START as usize] == usize::MAX {
        return Ok(0.0);
    }
    let n = vars.len();
    // Rows: x_s − Σ_t P(s,t) x_t = P(s, conversion).
    let mut rows: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    let mut rhs = vec![0.0; n];
    for (&(a, b), &c) in counts {
        let i = index[a as usize];
        if i == usize::MAX {
            continue;
        }
        let p = c / out_total[a as usize];
        if b == CONVERSION {
            rhs[i] += p;
        } else if index[b as usize] != usize::MAX {
            rows[i].push((index[b as usize], p));
        }
    }
    let x = if n <= DENSE_LIMIT { dense(&rows, &rhs)? } else { gauss_seidel(&rows, &rhs)? };
    Ok(x[index[START as usize]].clamp(0.0, 1.0))
}

fn dense(rows: &[Vec<(usize, f64)>], rhs: &[f64]) -> Result<Vec<f64>> {
    let n = rhs.len();
    let mut a = vec![0.0; n * n];
    for (i, row) in rows.iter().enumerate() {
        a[i * n + i] += 1.0;
        for &(j, p) in row {
            a[i * n + j] -= p;
        }
    }
    let mut b = rhs.to_vec();
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| a[x * n + col].abs().total_cmp(&a[y * n + col].abs())).unwrap_or(col);
        if a[pivot * n + col].abs() < 1e-300 {
            bail!("the Markov chain is singular (a state never reaches conversion or null)");
        }
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        let d = a[col * n + col];
        for r in col + 1..n {
            let f = a[r * n + col] / d;
            if f == 0.0 {
                continue;
            }
            for k in col..n {
                a[r * n + k] -= f * a[col * n + k];
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let mut s = b[r];
        for k in r + 1..n {
            s -= a[r * n + k] * x[k];
        }
        x[r] = s / a[r * n + r];
    }
    Ok(x)
}

fn gauss_seidel(rows: &[Vec<(usize, f64)>], rhs: &[f64]) -> Result<Vec<f64>> {
    let n = rhs.len();
    let mut x = vec![0.0; n];
    for _ in 0..1_000_000 {
        let mut delta: f64 = 0.0;
        for i in 0..n {
            let mut v = rhs[i];
            let mut self_p = 0.0;
            for &(j, p) in &rows[i] {
                if j == i {
                    self_p += p;
                } else {
                    v += p * x[j];
                }
            }
            let v = v / (1.0 - self_p);
            delta = delta.max((v - x[i]).abs());
            x[i] = v;
        }
        if delta < TOLERANCE {
            return Ok(x);
        }
    }
    bail!("the Markov chain did not converge to {TOLERANCE} in a million sweeps")
}

struct Fit {
    shares: Vec<(u32, f64)>,
}

impl Fitted for Fit {
    fn credit(&self, set: &PathSet, path: &Path, out: &mut Vec<Credit>) {
        if path.is_empty() || self.shares.is_empty() {
            out.push(no_touch(set, path));
            return;
        }
        out.extend(self.shares.iter().map(|&(l, w)| Credit { target: Target::Label(l), weight: w }));
    }
}

impl Model for Markov {
    fn name(&self) -> &'static str {
        "markov"
    }
    fn description(&self) -> &'static str {
        "Removal effects in an absorbing Markov chain over all journeys (exact linear solve), normalized to conversions and revenue."
    }
    fn parameters(&self) -> Vec<(&'static str, String)> {
        vec![("markov-order", self.order.to_string()), ("collapse-repeats", self.collapse.to_string())]
    }
    fn learns_from_journeys(&self) -> bool {
        true
    }
    /// Every conversion gets the chain's shares, one per value with a removal effect, whatever
    /// its own path.
    fn credits_at_most(&self, _touches: usize, labels: usize) -> usize {
        labels.max(1)
    }
    fn fit(&self, set: &PathSet, labels: &Labels) -> Result<Option<Box<dyn Fitted>>> {
        let chain = fit_chain(set, labels, self.order, self.collapse)?;
        Ok(Some(Box::new(Fit { shares: chain.shares() })))
    }
}

#[cfg(test)]
mod tests {
    use super::super::labels::Dimension;
    use super::super::testkit::*;
    use super::*;

    /// Worked on paper. Journeys: A > B converts; A converts; B fails; A > B fails.
    /// Transitions: start→A 3/4, start→B 1/4; A→B 2/3, A→conv 1/3; B→conv 1/3, B→null 2/3.
    /// P(conv) = 3/4·(1/3 + 2/3·1/3) + 1/4·1/3 = 3/4·5/9 + 1/12 = 5/12 + 1/12 = 1/2.
    /// Without A: start→A goes to null: P = 1/4·1/3 = 1/12, effect 1 − (1/12)/(1/2) = 5/6.
    /// Without B: P = 3/4·1/3 = 1/4, effect 1 − (1/4)/(1/2) = 1/2.
    /// Shares: A = (5/6)/(5/6 + 1/2) = 5/8, B = 3/8.
    #[test]
    fn removal_effects_solved_on_paper() {
        let cfg = config("");
        let set = pathset(
            &[
                journey("j1", &[("A", 0), ("B", DAY)], &[(2 * DAY, 100.0, false)]),
                journey("j2", &[("A", 0)], &[(DAY, 60.0, false)]),
                journey("j3", &[("B", 0)], &[]),
                journey("j4", &[("A", 0), ("B", DAY)], &[]),
            ],
            &cfg,
        );
        let labels = Labels::build(&set, Dimension::Channel);
        let chain = fit_chain(&set, &labels, 1, true).unwrap();
        assert!((chain.p_conversion - 0.5).abs() < 1e-12, "{}", chain.p_conversion);
        let name = |l: u32| labels.names[l as usize].clone();
        let effects: Vec<(String, f64)> = chain.removal.iter().map(|r| (name(r.0), r.2)).collect();
        assert_eq!(effects[0].0, "A");
        assert!((effects[0].1 - 5.0 / 6.0).abs() < 1e-12);
        assert!((effects[1].1 - 0.5).abs() < 1e-12);
        let m = Markov { order: 1, collapse: true };
        let fitted = m.fit(&set, &labels).unwrap().unwrap();
        let mut out = Vec::new();
        fitted.credit(&set, &set.paths[0], &mut out);
        let w: Vec<f64> = out.iter().map(|c| c.weight).collect();
        assert!((w[0] - 5.0 / 8.0).abs() < 1e-12 && (w[1] - 3.0 / 8.0).abs() < 1e-12, "{w:?}");
    }

    #[test]
    fn repeats_collapse_and_dense_equals_iterative() {
        let cfg = config("");
        let set = pathset(
            &[
                journey("j1", &[("A", 0), ("A", 1), ("B", 2), ("C", 3)], &[(DAY, 1.0, false)]),
                journey("j2", &[("C", 0), ("A", 1)], &[]),
                journey("j3", &[("B", 0), ("C", 1), ("B", 2)], &[(DAY, 1.0, false)]),
                journey("j4", &[("A", 0)], &[]),
            ],
            &cfg,
        );
        let labels = Labels::build(&set, Dimension::Channel);
        let chain = fit_chain(&set, &labels, 2, true).unwrap();
        // Order 2 with collapse: states include (A), (A > B), (B > C) ...
        assert!(chain.states.iter().any(|s| s.len() == 2));
        let rows_dense = solve(&chain.states, &chain.counts, &chain.out_total, &vec![false; chain.states.len()]).unwrap();
        assert!((rows_dense - chain.p_conversion).abs() < 1e-15);
        // The iterative solver agrees with the dense one.
        let n = chain.states.len();
        let mut index = vec![usize::MAX; n];
        let mut k = 0;
        for (s, slot) in index.iter_mut().enumerate() {
            if s as u32 != CONVERSION && s as u32 != NULL && chain.out_total[s] > 0.0 {
                *slot = k;
                k += 1;
            }
        }
        let mut rows = vec![Vec::new(); k];
        let mut rhs = vec![0.0; k];
        for (&(a, b), &c) in &chain.counts {
            let i = index[a as usize];
            let p = c / chain.out_total[a as usize];
            if b == CONVERSION {
                rhs[i] += p;
            } else if index[b as usize] != usize::MAX {
                rows[i].push((index[b as usize], p));
            }
        }
        let d = dense(&rows, &rhs).unwrap();
        let g = gauss_seidel(&rows, &rhs).unwrap();
        for (x, y) in d.iter().zip(&g) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
