//! Touch labels under a report dimension (channel, source, medium, campaign, source/medium):
//! the vocabulary data-driven models learn over, interned once per run.

use anyhow::{bail, Result};
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::intern::Sym;
use crate::paths::{PTouch, PathSet};

pub const NOT_SET: &str = "(not set)";

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

    /// The value of a touch in this dimension; empty tags read `(not set)`.
    pub fn value(self, set: &PathSet, t: &PTouch) -> String {
        self.value_of(set, t.channel, t.source, t.medium, t.campaign)
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
        // Most touches repeat a few label combinations, so cache by the touch's interned tags:
        // by the one tag's symbol, in an array, where the dimension is one tag.
        let mut by_tags: FxHashMap<(u32, u32, u32, u32), u32> = FxHashMap::default();
        let mut by_tag: Vec<u32> = vec![u32::MAX; set.data.strings.len()];
        let one_tag = |t: &PTouch| match dimension {
            Dimension::Channel => Some(t.channel),
            Dimension::Source => Some(t.source),
            Dimension::Medium => Some(t.medium),
            Dimension::Campaign => Some(t.campaign),
            Dimension::SourceMedium => None,
        };
        let of_touch: Vec<u32> = if !matches!(dimension, Dimension::SourceMedium) {
            // One tag: each symbol's label is made where the symbol first appears, found chunk
            // by chunk on every core and taken in chunk order (so labels are numbered as one
            // pass would number them). The same pass notes every touch's symbol, which then
            // becomes its label in place: the touches (32 bytes each) are read once, not twice.
            const CHUNK: usize = 1 << 16;
            let tag = |t: &PTouch| one_tag(t).map_or(0, |s| s as usize);
            let n = by_tag.len();
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
                            let s = tag(t);
                            *o = s as u32;
                            if let Some(s) = seen.get_mut(s).filter(|s| !**s) {
                                *s = true;
                                firsts.push(c * CHUNK + i);
                            }
                        }
                        for &i in &firsts {
                            seen[tag(&set.touches[i])] = false;
                        }
                        firsts
                    },
                )
                .collect();
            for i in firsts.into_iter().flatten() {
                let t = &set.touches[i];
                if by_tag[tag(t)] == u32::MAX {
                    let v = dimension.value(set, t);
                    by_tag[tag(t)] = *ids.entry(v.clone()).or_insert_with(|| {
                        names.push(v);
                        (names.len() - 1) as u32
                    });
                }
            }
            of_touch.par_iter_mut().with_min_len(1 << 14).for_each(|l| *l = by_tag.get(*l as usize).copied().unwrap_or(0));
            of_touch
        } else {
            set.touches
                .iter()
                .map(|t| {
                    let mut label = || {
                        let v = dimension.value(set, t);
                        *ids.entry(v.clone()).or_insert_with(|| {
                            names.push(v);
                            (names.len() - 1) as u32
                        })
                    };
                    match one_tag(t).and_then(|s| by_tag.get_mut(s as usize)) {
                        Some(slot) => {
                            if *slot == u32::MAX {
                                *slot = label();
                            }
                            *slot
                        }
                        None => *by_tags.entry((t.channel, t.source, t.medium, t.campaign)).or_insert_with(label),
                    }
                })
                .collect()
        };
        let mut order: Vec<u32> = (0..names.len() as u32).collect();
        order.sort_by(|&a, &b| names[a as usize].cmp(&names[b as usize]));
        let mut rank = vec![0u32; names.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        Labels { dimension, names, of_touch, rank, sequences: std::sync::OnceLock::new() }
    }
}
