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

/// The distinct label sequences of a path set's journeys (repeats kept), in order of first
/// appearance, each with the conversions and the non-converting journeys of its paths summed
/// in path order.
pub struct Sequences {
    seqs: Vec<Vec<u32>>,
    sums: Vec<(f64, f64)>,
}

/// Finds the journeys' sequences before the models ask for them, so that they are found on
/// every core rather than by the first model to ask while the others wait.
pub fn prepare<'l>(set: &PathSet, labels: &'l Labels) -> anyhow::Result<&'l Sequences> {
    set.journeys.ensure_all("a data-driven model")?;
    Ok(labels.sequences.get_or_init(|| distinct(set, labels)))
}

/// Calls `f(sequence, conversions, non_converting)` once for every distinct sequence of the
/// paths with at least one touch, in order of first appearance, with the conversions and the
/// non-converting journeys of its paths summed in path order (with consecutive repeats
/// collapsed when asked: the sums of the sequences that collapse alike, in their order). What
/// the data-driven models learn is a sum over journeys of a function of the sequence, so they
/// see each sequence once rather than once per journey (millions of journeys, thousands of
/// sequences). Conversions with no touch carry nothing to learn from and are left out.
pub fn each(set: &PathSet, labels: &Labels, collapse: bool, mut f: impl FnMut(&[u32], f64, f64)) -> anyhow::Result<()> {
    let all = prepare(set, labels)?;
    if !collapse {
        for (seq, &(conv, nulls)) in all.seqs.iter().zip(&all.sums) {
            f(seq, conv, nulls);
        }
        return Ok(());
    }
    let mut index = FxHashMap::<Vec<u32>, usize>::default();
    let mut collapsed: Vec<(Vec<u32>, f64, f64)> = Vec::new();
    for (seq, &(conv, nulls)) in all.seqs.iter().zip(&all.sums) {
        let mut short = seq.clone();
        short.dedup();
        let i = *index.entry(short).or_insert_with_key(|short| {
            collapsed.push((short.clone(), 0.0, 0.0));
            collapsed.len() - 1
        });
        collapsed[i].1 += conv;
        collapsed[i].2 += nulls;
    }
    for (seq, conv, nulls) in &collapsed {
        f(seq, *conv, *nulls);
    }
    Ok(())
}

/// [`Sequences`] of a path set: paths are numbered by sequence in pieces on every core, and the
/// pieces' sequences are then numbered across the run in piece order, which is the order of
/// first appearance.
fn distinct(set: &PathSet, labels: &Labels) -> Sequences {
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
                sequence(labels, p, false, &mut buf);
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
    let (mut seqs, mut sums): (Vec<Vec<u32>>, Vec<(f64, f64)>) = (Vec::new(), Vec::new());
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
    Sequences { seqs, sums }
}

#[cfg(test)]
mod tests {
    use super::super::labels::Dimension;
    use super::super::testkit::*;
    use super::*;

    /// Every journey's sequence and counts, as `each` gives them, by label name.
    fn seen(set: &PathSet, labels: &Labels, collapse: bool) -> Vec<(String, f64, f64)> {
        let mut out = Vec::new();
        each(set, labels, collapse, |seq, conv, nulls| {
            let names: Vec<&str> = seq.iter().map(|&l| labels.names[l as usize].as_str()).collect();
            out.push((names.join(">"), conv, nulls));
        })
        .unwrap();
        out
    }

    #[test]
    fn each_sequence_once_with_its_journeys_summed() {
        let cfg = config("");
        let set = pathset(
            &[
                journey("j1", &[("A", 0), ("A", 1), ("B", 2)], &[(DAY, 1.0, false)]),
                journey("j2", &[("A", 0), ("B", 1)], &[]),
                journey("j3", &[("A", 0), ("B", 1)], &[(DAY, 1.0, false)]),
                journey("j4", &[("B", 0)], &[]),
                journey("j5", &[("A", 0), ("A", 1), ("B", 2)], &[(DAY, 1.0, false)]),
            ],
            &cfg,
        );
        let labels = Labels::build(&set, Dimension::Channel);
        // Per path, in path order: what the models saw before sequences were grouped.
        let mut per_path: Vec<(String, f64, f64)> = Vec::new();
        let mut buf = Vec::new();
        for p in set.paths.iter().filter(|p| !p.is_empty()) {
            sequence(&labels, p, false, &mut buf);
            let names: Vec<&str> = buf.iter().map(|&l| labels.names[l as usize].as_str()).collect();
            per_path.push((names.join(">"), set.conversion_of(p).map_or(0.0, |c| c.count), p.nulls));
        }
        let mut want: Vec<(String, f64, f64)> = Vec::new();
        for (seq, conv, nulls) in per_path {
            match want.iter_mut().find(|w| w.0 == seq) {
                Some(w) => (w.1, w.2) = (w.1 + conv, w.2 + nulls),
                None => want.push((seq, conv, nulls)),
            }
        }
        let got = seen(&set, &labels, false);
        assert_eq!(got, want);
        let mut sorted = got.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            sorted,
            [("A>A>B".to_string(), 2.0, 0.0), ("A>B".to_string(), 1.0, 1.0), ("B".to_string(), 0.0, 1.0)],
            "three sequences, each once, with its journeys' counts"
        );
        // Collapsed, A>A>B and A>B are one sequence, first where A>A>B or A>B first was.
        let collapsed = seen(&set, &labels, true);
        let first = |s: &str| got.iter().position(|g| g.0 == s).unwrap();
        let ab_first = first("A>A>B").min(first("A>B"));
        let want_ab = ("A>B".to_string(), 3.0, 1.0);
        assert_eq!(collapsed.len(), 2);
        assert_eq!(collapsed[usize::from(ab_first > first("B"))], want_ab);
    }
}
