//! Journeys as data-driven models see them: each distinct sequence of labels, with the
//! conversions and non-converting journeys of the paths that follow it.

use std::hash::BuildHasher;

use rayon::prelude::*;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::labels::Labels;
use super::{no_touch, Credit, Fitted, Target};
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
    seqs: Distinct,
    sums: Vec<(f64, f64)>,
    /// The sequence of each conversion's path, by conversion index (`u32::MAX` for a path with
    /// no touch).
    of_conversion: Vec<u32>,
}

/// Distinct label sequences numbered in order of first appearance, laid end to end. Most
/// journeys have a few touches: a sequence of up to four labels (of fewer than 65,535) is found
/// by one number packing them, a longer one by its hash and labels, without a list allocated
/// per sequence or hashed again as the table grows.
struct Distinct {
    labels: Vec<u32>,
    /// Sequence `id` is `labels[ends[id]..ends[id + 1]]`.
    ends: Vec<u32>,
    packs: bool,
    short: FxHashMap<u64, u32>,
    long: hashbrown::HashTable<(u64, u32)>,
}

impl Distinct {
    fn new(labels: &Labels) -> Distinct {
        Distinct {
            labels: Vec::new(),
            ends: vec![0],
            packs: labels.names.len() < u16::MAX as usize,
            short: FxHashMap::default(),
            long: hashbrown::HashTable::new(),
        }
    }

    fn len(&self) -> usize {
        self.ends.len() - 1
    }

    fn get(&self, id: usize) -> &[u32] {
        at(&self.labels, &self.ends, id as u32)
    }

    /// The number of `seq`, the next one if it is new.
    fn id(&mut self, seq: &[u32]) -> u32 {
        let next = self.len() as u32;
        if self.packs && seq.len() <= 4 {
            // Labels shifted by one, so that a shorter sequence leaves zeros no label packs to.
            let key = seq.iter().enumerate().fold(0u64, |k, (i, &l)| k | (u64::from(l) + 1) << (16 * i));
            let id = *self.short.entry(key).or_insert(next);
            if id == next {
                self.push(seq);
            }
            return id;
        }
        let h = FxBuildHasher.hash_one(seq);
        let (labels, ends) = (&self.labels, &self.ends);
        match self.long.entry(h, |&(eh, id)| eh == h && at(labels, ends, id) == seq, |e| e.0) {
            hashbrown::hash_table::Entry::Occupied(o) => o.get().1,
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert((h, next));
                self.push(seq);
                next
            }
        }
    }

    fn push(&mut self, seq: &[u32]) {
        self.labels.extend_from_slice(seq);
        self.ends.push(self.labels.len() as u32);
    }
}

fn at<'a>(labels: &'a [u32], ends: &[u32], id: u32) -> &'a [u32] {
    match ends.get(id as usize..id as usize + 2) {
        Some(&[a, b]) => labels.get(a as usize..b as usize).unwrap_or(&[]),
        _ => &[],
    }
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
        for (id, &(conv, nulls)) in all.sums.iter().enumerate() {
            f(all.seqs.get(id), conv, nulls);
        }
        return Ok(());
    }
    let mut index = FxHashMap::<Vec<u32>, usize>::default();
    type Sums = Vec<(Vec<u32>, f64, f64)>;
    let (mut merged, mut buf): (Sums, Vec<u32>) = (Vec::new(), Vec::new());
    for (id, &(conv, nulls)) in all.sums.iter().enumerate() {
        let short = collapsed(all.seqs.get(id), true, &mut buf).to_vec();
        let i = *index.entry(short).or_insert_with_key(|short| {
            merged.push((short.clone(), 0.0, 0.0));
            merged.len() - 1
        });
        merged[i].1 += conv;
        merged[i].2 += nulls;
    }
    for (seq, conv, nulls) in &merged {
        f(seq, *conv, *nulls);
    }
    Ok(())
}

/// `seq` with consecutive repeats collapsed (in `buf`) when asked, else `seq` itself.
fn collapsed<'a>(seq: &'a [u32], collapse: bool, buf: &'a mut Vec<u32>) -> &'a [u32] {
    if !collapse {
        return seq;
    }
    buf.clear();
    buf.extend_from_slice(seq);
    buf.dedup();
    buf
}

/// A data-driven model's credits, worked out once per distinct sequence and looked up for each
/// converting path: a path's credits depend on its sequence alone, and millions of paths share
/// a few thousand sequences.
pub struct PerSequence {
    of_conversion: Vec<u32>,
    /// Sequence `id`'s credits are `credits[ends[id]..ends[id + 1]]`; none means the path's
    /// conversion goes to the no-touch bucket.
    credits: Vec<(u32, f64)>,
    ends: Vec<u32>,
}

impl PerSequence {
    /// `f(sequence, out)` appends the credits (label, weight) of a path with that sequence
    /// (consecutive repeats collapsed when asked), or none to leave it to the no-touch bucket.
    pub fn build(
        set: &PathSet,
        labels: &Labels,
        collapse: bool,
        mut f: impl FnMut(&[u32], &mut Vec<(u32, f64)>),
    ) -> anyhow::Result<PerSequence> {
        let all = prepare(set, labels)?;
        // Only the sequences of converting paths are credited: most sequences are of journeys
        // that did not convert, and the others are left with no credits.
        let mut credited = vec![false; all.seqs.len()];
        for &id in &all.of_conversion {
            if let Some(c) = credited.get_mut(id as usize) {
                *c = true;
            }
        }
        let (mut credits, mut ends, mut short) = (Vec::new(), vec![0u32], Vec::new());
        for (id, &wanted) in credited.iter().enumerate() {
            if !wanted {
                ends.push(credits.len() as u32);
                continue;
            }
            f(collapsed(all.seqs.get(id), collapse, &mut short), &mut credits);
            ends.push(credits.len() as u32);
        }
        Ok(PerSequence { of_conversion: all.of_conversion.clone(), credits, ends })
    }
}

impl Fitted for PerSequence {
    fn credit(&self, set: &PathSet, path: &Path, out: &mut Vec<Credit>) {
        let id = path.conversion.and_then(|c| self.of_conversion.get(c as usize)).copied().unwrap_or(u32::MAX);
        let credits = match self.ends.get(id as usize..id as usize + 2) {
            Some(&[a, b]) => &self.credits[a as usize..b as usize],
            _ => &[],
        };
        if credits.is_empty() {
            out.push(no_touch(set, path));
        }
        out.extend(credits.iter().map(|&(l, w)| Credit { target: Target::Label(l), weight: w }));
    }
}

/// [`Sequences`] of a path set: paths are numbered by sequence in pieces on every core, and the
/// pieces' sequences are then numbered across the run in piece order, which is the order of
/// first appearance.
fn distinct(set: &PathSet, labels: &Labels) -> Sequences {
    let piece = set.paths.len().div_ceil(4 * rayon::current_num_threads().max(1)).max(1 << 14);
    let pieces: Vec<(Distinct, Vec<u32>)> = set
        .paths
        .par_chunks(piece)
        .map(|paths| {
            let (mut seqs, mut of_path, mut buf) = (Distinct::new(labels), Vec::with_capacity(paths.len()), Vec::new());
            for p in paths {
                if p.is_empty() {
                    of_path.push(u32::MAX);
                    continue;
                }
                sequence(labels, p, false, &mut buf);
                of_path.push(seqs.id(&buf));
            }
            (seqs, of_path)
        })
        .collect();
    let (mut seqs, mut sums) = (Distinct::new(labels), Vec::new());
    let mut of_conversion = vec![u32::MAX; set.conversions.len()];
    for ((local, of_path), paths) in pieces.into_iter().zip(set.paths.chunks(piece)) {
        let to_run: Vec<u32> = (0..local.len()).map(|id| seqs.id(local.get(id))).collect();
        sums.resize(seqs.len(), (0.0, 0.0));
        for (p, &id) in paths.iter().zip(&of_path) {
            if let Some(&s) = to_run.get(id as usize) {
                let sum = &mut sums[s as usize];
                sum.0 += set.conversion_of(p).map_or(0.0, |c| c.count);
                sum.1 += p.nulls;
                if let Some(slot) = p.conversion.and_then(|c| of_conversion.get_mut(c as usize)) {
                    *slot = s;
                }
            }
        }
    }
    Sequences { seqs, sums, of_conversion }
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

    /// Every converting path gets the credits worked out for its own sequence (collapsed when
    /// asked), and a path with no touch, or a sequence given none, goes to the no-touch bucket.
    #[test]
    fn per_sequence_credits_are_each_paths_own() {
        let cfg = config("");
        let set = pathset(
            &[
                journey("j1", &[("A", 0), ("A", 1), ("B", 2)], &[(DAY, 10.0, false), (3 * DAY, 1.0, false)]),
                journey("j2", &[("B", 0), ("A", 1)], &[(DAY, 1.0, false)]),
                journey("j3", &[("A", 0), ("B", 1)], &[]),
                journey("j4", &[("C", 0), ("A", 1), ("C", 2)], &[(DAY, 1.0, true)]),
                journey("j5", &[], &[(DAY, 1.0, true)]),
            ],
            &cfg,
        );
        let labels = Labels::build(&set, Dimension::Channel);
        // A credit that names its sequence: the label, weighted by its position and the length;
        // sequences starting with C get none.
        let own = |seq: &[u32]| -> Vec<(u32, f64)> {
            if seq.first().is_some_and(|&l| labels.names[l as usize] == "C") {
                return Vec::new();
            }
            seq.iter().enumerate().map(|(i, &l)| (l, (i + 1) as f64 + 10.0 * seq.len() as f64)).collect()
        };
        for collapse in [false, true] {
            let table = PerSequence::build(&set, &labels, collapse, |seq, out| out.extend(own(seq))).unwrap();
            let mut buf = Vec::new();
            for p in &set.paths[..set.converting] {
                let mut got = Vec::new();
                table.credit(&set, p, &mut got);
                sequence(&labels, p, collapse, &mut buf);
                let want: Vec<String> = match own(&buf) {
                    w if w.is_empty() || p.is_empty() => vec![format!("{:?}", no_touch(&set, p))],
                    w => w.iter().map(|&(l, x)| format!("{:?}", Credit { target: Target::Label(l), weight: x })).collect(),
                };
                assert_eq!(got.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>(), want, "collapse {collapse}, path {p:?}");
            }
        }
    }

    #[test]
    fn sequences_are_numbered_alike_packed_or_not() {
        let set = pathset(&[journey("j1", &[("A", 0)], &[])], &config(""));
        let labels = Labels::build(&set, Dimension::Channel);
        let seqs: [&[u32]; 9] =
            [&[1], &[1, 2], &[0], &[1], &[0, 0, 0, 0], &[0, 0, 0, 0, 0], &[1, 2], &[0, 0, 0, 0, 0], &[3, 1, 4, 1, 5, 9]];
        let mut packed = Distinct::new(&labels);
        let mut long = Distinct { packs: false, ..Distinct::new(&labels) };
        assert!(packed.packs);
        let ids: Vec<u32> = seqs.iter().map(|s| packed.id(s)).collect();
        assert_eq!(ids, [0, 1, 2, 0, 3, 4, 1, 4, 5], "first appearance order; a prefix is not the same sequence");
        assert_eq!(seqs.iter().map(|s| long.id(s)).collect::<Vec<u32>>(), ids);
        for (s, &id) in seqs.iter().zip(&ids) {
            assert_eq!((packed.get(id as usize), long.get(id as usize)), (*s, *s));
        }
        assert_eq!(packed.len(), 6);
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
