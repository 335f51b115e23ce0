//! Journey statistics for `touchpath paths`: the path table (channel sequences with conversions,
//! revenue and non-converting counts), path lengths and time lags.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::Selection;
use crate::intern::Sym;
use crate::paths::{Path, PathSet};

/// Separator of channels in a path string, as in the path-table format.
pub const SEPARATOR: &str = " > ";
pub const NO_TOUCH: &str = "(no touch)";

/// One row of the path table (`path,conversions,conversion_value,nulls`).
#[derive(Clone, Debug, PartialEq)]
pub struct PathRow {
    pub path: String,
    pub conversions: u64,
    pub conversion_value: f64,
    pub nulls: u64,
}

/// A distribution bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub label: String,
    pub conversions: u64,
    pub revenue: f64,
}

pub struct JourneyStats {
    /// Every distinct path, by conversions (desc), then nulls (desc), then path (byte order).
    pub paths: Vec<PathRow>,
    pub lengths: Vec<Bucket>,
    pub lags: Vec<Bucket>,
    pub conversions: u64,
    pub non_converting: u64,
}

const LENGTH_BUCKETS: [&str; 8] = ["0", "1", "2", "3", "4", "5", "6-9", "10+"];
const LAG_BUCKETS: [&str; 8] = ["no touch", "< 1 day", "1 day", "2 days", "3-6 days", "7-13 days", "14-29 days", "30+ days"];

fn length_bucket(n: usize) -> usize {
    match n {
        0..=5 => n,
        6..=9 => 6,
        _ => 7,
    }
}

fn lag_bucket(p: &Path, set: &PathSet, conv_ts: i64) -> usize {
    let Some(first) = set.path_touches(p).first() else {
        return 0;
    };
    match (conv_ts - first.ts) / 86_400 {
        0 => 1,
        1 => 2,
        2 => 3,
        3..=6 => 4,
        7..=13 => 5,
        14..=29 => 6,
        _ => 7,
    }
}

pub fn journey_stats(set: &PathSet, sel: &Selection) -> anyhow::Result<JourneyStats> {
    set.journeys.ensure_all("path statistics")?;
    // Paths are grouped by their sequence of channel symbols, and a row's text is written once
    // per distinct sequence rather than once per path (M: 5.9M paths, 0.6M distinct texts).
    // Rows are then keyed by that text, as the table is, and each row's revenue is summed over
    // its paths in path order, as one pass over the texts would sum it.
    let mut seqs = Sequences::default();
    let selected: Vec<(&Path, f64, i64, bool)> =
        sel.paths(set).filter_map(|p| set.conversion_of(p).map(|c| (p, c.revenue, c.ts, c.offline))).collect();
    // A store receipt with no touch is a row of its own, as the report credits it, so that a
    // table written here and read back with `--paths` keeps it out of `Direct`.
    let offline_touchless: Vec<bool> = selected.iter().map(|s| s.0.is_empty() && s.3).collect();
    let mut lengths = vec![(0u64, 0.0f64); LENGTH_BUCKETS.len()];
    let mut lags = vec![(0u64, 0.0f64); LAG_BUCKETS.len()];
    for &(p, revenue, ts, _) in &selected {
        let lb = &mut lengths[length_bucket(p.len())];
        lb.0 += 1;
        lb.1 += revenue;
        let g = &mut lags[lag_bucket(p, set, ts)];
        g.0 += 1;
        g.1 += revenue;
    }
    let ids = seqs.number(set, &selected.iter().map(|s| s.0).collect::<Vec<_>>());
    let converting: Vec<(u32, f64)> = ids.into_iter().zip(&selected).map(|(id, s)| (id, s.1)).collect();
    let others: Vec<&Path> = set.paths[set.converting..]
        .par_iter()
        .filter(|p| {
            let last = set.path_touches(p).last().map_or(0, |t| t.ts);
            !(sel.from.is_some_and(|f| last < f) || sel.to.is_some_and(|t| last >= t))
        })
        .collect();
    let non_converting = others.len() as u64;
    let mut nulls: Vec<u64> = Vec::new();
    for id in seqs.number(set, &others) {
        let id = id as usize;
        if nulls.len() <= id {
            nulls.resize(id + 1, 0);
        }
        nulls[id] += 1;
    }
    // Distinct sequences can share a text (a channel named with the separator in it): rows
    // are the distinct texts. Their order comes from the sort below, which ends on the text.
    let texts: Vec<String> = (0..seqs.len()).into_par_iter().map(|id| seqs.text(set, id)).collect();
    let mut by_text: FxHashMap<String, usize> = FxHashMap::default();
    let row_of: Vec<usize> = texts
        .into_iter()
        .map(|text| {
            let next = by_text.len();
            *by_text.entry(text).or_insert(next)
        })
        .collect();
    let offline_row = offline_touchless.contains(&true).then(|| {
        let next = by_text.len();
        *by_text.entry(crate::channels::OFFLINE_NO_TOUCH.to_string()).or_insert(next)
    });
    let mut rows = vec![(0u64, 0.0f64, 0u64); by_text.len()];
    for (&(id, revenue), &offline) in converting.iter().zip(&offline_touchless) {
        let r = &mut rows[if offline { offline_row.unwrap_or(row_of[id as usize]) } else { row_of[id as usize] }];
        r.0 += 1;
        r.1 += revenue;
    }
    for (id, n) in nulls.into_iter().enumerate() {
        rows[row_of[id]].2 += n;
    }
    let mut paths: Vec<PathRow> = by_text
        .into_iter()
        .map(|(path, r)| {
            let (c, v, n) = rows[r];
            PathRow { path, conversions: c, conversion_value: v, nulls: n }
        })
        // The touchless sequence of receipts alone, all of them moved to the offline row.
        .filter(|row| row.conversions > 0 || row.nulls > 0)
        .collect();
    paths.par_sort_unstable_by(|a, b| b.conversions.cmp(&a.conversions).then(b.nulls.cmp(&a.nulls)).then_with(|| a.path.cmp(&b.path)));
    let to_buckets = |labels: &[&str], v: Vec<(u64, f64)>| {
        labels.iter().zip(v).map(|(l, (c, r))| Bucket { label: l.to_string(), conversions: c, revenue: r }).collect()
    };
    Ok(JourneyStats {
        paths,
        lengths: to_buckets(&LENGTH_BUCKETS, lengths),
        lags: to_buckets(&LAG_BUCKETS, lags),
        conversions: converting.len() as u64,
        non_converting,
    })
}

/// Distinct channel sequences of paths, numbered in order of first appearance.
#[derive(Default)]
struct Sequences {
    ids: FxHashMap<Box<[Sym]>, u32>,
    list: Vec<Box<[Sym]>>,
    buf: Vec<Sym>,
}

impl Sequences {
    /// The ids of the paths' sequences, numbering new ones in order of first appearance as
    /// [`Sequences::id`] path by path would: the paths are read in parts on every core, each
    /// numbering its own sequences, and the parts' sequences are then renumbered in order.
    fn number(&mut self, set: &PathSet, paths: &[&Path]) -> Vec<u32> {
        const PART: usize = 1 << 14;
        // Each part's sequences, in its order of first appearance, and its paths' ids among them.
        type Part = (Vec<Box<[Sym]>>, Vec<u32>);
        let parts: Vec<Part> = paths
            .par_chunks(PART)
            .map(|part| {
                let mut own = Sequences::default();
                let ids = part.iter().map(|p| own.id(set, p)).collect();
                (own.list, ids)
            })
            .collect();
        let mut ids = Vec::with_capacity(paths.len());
        for (list, own) in parts {
            let global: Vec<u32> = list.into_iter().map(|seq| self.insert(seq)).collect();
            ids.extend(own.into_iter().map(|id| global[id as usize]));
        }
        ids
    }

    fn insert(&mut self, seq: Box<[Sym]>) -> u32 {
        if let Some(&id) = self.ids.get(&seq) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(seq.clone());
        self.ids.insert(seq, id);
        id
    }

    fn id(&mut self, set: &PathSet, p: &Path) -> u32 {
        self.buf.clear();
        self.buf.extend(set.path_touches(p).iter().map(|t| set.tags(t).channel));
        if let Some(&id) = self.ids.get(self.buf.as_slice()) {
            return id;
        }
        let id = self.list.len() as u32;
        let seq: Box<[Sym]> = self.buf.as_slice().into();
        self.list.push(seq.clone());
        self.ids.insert(seq, id);
        id
    }

    fn len(&self) -> usize {
        self.list.len()
    }

    /// The sequence's text: its channels joined by [`SEPARATOR`], or [`NO_TOUCH`].
    fn text(&self, set: &PathSet, id: usize) -> String {
        let seq = &self.list[id];
        if seq.is_empty() {
            return NO_TOUCH.to_string();
        }
        let names: Vec<&str> = seq.iter().map(|&s| set.label(s)).collect();
        names.join(SEPARATOR)
    }
}

/// How a channel takes part in converting paths (Google Analytics' "assisted conversions" and
/// "conversion roles"). Each count is of conversions: a channel is counted once per role per path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoleRow {
    pub channel: String,
    /// Conversions whose path contains the channel.
    pub in_path: u64,
    /// ... as the first touch.
    pub first: u64,
    /// ... strictly between the first and the last touch.
    pub middle: u64,
    /// ... as the last touch.
    pub last: u64,
    /// Conversions whose path contains the channel other than as the last touch.
    pub assisted: u64,
    pub assisted_revenue: f64,
    pub last_revenue: f64,
}

/// Channel roles over the selected converting paths, by channel name (byte order).
pub fn roles(set: &PathSet, sel: &Selection) -> Vec<RoleRow> {
    // A row per channel name, found through the touch's tags: looked up by name once per
    // distinct tags rather than once per touch. Revenue is still added in path order.
    let mut slot_of_channel: FxHashMap<&str, u32> = FxHashMap::default();
    let mut channels: Vec<&str> = Vec::new();
    let slot_of_tags: Vec<u32> = set
        .data
        .tags
        .iter()
        .map(|t| {
            let name = set.label(t.channel);
            *slot_of_channel.entry(name).or_insert_with(|| {
                channels.push(name);
                channels.len() as u32 - 1
            })
        })
        .collect();
    let mut rows = vec![RoleRow::default(); channels.len()];
    let mut seen: Vec<(u32, u8)> = Vec::new();
    for p in sel.paths(set) {
        let Some(c) = set.conversion_of(p) else {
            continue;
        };
        let touches = set.path_touches(p);
        let n = touches.len();
        if n == 0 {
            continue;
        }
        // Role bits per channel in this path: 1 first, 2 middle, 4 last, 8 anywhere but last.
        seen.clear();
        for (i, t) in touches.iter().enumerate() {
            let mut bits = 0u8;
            if i == 0 {
                bits |= 1;
            }
            if i > 0 && i + 1 < n {
                bits |= 2;
            }
            if i + 1 == n {
                bits |= 4;
            } else {
                bits |= 8;
            }
            let slot = slot_of_tags[t.tags as usize];
            match seen.iter_mut().find(|(s, _)| *s == slot) {
                Some(e) => e.1 |= bits,
                None => seen.push((slot, bits)),
            }
        }
        for &(slot, bits) in &seen {
            let r = &mut rows[slot as usize];
            r.in_path += 1;
            r.first += u64::from(bits & 1 != 0);
            r.middle += u64::from(bits & 2 != 0);
            if bits & 4 != 0 {
                r.last += 1;
                r.last_revenue += c.revenue;
            }
            if bits & 8 != 0 {
                r.assisted += 1;
                r.assisted_revenue += c.revenue;
            }
        }
    }
    let mut out: Vec<RoleRow> = rows
        .into_iter()
        .zip(&channels)
        .filter(|(r, _)| r.in_path > 0)
        .map(|(r, name)| RoleRow { channel: name.to_string(), ..r })
        .collect();
    out.sort_unstable_by(|a, b| a.channel.cmp(&b.channel));
    out
}

/// Customers grouped by the month of their first touch, and what they bought in that month and
/// the months after.
#[derive(Clone, Debug, PartialEq)]
pub struct Cohort {
    /// `YYYY-MM`, or `(no touch)` for customers who bought without any touch.
    pub month: String,
    pub customers: u64,
    /// Conversions and revenue by months since the cohort's month (index 0 = the same month).
    /// Purchases before the first touch are counted in `before`.
    pub by_offset: Vec<(u64, f64)>,
    pub before: (u64, f64),
}

/// Cohorts by month of first touch (in `tz`), with the selected conversions of each cohort.
/// Every customer with a touch or a selected conversion is in exactly one cohort.
pub fn cohorts(set: &PathSet, sel: &Selection, tz: chrono_tz::Tz) -> Vec<Cohort> {
    let customers = set.stitching.customers();
    let mut first: Vec<Option<i64>> = vec![None; customers];
    for t in &set.touches {
        let f = &mut first[t.customer as usize];
        if f.is_none_or(|x| t.ts < x) {
            *f = Some(t.ts);
        }
    }
    // Each customer's cohort, as a slot in `members`, found once: the month of the first touch,
    // or the touchless group (`None`). Slots are numbered as found and put in order at the end.
    type Members = (u64, Vec<(u64, f64)>, (u64, f64));
    let mut slot_of: FxHashMap<Option<i64>, u32> = FxHashMap::default();
    let mut members: Vec<(Option<i64>, Members)> = Vec::new();
    let mut slot = |key: Option<i64>, members: &mut Vec<(Option<i64>, Members)>| {
        *slot_of.entry(key).or_insert_with(|| {
            members.push((key, Members::default()));
            members.len() as u32 - 1
        })
    };
    let mut months = super::Months::new(tz);
    // u32::MAX: no touch, and not yet counted in the touchless group.
    let mut cohort: Vec<u32> = vec![u32::MAX; customers];
    for (c, f) in first.iter().enumerate() {
        if let Some(ts) = f {
            let s = slot(Some(months.of(*ts)), &mut members);
            members[s as usize].1 .0 += 1;
            cohort[c] = s;
        }
    }
    for p in sel.paths(set) {
        let Some(conv) = set.conversion_of(p) else {
            continue;
        };
        let c = conv.customer as usize;
        if cohort[c] == u32::MAX {
            let s = slot(None, &mut members);
            members[s as usize].1 .0 += 1;
            cohort[c] = s;
        }
        let (key, e) = &mut members[cohort[c] as usize];
        let offset = key.map_or(0, |k| months.of(conv.ts) - k);
        let cell = if offset < 0 {
            &mut e.2
        } else {
            let o = offset as usize;
            if e.1.len() <= o {
                e.1.resize(o + 1, (0, 0.0));
            }
            &mut e.1[o]
        };
        cell.0 += 1;
        cell.1 += conv.revenue;
    }
    // Dated cohorts first, in time order; the touchless group last.
    members.sort_unstable_by_key(|(k, _)| (k.is_none(), *k));
    members
        .into_iter()
        .map(|(k, (customers, by_offset, before))| Cohort {
            month: k.map_or_else(|| NO_TOUCH.to_string(), super::month_label),
            customers,
            by_offset,
            before,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testkit::{config, journey, pathset, DAY};

    /// 2026-01-01T00:00:00Z.
    const JAN: i64 = 1_767_225_600;

    #[test]
    fn cohorts_follow_customers_across_months() {
        let cfg = config("");
        let set = pathset(
            &[
                // Returns after three months: bought in January and again in April.
                journey(
                    "ann",
                    &[("Email", JAN + DAY), ("Email", JAN + 95 * DAY)],
                    &[(JAN + 2 * DAY, 100.0, false), (JAN + 96 * DAY, 50.0, false)],
                ),
                // Bought in the store before any web touch, then visited in February.
                journey("bob", &[("Paid Search", JAN + 40 * DAY)], &[(JAN + 3 * DAY, 70.0, true)]),
                // Only browsed.
                journey("cid", &[("Direct", JAN + 10 * DAY)], &[]),
                // Bought without any touch.
                journey("dan", &[], &[(JAN + 20 * DAY, 30.0, true)]),
            ],
            &cfg,
        );
        let got = cohorts(&set, &Selection::all(), chrono_tz::UTC);
        let want = vec![
            Cohort { month: "2026-01".into(), customers: 2, by_offset: vec![(1, 100.0), (0, 0.0), (0, 0.0), (1, 50.0)], before: (0, 0.0) },
            Cohort { month: "2026-02".into(), customers: 1, by_offset: vec![], before: (1, 70.0) },
            Cohort { month: NO_TOUCH.into(), customers: 1, by_offset: vec![(1, 30.0)], before: (0, 0.0) },
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn roles_count_each_conversion_once_per_role() {
        let cfg = config("");
        let set = pathset(
            &[journey("ann", &[("A", JAN), ("B", JAN + DAY), ("A", JAN + 2 * DAY), ("C", JAN + 3 * DAY)], &[(JAN + 4 * DAY, 10.0, false)])],
            &cfg,
        );
        let r = roles(&set, &Selection::all());
        let a = &r[0];
        assert_eq!((a.channel.as_str(), a.in_path, a.first, a.middle, a.last, a.assisted), ("A", 1, 1, 1, 0, 1));
        let c = &r[2];
        assert_eq!((c.channel.as_str(), c.in_path, c.first, c.middle, c.last, c.assisted, c.last_revenue), ("C", 1, 0, 0, 1, 0, 10.0));
    }

    #[test]
    fn paths_are_rows_by_their_text() {
        let cfg = config("");
        let set = pathset(
            &[
                journey("ann", &[("A", JAN), ("B", JAN + DAY)], &[(JAN + 2 * DAY, 10.0, false)]),
                // One channel whose name reads as the path above: the same row.
                journey("bob", &[("A > B", JAN)], &[(JAN + DAY, 5.0, false)]),
                journey("cid", &[("B", JAN), ("A", JAN + DAY)], &[(JAN + 2 * DAY, 1.0, false)]),
                journey("dan", &[("A", JAN), ("B", JAN + DAY)], &[]),
                // A store receipt with no touch is a row of its own, as the report credits it.
                journey("eve", &[], &[(JAN, 2.0, true)]),
                journey("fay", &[], &[(JAN, 3.0, false)]),
            ],
            &cfg,
        );
        let stats = journey_stats(&set, &Selection::all()).unwrap();
        let rows: Vec<(&str, u64, f64, u64)> =
            stats.paths.iter().map(|r| (r.path.as_str(), r.conversions, r.conversion_value, r.nulls)).collect();
        assert_eq!(
            rows,
            [("A > B", 2, 15.0, 1), ("(no touch)", 1, 3.0, 0), ("(offline, no online touch)", 1, 2.0, 0), ("B > A", 1, 1.0, 0)]
        );
        assert_eq!((stats.conversions, stats.non_converting), (5, 1));
        // With only receipts touchless, no empty `(no touch)` row is left behind.
        let set = pathset(&[journey("eve", &[], &[(JAN, 2.0, true)]), journey("dan", &[("A", JAN)], &[(JAN + DAY, 1.0, false)])], &cfg);
        let rows: Vec<String> = journey_stats(&set, &Selection::all()).unwrap().paths.into_iter().map(|r| r.path).collect();
        assert_eq!(rows, ["(offline, no online touch)", "A"]);
    }

    #[test]
    fn sequences_numbered_in_parts_are_numbered_as_one_pass_numbers_them() {
        // More paths than one part holds, with sequences that first appear in every part.
        let cfg = config("");
        let names: Vec<String> = (0..40_000).map(|i| format!("c{i}")).collect();
        let channels = ["A", "B", "C", "D", "E", "F", "G"];
        let journeys: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let touches: Vec<(&str, i64)> =
                    (0..1 + (i * 7 / 3) % 4).map(|k| (channels[(i / 5 + k * i / 11) % 7], JAN + k as i64 * DAY)).collect();
                let bought: &[(i64, f64, bool)] = if i % 3 == 0 { &[(JAN + 9 * DAY, 1.0, false)] } else { &[] };
                journey(name, &touches, bought)
            })
            .collect();
        let set = pathset(&journeys, &cfg);
        let paths: Vec<&Path> = set.paths.iter().collect();
        let mut one = Sequences::default();
        let want: Vec<u32> = paths.iter().map(|p| one.id(&set, p)).collect();
        let mut parts = Sequences::default();
        let got = parts.number(&set, &paths);
        assert_eq!(got, want);
        assert_eq!(parts.list, one.list);
        assert!(one.len() > 100, "{} sequences", one.len());
    }
}
