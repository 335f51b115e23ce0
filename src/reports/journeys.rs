//! Journey statistics for `touchpath paths`: the path table (channel sequences with conversions,
//! revenue and non-converting counts), path lengths and time lags.

use std::collections::BTreeMap;

use super::Selection;
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

pub fn path_string(set: &PathSet, p: &Path) -> String {
    if p.is_empty() {
        return NO_TOUCH.to_string();
    }
    let names: Vec<&str> = set.path_touches(p).iter().map(|t| set.label(t.channel)).collect();
    names.join(SEPARATOR)
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

pub fn journey_stats(set: &PathSet, sel: &Selection) -> JourneyStats {
    let mut table: BTreeMap<String, (u64, f64, u64)> = BTreeMap::new();
    let mut lengths = vec![(0u64, 0.0f64); LENGTH_BUCKETS.len()];
    let mut lags = vec![(0u64, 0.0f64); LAG_BUCKETS.len()];
    let mut conversions = 0;
    for p in sel.paths(set) {
        let Some(c) = set.conversion_of(p) else {
            continue;
        };
        conversions += 1;
        let e = table.entry(path_string(set, p)).or_default();
        e.0 += 1;
        e.1 += c.revenue;
        let lb = &mut lengths[length_bucket(p.len())];
        lb.0 += 1;
        lb.1 += c.revenue;
        let g = &mut lags[lag_bucket(p, set, c.ts)];
        g.0 += 1;
        g.1 += c.revenue;
    }
    let mut non_converting = 0;
    for p in &set.paths[set.converting..] {
        let last = set.path_touches(p).last().map_or(0, |t| t.ts);
        if sel.from.is_some_and(|f| last < f) || sel.to.is_some_and(|t| last >= t) {
            continue;
        }
        non_converting += 1;
        table.entry(path_string(set, p)).or_default().2 += 1;
    }
    let mut paths: Vec<PathRow> =
        table.into_iter().map(|(path, (c, v, n))| PathRow { path, conversions: c, conversion_value: v, nulls: n }).collect();
    paths.sort_by(|a, b| b.conversions.cmp(&a.conversions).then(b.nulls.cmp(&a.nulls)).then_with(|| a.path.cmp(&b.path)));
    let to_buckets = |labels: &[&str], v: Vec<(u64, f64)>| {
        labels.iter().zip(v).map(|(l, (c, r))| Bucket { label: l.to_string(), conversions: c, revenue: r }).collect()
    };
    JourneyStats { paths, lengths: to_buckets(&LENGTH_BUCKETS, lengths), lags: to_buckets(&LAG_BUCKETS, lags), conversions, non_converting }
}
