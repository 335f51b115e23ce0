//! Touch labels under a report dimension (channel, source, medium, campaign, source/medium):
//! the vocabulary data-driven models learn over, interned once per run.

use anyhow::{bail, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::intern::Sym;
use crate::paths::{PTouch, PathSet};

pub const NOT_SET: &str = "(not set)";
const SOURCE_MEDIUM_DIRECT: &str = "(direct) / (none)";

/// The report's row dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dimension {
    Channel,
    Source,
    Medium,
    Campaign,
    SourceMedium,
}

impl Dimension {
    pub fn parse(s: &str) -> Result<Dimension> {
        Ok(match s.trim() {
            "channel" => Dimension::Channel,
            "source" => Dimension::Source,
            "medium" => Dimension::Medium,
            "campaign" => Dimension::Campaign,
            "source-medium" | "source_medium" => Dimension::SourceMedium,
            other => bail!("`{other}` is not a report dimension (channel, source, medium, campaign, source-medium)"),
        })
    }

    /// Column name in report files.
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Channel => "channel",
            Dimension::Source => "source",
            Dimension::Medium => "medium",
            Dimension::Campaign => "campaign",
            Dimension::SourceMedium => "source_medium",
        }
    }

    /// The value a direct visit has in this dimension, which an online order with no touch is
    /// credited to (it came to the site with no recorded source): `Direct`, `(direct)`,
    /// `(none)`, `(not set)` or `(direct) / (none)`.
    pub fn direct(self) -> &'static str {
        match self {
            Dimension::Channel => crate::channels::DIRECT,
            Dimension::Source => crate::channels::SOURCE_DIRECT,
            Dimension::Medium => crate::channels::MEDIUM_NONE,
            Dimension::Campaign => NOT_SET,
            Dimension::SourceMedium => SOURCE_MEDIUM_DIRECT,
        }
    }

    /// The value of a touch in this dimension; empty tags read `(not set)`.
    pub fn value(self, set: &PathSet, t: &PTouch) -> String {
        let g = set.tags(t);
        self.value_of(set, g.channel, g.source, g.medium, g.campaign)
    }

    /// The value of interned tags in this dimension (touches and cost rows alike).
    pub fn value_of(self, set: &PathSet, channel: Sym, source: Sym, medium: Sym, campaign: Sym) -> String {
        let label = |s| {
            let v = set.label(s);
            if v.is_empty() {
                NOT_SET.to_string()
            } else {
                v.to_string()
            }
        };
        match self {
            Dimension::Channel => label(channel),
            Dimension::Source => label(source),
            Dimension::Medium => label(medium),
            Dimension::Campaign => label(campaign),
            Dimension::SourceMedium => format!("{} / {}", label(source), label(medium)),
        }
    }
}

/// The label of every touch under one dimension, as dense ids.
pub struct Labels {
    pub dimension: Dimension,
    pub names: Vec<String>,
    pub of_touch: Vec<u32>,
    /// Byte-order rank of each label's name. Ids follow input order; anything whose floating
    /// point sums or output order depend on label order must go by rank.
    pub rank: Vec<u32>,
    /// The journeys' distinct sequences under these labels, found once for every data-driven
    /// model (see [`super::journeys::each`]).
    pub(crate) sequences: std::sync::OnceLock<super::journeys::Sequences>,
}

impl Labels {
    pub fn build(set: &PathSet, dimension: Dimension) -> Labels {
        let mut ids: FxHashMap<String, u32> = FxHashMap::default();
        let mut names = Vec::new();
        // A touch's label is its tags' (see `crate::normalize::TouchTags`): each tags' label is made
        // where they first appear, found chunk by chunk on every core and taken in chunk order
        // (so labels are numbered as one pass over the touches would number them). The same
        // pass notes every touch's tags, which then become its label in place: the touches are
        // read once, not twice.
        const CHUNK: usize = 1 << 16;
        let n = set.data.tags.len();
        let mut of_touch = vec![0u32; set.touches.len()];
        let firsts: Vec<Vec<usize>> = of_touch
            .par_chunks_mut(CHUNK)
            .zip(set.touches.par_chunks(CHUNK))
            .enumerate()
            .map_init(
                || vec![false; n],
                |seen, (c, (out, chunk))| {
                    let mut firsts = Vec::new();
                    for (i, (o, t)) in out.iter_mut().zip(chunk).enumerate() {
                        *o = t.tags;
                        if let Some(s) = seen.get_mut(t.tags as usize).filter(|s| !**s) {
                            *s = true;
                            firsts.push(c * CHUNK + i);
                        }
                    }
                    for &i in &firsts {
                        seen[set.touches[i].tags as usize] = false;
                    }
                    firsts
                },
            )
            .collect();
        let mut of_tags = vec![u32::MAX; n];
        for i in firsts.into_iter().flatten() {
            let t = &set.touches[i];
            if of_tags[t.tags as usize] == u32::MAX {
                let v = dimension.value(set, t);
                of_tags[t.tags as usize] = *ids.entry(v.clone()).or_insert_with(|| {
                    names.push(v);
                    (names.len() - 1) as u32
                });
            }
        }
        of_touch.par_iter_mut().with_min_len(1 << 14).for_each(|l| *l = of_tags.get(*l as usize).copied().unwrap_or(0));
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        order.sort_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        let mut rank = vec![0u32; names.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        Labels { dimension, names, of_touch, rank, sequences: std::sync::OnceLock::new() }
    }
}
