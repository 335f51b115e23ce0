//! Journeys as data-driven models see them: each distinct sequence of labels, with the
//! conversions and non-converting journeys of the paths that follow it.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

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

/// Calls `f(sequence, conversions, non_converting)` once for every distinct sequence of the
/// paths with at least one touch, in order of first appearance, with the conversions and the
/// non-converting journeys of its paths summed in path order. What the data-driven models learn
/// is a sum over journeys of a function of the sequence, so they see each sequence once rather
/// than once per journey (millions of journeys, thousands of sequences). Conversions with no
/// touch carry nothing to learn from and are left out.
pub fn each(set: &PathSet, labels: &Labels, collapse: bool, mut f: impl FnMut(&[u32], f64, f64)) -> anyhow::Result<()> {
    set.journeys.ensure_all("a data-driven model")?;
    // Paths are numbered by sequence in pieces on every core; the pieces' sequences are then
    // numbered across the run in piece order, which is the order of first appearance.
    let piece = set.paths.len().div_ceil(4 * rayon::current_num_threads().max(1)).max(1 << 14);
    let pieces: Vec<(Vec<Vec<u32>>, Vec<u32>)> = set
        .paths
        .par_chunks(piece)
        .map(|paths| {
            let (mut index, mut seqs, mut of_path) = (FxHashMap::<Vec<u32>, u32>::default(), Vec::new(), Vec::with_capacity(paths.len()));
            let mut buf = Vec::new();
            for p in paths {
                if p.is_empty() {
                    of_path.push(u32::MAX);
                    continue;
                }
                sequence(labels, p, collapse, &mut buf);
                let id = match index.get(buf.as_slice()) {
                    Some(&id) => id,
                    None => {
                        let id = seqs.len() as u32;
                        index.insert(buf.clone(), id);
                        seqs.push(buf.clone());
                        id
                    }
                };
                of_path.push(id);
            }
            (seqs, of_path)
        })
        .collect();
    let mut index = FxHashMap::<Vec<u32>, u32>::default();
    let mut seqs: Vec<Vec<u32>> = Vec::new();
    let mut sums: Vec<(f64, f64)> = Vec::new();
    for ((local, of_path), paths) in pieces.into_iter().zip(set.paths.chunks(piece)) {
        let to_run: Vec<u32> = local
            .into_iter()
            .map(|seq| {
                *index.entry(seq).or_insert_with_key(|seq| {
                    seqs.push(seq.clone());
                    sums.push((0.0, 0.0));
                    seqs.len() as u32 - 1
                })
            })
            .collect();
        for (p, &id) in paths.iter().zip(&of_path) {
            if let Some(&s) = to_run.get(id as usize) {
                let sum = &mut sums[s as usize];
                sum.0 += set.conversion_of(p).map_or(0.0, |c| c.count);
                sum.1 += p.nulls;
            }
        }
    }
    for (seq, (conv, nulls)) in seqs.iter().zip(sums) {
        f(seq, conv, nulls);
    }
    Ok(())
}
