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
    let names: Vec<&str> = set.path_touches(p).iter().map(|t| set.label(set.tags(t).channel)).collect();
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

pub fn journey_stats(set: &PathSet, sel: &Selection) -> anyhow::Result<JourneyStats> {
    set.journeys.ensure_all("path statistics")?;
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
    Ok(JourneyStats {
        paths,
        lengths: to_buckets(&LENGTH_BUCKETS, lengths),
        lags: to_buckets(&LAG_BUCKETS, lags),
        conversions,
        non_converting,
    })
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
    let mut rows: BTreeMap<String, RoleRow> = BTreeMap::new();
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
            let channel = set.tags(t).channel;
            match seen.iter_mut().find(|(ch, _)| *ch == channel) {
                Some(e) => e.1 |= bits,
                None => seen.push((channel, bits)),
            }
        }
        for &(ch, bits) in &seen {
            let r = rows.entry(set.label(ch).to_string()).or_default();
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
    rows.into_iter().map(|(channel, r)| RoleRow { channel, ..r }).collect()
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

fn month_index(ts: i64, tz: chrono_tz::Tz) -> i64 {
    use chrono::{Datelike, TimeZone};
    let d = tz.timestamp_opt(ts, 0).single().map(|t| t.date_naive()).unwrap_or_default();
    d.year() as i64 * 12 + d.month0() as i64
}

fn month_label(idx: i64) -> String {
    format!("{:04}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
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
    // Cohort key: month index, or None for customers without touches.
    let mut members: BTreeMap<Option<i64>, (u64, Vec<(u64, f64)>, (u64, f64))> = BTreeMap::new();
    let mut counted = vec![false; customers];
    for (c, f) in first.iter().enumerate() {
        if let Some(ts) = f {
            members.entry(Some(month_index(*ts, tz))).or_default().0 += 1;
            counted[c] = true;
        }
    }
    for p in sel.paths(set) {
        let Some(conv) = set.conversion_of(p) else {
            continue;
        };
        let c = conv.customer as usize;
        let key = first[c].map(|ts| month_index(ts, tz));
        let e = members.entry(key).or_default();
        if !counted[c] {
            counted[c] = true;
            e.0 += 1;
        }
        let offset = key.map_or(0, |k| month_index(conv.ts, tz) - k);
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
    let mut out: Vec<Cohort> = members
        .into_iter()
        .map(|(k, (customers, by_offset, before))| Cohort {
            month: k.map_or_else(|| NO_TOUCH.to_string(), month_label),
            customers,
            by_offset,
            before,
        })
        .collect();
    // Dated cohorts first, in time order; the touchless group last.
    out.sort_by_key(|c| c.month == NO_TOUCH);
    out
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
}
