//! Journeys as data-driven models see them: each path's sequence of labels, with the
//! conversions and non-converting journeys it stands for.

use super::labels::Labels;
use crate::paths::{Path, PathSet};

/// The labels of a path's touches, with consecutive repeats collapsed when asked.
pub fn sequence(labels: &Labels, path: &Path, collapse: bool, out: &mut Vec<u32>) {
    out.clear();
    for i in path.range() {
        let l = labels.of_touch[i];
        if collapse && out.last() == Some(&l) {
            continue;
        }
        out.push(l);
    }
}

/// Calls `f(sequence, conversions, non_converting)` for every path with at least one touch.
/// Conversions with no touch carry nothing to learn from and are left out.
pub fn each(set: &PathSet, labels: &Labels, collapse: bool, mut f: impl FnMut(&[u32], f64, f64)) -> anyhow::Result<()> {
    set.journeys.ensure_all("a data-driven model")?;
    let mut buf = Vec::new();
    for p in &set.paths {
        if p.is_empty() {
            continue;
        }
        sequence(labels, p, collapse, &mut buf);
        let conv = set.conversion_of(p).map_or(0.0, |c| c.count);
        f(&buf, conv, p.nulls);
    }
    Ok(())
}
