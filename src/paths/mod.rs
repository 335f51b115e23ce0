//! Paths: each customer's touches in time order, cut into the path before every conversion
//! (touches in the lookback window, after the customer's previous conversion), plus the
//! non-converting paths that data-driven models learn from.
//!
//! Conventions, chosen so results never depend on input row order:
//! - the window is closed at both ends: a touch exactly `lookback` before the conversion counts,
//!   and so does a touch at the conversion's own second;
//! - with `reset_after_conversion`, a touch at the very second of the previous conversion belongs
//!   to that conversion's path, not the next one;
//! - touches at the same instant are ordered visit, message, call, then by channel, source,
//!   medium and campaign (byte order); identical touches (same customer, time and tags) count once.

pub mod table;

use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use rayon::prelude::*;

use crate::config::Config;
use crate::identity::{hash_id, hex_key, stitch, Stitching};
use crate::intern::Sym;
use crate::normalize::{Dataset, TouchKind, TouchTags};

/// A touch placed on a customer's timeline.
#[derive(Clone, Copy, Debug)]
pub struct PTouch {
    pub ts: i64,
    pub customer: u32,
    /// Its kind, file and tags: an index into the dataset's [`TouchTags`] (see [`PathSet::tags`]).
    pub tags: u32,
}

// Timelines are built in the memory of the touches they come from (see `assemble`), which
// needs the two to have one layout.
const _: () = assert!(
    std::mem::size_of::<PTouch>() == std::mem::size_of::<crate::normalize::Touch>()
        && std::mem::align_of::<PTouch>() == std::mem::align_of::<crate::normalize::Touch>()
);

/// A conversion with its customer, in canonical order (time, online before offline, id).
#[derive(Clone, Copy, Debug)]
pub struct PConversion {
    pub id: Sym,
    pub ts: i64,
    pub revenue: f64,
    pub offline: bool,
    pub customer: u32,
    pub line: u64,
    /// How many conversions this stands for: 1 for an order or receipt, the row's count for an
    /// aggregated path table.
    pub count: f64,
}

/// One path: touches `start..end` of `PathSet::touches`. `floor` is the earliest touch a model
/// may look back to (the customer's first touch, or the first after the previous conversion).
#[derive(Clone, Debug)]
pub struct Path {
    pub conversion: Option<u32>,
    pub customer: u32,
    pub start: u32,
    pub end: u32,
    pub floor: u32,
    /// Non-converting journeys this path stands for (1 for a customer's, the row's count for a
    /// path table, 0 for a converting path).
    pub nulls: f64,
}

impl Path {
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Customers' timelines and paths: the input of every model.
pub struct PathSet {
    /// The normalized inputs. Their touches have been moved into `touches` (as timelines).
    pub data: Dataset,
    pub stitching: Stitching,
    pub touches: Vec<PTouch>,
    pub conversions: Vec<PConversion>,
    /// Converting paths in the order of `conversions`, then non-converting paths.
    pub paths: Vec<Path>,
    pub converting: usize,
    pub lookback: i64,
    /// Customers with at least one touch.
    pub customers_with_touches: usize,
    /// Byte-order rank of every interned string, for content-based ordering.
    pub ranks: Vec<u32>,
    /// Whether touches carry real times (false for an aggregated path table).
    pub timed: bool,
    /// Which journeys `paths` holds: non-converting ones are listed only when asked for.
    pub journeys: Journeys,
    /// File and customer of every call as read, duplicates included: match rates count records.
    /// The dataset's own touches are dropped once the timelines are built (they are as large).
    pub calls: Vec<(u16, u32)>,
}

impl PathSet {
    pub fn label(&self, s: Sym) -> &str {
        self.data.strings.resolve(s)
    }

    /// A touch's kind, file and tags.
    #[inline]
    pub fn tags(&self, t: &PTouch) -> &TouchTags {
        &self.data.tags[t.tags as usize]
    }

    pub fn path_touches(&self, p: &Path) -> &[PTouch] {
        &self.touches[p.range()]
    }

    pub fn conversion_of(&self, p: &Path) -> Option<&PConversion> {
        p.conversion.map(|c| &self.conversions[c as usize])
    }

    /// The customer's display key; customers with no usable identifier are named by the
    /// conversion they made.
    pub fn customer_key(&self, customer: u32, conv: Option<&PConversion>, salt: &str) -> String {
        if let Some(k) = self.stitching.key(&self.data.graph, customer) {
            return hex_key(k);
        }
        match conv {
            Some(c) => format!("anon-{}", hash_id(salt, &format!("{}{}", if c.offline { "r" } else { "o" }, self.label(c.id)))),
            None => "anon".to_string(),
        }
    }
}

/// Which paths a run builds. Non-converting journeys are what data-driven models learn from
/// and what path statistics count; a report of heuristic models credits converting paths only,
/// and listing the others costs time and memory for nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Journeys {
    /// Converting paths, then every non-converting one.
    All,
    /// Converting paths only.
    Converting,
}

impl Journeys {
    /// Fails unless the non-converting journeys were built: reading `paths` without them would
    /// count none, a wrong number rather than an error.
    pub fn ensure_all(self, what: &str) -> anyhow::Result<()> {
        match self {
            Journeys::All => Ok(()),
            Journeys::Converting => {
                anyhow::bail!("internal error: {what} needs the non-converting journeys, and this run did not build them")
            }
        }
    }
}

/// Stitches customers and builds all their paths.
pub fn build(data: Dataset, cfg: &Config) -> PathSet {
    let stitching = stitch_customers(&data, cfg);
    assemble(data, stitching, cfg, Journeys::All)
}

/// The customers of a dataset: the first half of [`build`], timed on its own.
pub fn stitch_customers(data: &Dataset, cfg: &Config) -> Stitching {
    stitch(&data.graph, cfg.max_customers_per_identifier, &cfg.salt)
}

/// Builds the paths of customers already stitched: the second half of [`build`].
pub fn assemble(mut data: Dataset, stitching: Stitching, cfg: &Config, journeys: Journeys) -> PathSet {
    if !stitching.refused.is_empty() {
        let list: Vec<String> =
            stitching.refused.iter().take(10).map(|r| format!("{} {} ({} customers)", r.kind.name(), r.value, r.customers)).collect();
        data.summary.notes.push(format!(
            "{} identifier(s) refused for joining (each would join more than {} customers): {}",
            stitching.refused.len(),
            cfg.max_customers_per_identifier,
            list.join(", ")
        ));
    }
    let ranks = data.strings.ranks();
    crate::log::step("labels ranked");
    let rank = |s: Sym| ranks[s as usize];

    // Timelines. The dataset's touches are not kept: at 50M visits they are 0.8 GB.
    let raw = std::mem::take(&mut data.touches);
    let tags_of = |t: u32| &data.tags[t as usize];
    let calls: Vec<(u16, u32)> = raw
        .iter()
        .filter(|t| tags_of(t.tags).kind == TouchKind::Call)
        .map(|t| (tags_of(t.tags).file, stitching.customer_of_record[t.record as usize]))
        .collect();
    // Built in the touches' own memory (a touch and a timeline entry are the same size), so the
    // two never sit side by side: 0.8 GB less at this step at 50M visits, at the same speed.
    let mut touches: Vec<PTouch> =
        raw.into_iter().map(|t| PTouch { ts: t.ts, customer: stitching.customer_of_record[t.record as usize], tags: t.tags }).collect();
    // The order of touches at one instant is their tags' order: kind, then channel, source,
    // medium and campaign in byte order, then file. Tags that differ in their file alone are
    // one touch read twice: they share a class.
    let (order, class) = tag_order(&data.tags, rank);
    crate::log::step("timelines placed");
    // Sorting on (customer, time) alone is much cheaper; touches that share both (rare) are
    // then ordered by their tags, which gives the same order as sorting on the full key.
    touches.par_sort_unstable_by_key(|t| (t.customer, t.ts));
    touches.par_chunk_by_mut(|a, b| (a.customer, a.ts) == (b.customer, b.ts)).for_each(|run| {
        if run.len() > 1 {
            run.sort_unstable_by_key(|t| order[t.tags as usize]);
        }
    });
    crate::log::step("timelines sorted");
    let mut dups = vec![0u64; data.summary.files.len()];
    let same = |t: &PTouch| (t.customer, t.ts, class[t.tags as usize]);
    touches.dedup_by(|t, kept| {
        let dup = same(t) == same(kept);
        if dup {
            dups[tags_of(t.tags).file as usize] += 1;
        }
        dup
    });
    for (f, n) in dups.into_iter().enumerate() {
        data.summary.files[f].refilter("duplicate touch: same customer, time and tags (kept once)", n);
    }

    crate::log::step("duplicates dropped");
    // Conversions, canonical order, sorted on keys gathered once (comparing through the ranks
    // costs a cache miss per look). Ids are unique per kind, so no two keys are equal.
    let mut keyed: Vec<((i64, bool, u32), PConversion)> = data
        .conversions
        .par_iter()
        .map(|c| {
            let pc = PConversion {
                id: c.id,
                ts: c.ts,
                revenue: c.revenue,
                offline: c.offline,
                customer: stitching.customer_of_record[c.record as usize],
                line: c.line,
                count: 1.0,
            };
            ((pc.ts, pc.offline, rank(pc.id)), pc)
        })
        .collect();
    keyed.par_sort_unstable_by_key(|k| k.0);
    let conversions: Vec<PConversion> = keyed.into_par_iter().map(|k| k.1).collect();

    crate::log::step("conversions ordered");
    // Per customer: touch range, and conversions in time order.
    let n_customers = stitching.customers();
    // Timelines are sorted by customer: a customer's range starts where the customer before
    // differs and ends where the one after does, which every core can tell on its own share.
    let bound = |v: u32| -> Vec<AtomicU32> { (0..n_customers).into_par_iter().with_min_len(1 << 14).map(|_| AtomicU32::new(v)).collect() };
    let (starts, ends) = (bound(u32::MAX), bound(0));
    touches.par_iter().enumerate().with_min_len(1 << 14).for_each(|(i, t)| {
        let c = t.customer as usize;
        if i == 0 || touches[i - 1].customer != t.customer {
            starts[c].store(i as u32, Relaxed);
        }
        if touches.get(i + 1).is_none_or(|next| next.customer != t.customer) {
            ends[c].store(i as u32 + 1, Relaxed);
        }
    });
    let touch_start: Vec<u32> = starts.into_iter().map(AtomicU32::into_inner).collect();
    let touch_end: Vec<u32> = ends.into_iter().map(AtomicU32::into_inner).collect();
    let customers_with_touches = touch_start.par_iter().filter(|&&s| s != u32::MAX).count();
    let mut by_customer: Vec<(u32, u32, i64)> = conversions.par_iter().enumerate().map(|(i, c)| (c.customer, i as u32, c.ts)).collect();
    by_customer.par_sort_unstable();

    crate::log::step("timeline ranges");
    // Each customer's conversions in turn, customers side by side: one path per conversion, so
    // the list is written in place on every core, then put in conversion order where it lies
    // (no list of unknown length gathered and copied).
    let lookback = cfg.lookback.seconds();
    let timeline = |c: usize| if touch_start[c] == u32::MAX { (0, 0) } else { (touch_start[c] as usize, touch_end[c] as usize) };
    let mut paths: Vec<Path> = by_customer
        .par_iter()
        .enumerate()
        .map(|(k, &(c, ci, ts))| {
            let (lo, hi) = timeline(c as usize);
            let tl = &touches[lo..hi];
            // The customer's previous conversion, if any: by_customer is in (customer, time) order.
            let prev = k.checked_sub(1).map(|j| by_customer[j]).filter(|p| p.0 == c && cfg.reset_after_conversion);
            let floor = match prev {
                Some((_, _, p)) => lo + tl.partition_point(|t| t.ts <= p),
                None => lo,
            };
            let window_start = lo + tl.partition_point(|t| t.ts < ts - lookback);
            let end = lo + tl.partition_point(|t| t.ts <= ts);
            let start = window_start.max(floor).min(end);
            Path { conversion: Some(ci), customer: c, start: start as u32, end: end as u32, floor: floor.min(end) as u32, nulls: 0.0 }
        })
        .collect();
    // Every conversion has exactly one path: in conversion order, they are the converting paths.
    paths.par_sort_unstable_by_key(|p| p.conversion);
    let converting = paths.len();

    crate::log::step("converting paths");
    let paths = match journeys {
        Journeys::All => {
            let timelines = Timelines { touches: &touches, starts: &touch_start, ends: &touch_end, lookback };
            let all = with_non_converting(paths, &timelines, &by_customer);
            crate::log::step("paths gathered");
            all
        }
        Journeys::Converting => paths,
    };
    PathSet {
        data,
        stitching,
        touches,
        conversions,
        paths,
        converting,
        lookback,
        customers_with_touches,
        ranks,
        timed: true,
        journeys,
        calls,
    }
}

/// Each of a run's [`TouchTags`]' place in the order of touches at one instant (kind, then channel,
/// source, medium and campaign by `rank`, then file), and its class: tags equal but for their
/// file share one.
fn tag_order(tags: &[TouchTags], rank: impl Fn(Sym) -> u32) -> (Vec<u32>, Vec<u32>) {
    let key = |t: &TouchTags| (t.kind, rank(t.channel), rank(t.source), rank(t.medium), rank(t.campaign));
    let mut sorted: Vec<u32> = (0..tags.len() as u32).collect();
    sorted.sort_unstable_by_key(|&i| (key(&tags[i as usize]), tags[i as usize].file));
    let (mut order, mut class) = (vec![0u32; tags.len()], vec![0u32; tags.len()]);
    let mut c = 0u32;
    for (pos, &i) in sorted.iter().enumerate() {
        if pos > 0 && key(&tags[sorted[pos - 1] as usize]) != key(&tags[i as usize]) {
            c += 1;
        }
        order[i as usize] = pos as u32;
        class[i as usize] = c;
    }
    (order, class)
}

/// Customers' timelines: touches sorted by customer and time, each customer's range.
struct Timelines<'a> {
    touches: &'a [PTouch],
    /// First touch of each customer (`u32::MAX` for none), and one past its last.
    starts: &'a [u32],
    ends: &'a [u32],
    lookback: i64,
}

/// The converting paths followed by every customer's non-converting one, in customer order.
/// `by_customer` is every conversion as (customer, index, time), in that order.
///
/// Customers are numbered in the order their records were read, so this order is not
/// canonical. Nothing that reads these paths depends on it: path statistics count them, and
/// the data-driven models sum their counts (1 each, as for a conversion) per label sequence,
/// sums of whole numbers that are exact in any order. Paths from a path table, whose counts
/// need not be whole, are not built here.
fn with_non_converting(paths: Vec<Path>, t: &Timelines, by_customer: &[(u32, u32, i64)]) -> Vec<Path> {
    let (converting, n_customers, lookback) = (paths.len(), t.starts.len(), t.lookback);
    // The time of each customer's last conversion, customers in order: touches after it start a
    // journey that has not converted (yet).
    let last_conv: Vec<(u32, i64)> =
        by_customer.chunk_by(|a, b| a.0 == b.0).filter_map(|convs| convs.last().map(|&(c, _, ts)| (c, ts))).collect();
    // Non-converting paths: touches after the last conversion, within the lookback before the
    // last of them.
    let (starts, ends, timelines) = (t.starts, t.ends, t.touches);
    let null_paths = |customers: Range<usize>| {
        let mut conv = last_conv[last_conv.partition_point(|x| (x.0 as usize) < customers.start)..].iter().peekable();
        customers.filter_map(move |c| {
            // Taken for every customer, so that the cursor keeps pace.
            let last = conv.next_if(|x| x.0 as usize == c).map(|x| x.1);
            if starts[c] == u32::MAX {
                return None;
            }
            let (lo, hi) = (starts[c] as usize, ends[c] as usize);
            let tl = &timelines[lo..hi];
            let after = match last {
                Some(t) => lo + tl.partition_point(|x| x.ts <= t),
                None => lo,
            };
            if after >= hi {
                return None;
            }
            let last_ts = timelines[hi - 1].ts;
            let start = after.max(lo + tl.partition_point(|x| x.ts < last_ts - lookback));
            Some((c as u32, start as u32, hi as u32, after as u32, 0, 0))
        })
    };
    // Listed after room for the converting paths, so that the list becomes the paths in its
    // own memory (a path and a listed one are the same size): no second list of tens of
    // millions of paths is faulted in.
    let listed: Vec<Null> = par_filter_map(converting, n_customers, null_paths);
    crate::log::step("other paths listed");
    let mut converting_paths = paths.into_iter();
    listed
        .into_iter()
        .map(|(customer, start, end, floor, _, _)| match converting_paths.next() {
            Some(p) => p,
            None => Path { conversion: None, customer, start, end, floor, nulls: 1.0 },
        })
        .collect()
}

/// A non-converting path as listed: customer, start, end and floor as in [`Path`], padded to a
/// path's size. A tuple of numbers, so that a list of them is allocated as zeroed memory
/// (faulted in by the cores that fill it, not written twice).
type Null = (u32, u32, u32, u32, u64, u64);
const _: () =
    assert!(std::mem::size_of::<Null>() == std::mem::size_of::<Path>() && std::mem::align_of::<Null>() == std::mem::align_of::<Path>());

/// The items `f` gives for ranges of `0..n`, in order, made on every core. Counted first, so
/// that the list is written once, in place: collecting an unknown number of items grows
/// vectors by doubling and joins them, touching fresh memory three times over (dear on a
/// virtual machine, where each fresh page is a fault).
/// The first `skip` items are left at their default, as room for others.
fn par_filter_map<T: Send + Clone + Default, I: Iterator<Item = T>>(skip: usize, n: usize, f: impl Fn(Range<usize>) -> I + Sync) -> Vec<T> {
    const RANGE: usize = 1 << 14;
    let ranges: Vec<Range<usize>> = (0..n).step_by(RANGE).map(|lo| lo..(lo + RANGE).min(n)).collect();
    let counts: Vec<usize> = ranges.par_iter().map(|r| f(r.clone()).count()).collect();
    let mut out = vec![T::default(); skip + counts.iter().sum::<usize>()];
    let mut parts = Vec::with_capacity(ranges.len());
    let mut rest = &mut out[skip..];
    for (r, &k) in ranges.into_iter().zip(&counts) {
        let (part, tail) = rest.split_at_mut(k);
        parts.push((r, part));
        rest = tail;
    }
    parts.into_par_iter().for_each(|(r, part)| {
        for (slot, x) in part.iter_mut().zip(f(r)) {
            *slot = x;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_ordered_by_kind_then_tags_then_file_and_classed_without_file() {
        let t = |kind, file, channel, source| TouchTags { kind, file, channel, source, medium: 0, campaign: 0 };
        let tags = [
            t(TouchKind::Call, 0, 1, 0),
            t(TouchKind::Visit, 1, 2, 0),
            t(TouchKind::Visit, 0, 2, 0),
            t(TouchKind::Visit, 0, 1, 3),
            t(TouchKind::Visit, 0, 1, 0),
        ];
        // Ranks reverse the symbols: symbol 2 sorts before symbol 1.
        let (order, class) = tag_order(&tags, |s| 10 - s);
        // Visits (channel 2 from file 0, then from file 1; channel 1 with source 3, then with
        // source 0), then the call.
        assert_eq!(order, vec![4, 1, 0, 2, 3]);
        assert_eq!(class, vec![3, 0, 0, 1, 2]);
    }
}
