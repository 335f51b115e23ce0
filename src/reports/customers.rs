//! Omnichannel customer metrics for `touchpath customers`: whether channels work as one system —
//! how well purchases match web customers, how many channels buyers touch, research online /
//! purchase offline by customer status, and value, repeat purchases, retention and LTV.
//!
//! Conventions (also in the README):
//! - a buyer is a customer with at least one purchase (order or receipt) that is a conversion;
//! - "before the first purchase" means every touch up to and including the first purchase's
//!   second, with no lookback limit;
//! - a purchase is unidentified when its customer has no persistent identifier (client id, user
//!   id, phone, email, card, CRM id): an anonymous cash receipt. Unidentified purchases are
//!   counted and shown, and left out of per-customer rates, where each would pose as a
//!   one-purchase customer;
//! - months are calendar months in the config's time zone.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use rayon::slice::ParallelSliceMut as _;

use crate::normalize::TouchKind;
use crate::paths::{PTouch, PathSet};

/// How a value reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Share,
    Days,
    Money,
}

/// One metric value: `section` / `metric` / `segment` = `value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub section: &'static str,
    pub metric: String,
    pub segment: String,
    /// `None` when undefined (an empty denominator).
    pub value: Option<f64>,
    pub unit: Unit,
}

fn ratio(n: f64, d: f64) -> Option<f64> {
    (d > 0.0).then(|| n / d)
}

pub struct Settings {
    pub tz: Tz,
    pub ropo_window: i64,
    pub lookback: i64,
    /// A contact is new for this long after it is first seen.
    pub new_contact: i64,
}

/// What the metrics read of one customer: touches in time order (a customer's range of the
/// timelines, which are sorted by customer and time) and purchases in time order, then by
/// revenue, then in conversion order.
struct Cust<'a> {
    identified: bool,
    touches: &'a [PTouch],
    purchases: &'a [(i64, f64, bool)],
}

/// The channel of the first of `touches` (in time order): at its earliest second, the first
/// channel name in byte order.
fn first_channel<'s>(set: &'s PathSet, touches: &[PTouch]) -> Option<(i64, &'s str)> {
    let t0 = touches.first()?.ts;
    let name = touches.iter().take_while(|t| t.ts == t0).map(|t| set.label(set.tags(t).channel)).min()?;
    Some((t0, name))
}

pub fn metrics(set: &PathSet, s: &Settings) -> Vec<Metric> {
    let n = set.stitching.customers();
    let mut identified = vec![false; n];
    let g = &set.data.graph;
    for node in 1..g.node_count() as u32 {
        let c = set.stitching.customer_of_node[node as usize];
        if c != u32::MAX && g.kind(node).is_persistent() {
            identified[c as usize] = true;
        }
    }
    // Where each customer's touches and purchases begin, one past the customer before: u32 like
    // every touch index of a path set. The ranges hold because the paths stage sorts the
    // timelines by customer.
    debug_assert!(set.touches.windows(2).all(|w| w[0].customer <= w[1].customer));
    let mut touch_starts = vec![0u32; n + 1];
    let mut web = vec![false; n];
    for t in &set.touches {
        touch_starts[t.customer as usize + 1] += 1;
        web[t.customer as usize] |= set.tags(t).kind == TouchKind::Visit;
    }
    // Purchases by customer, time and amount, then in conversion order: sorted on keys gathered
    // once (comparing through the conversions is a cache miss per look), on every core.
    let mut keyed: Vec<(u32, i64, f64, u32, bool)> =
        set.conversions.iter().enumerate().map(|(i, c)| (c.customer, c.ts, c.revenue, i as u32, c.offline)).collect();
    keyed.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)).then(a.3.cmp(&b.3)));
    let purchases: Vec<(i64, f64, bool)> = keyed.iter().map(|k| (k.1, k.2, k.4)).collect();
    let mut purchase_starts = vec![0u32; n + 1];
    for k in &keyed {
        purchase_starts[k.0 as usize + 1] += 1;
    }
    drop(keyed);
    for c in 0..n {
        touch_starts[c + 1] += touch_starts[c];
        purchase_starts[c + 1] += purchase_starts[c];
    }
    // A customer is read where it lies: a list of 25M customers (L) would take a gigabyte.
    let at = |c: usize| Cust {
        identified: identified[c],
        touches: &set.touches[touch_starts[c] as usize..touch_starts[c + 1] as usize],
        purchases: &purchases[purchase_starts[c] as usize..purchase_starts[c + 1] as usize],
    };
    let mut out = Vec::new();
    let mut m = |section, metric: &str, segment: &str, value: Option<f64>, unit| {
        out.push(Metric { section, metric: metric.to_string(), segment: segment.to_string(), value, unit })
    };

    // Coverage: who can be counted per customer at all.
    let unidentified: Vec<Cust> = (0..n).map(at).filter(|c| !c.identified && !c.purchases.is_empty()).collect();
    let buyers: Vec<Cust> = (0..n).map(at).filter(|c| c.identified && !c.purchases.is_empty()).collect();
    let un_rev: f64 = unidentified.iter().flat_map(|c| c.purchases).map(|p| p.1).sum();
    m("coverage", "identified buyers", "all", Some(buyers.len() as f64), Unit::Count);
    m("coverage", "unidentified purchases (no customer identifier)", "all", Some(unidentified.len() as f64), Unit::Count);
    m("coverage", "revenue of unidentified purchases", "all", Some(un_rev), Unit::Money);

    // Match rate per source: records tied to a customer with web visits.
    let files = &set.data.summary.files;
    let mut per_file: BTreeMap<u16, (u64, u64)> = BTreeMap::new();
    let web_of_record = |r: u32| web[set.stitching.customer_of_record[r as usize] as usize];
    for c in &set.data.conversions {
        let e = per_file.entry(c.file).or_default();
        e.0 += 1;
        e.1 += u64::from(web_of_record(c.record));
    }
    for &(file, customer) in &set.calls {
        let e = per_file.entry(file).or_default();
        e.0 += 1;
        e.1 += u64::from(web[customer as usize]);
    }
    for (file, (total, matched)) in &per_file {
        let name = files.get(*file as usize).map(|f| format!("{} ({})", f.file, f.kind)).unwrap_or_default();
        m("match", "records", &name, Some(*total as f64), Unit::Count);
        m("match", "share tied to a customer with web visits", &name, ratio(*matched as f64, *total as f64), Unit::Share);
    }

    // Multichannel behaviour of identified buyers.
    let nb = buyers.len() as f64;
    let mut by_channels = [0u64; 4];
    let mut both = 0u64;
    // Lags are summed in whole seconds, exactly, so the means do not depend on the order
    // customers come in (their numbers follow the input rows).
    let mut lag: BTreeMap<&str, (i64, u64)> = BTreeMap::new();
    let mut lag_kind = [(0i64, 0u64); 2];
    for c in &buyers {
        let first = c.purchases[0];
        let before = &c.touches[..c.touches.partition_point(|t| t.ts <= first.0)];
        let mut chans: Vec<&str> = before.iter().map(|t| set.label(set.tags(t).channel)).collect();
        chans.sort_unstable();
        chans.dedup();
        by_channels[chans.len().min(3)] += 1;
        both += u64::from(c.purchases.iter().any(|p| p.2) && c.purchases.iter().any(|p| !p.2));
        if let Some(t0) = first_channel(set, before) {
            let secs = first.0 - t0.0;
            let e = lag.entry(t0.1).or_default();
            e.0 += secs;
            e.1 += 1;
            let k = &mut lag_kind[usize::from(first.2)];
            k.0 += secs;
            k.1 += 1;
        }
    }
    for (i, label) in ["0 (no touch)", "1", "2", "3+"].iter().enumerate() {
        m(
            "multichannel",
            "share of buyers by channels touched before the first purchase",
            label,
            ratio(by_channels[i] as f64, nb),
            Unit::Share,
        );
    }
    m("multichannel", "share of buyers buying both online and offline", "all", ratio(both as f64, nb), Unit::Share);
    for (ch, (sum, k)) in &lag {
        m(
            "multichannel",
            "average days from first touch to first purchase",
            &format!("first touch {ch}"),
            ratio(*sum as f64 / 86_400.0, *k as f64),
            Unit::Days,
        );
    }
    for (i, label) in ["first purchase online", "first purchase offline"].iter().enumerate() {
        m(
            "multichannel",
            "average days from first touch to first purchase",
            label,
            ratio(lag_kind[i].0 as f64 / 86_400.0, lag_kind[i].1 as f64),
            Unit::Days,
        );
    }

    // ROPO: offline purchases of identified buyers, by the customer's status at the last online
    // touch before the purchase (in the lookback).
    const STATUSES: [&str; 4] = ["new contact", "known contact, never bought", "previous buyer", "no online touch in the lookback"];
    let mut groups = [(0u64, 0u64, 0u64); 4];
    let (mut offline_buyers, mut ropo_window_buyers, mut ropo_lookback_buyers) = (0u64, 0u64, 0u64);
    for c in &buyers {
        let mut any_offline = false;
        let (mut in_w, mut in_l) = (false, false);
        let first_seen = c.touches.first().map(|t| t.ts).into_iter().chain(c.purchases.first().map(|p| p.0)).min().unwrap_or(0);
        for p in c.purchases.iter().filter(|p| p.2) {
            any_offline = true;
            // Only the time of the last touch in the lookback matters.
            let last = c.touches.iter().rev().find(|t| t.ts <= p.0 && t.ts >= p.0 - s.lookback).map(|t| t.ts);
            let window = c.touches.iter().any(|t| t.ts <= p.0 && t.ts >= p.0 - s.ropo_window);
            let g = match last {
                None => 3,
                Some(t) if c.purchases.iter().any(|q| q.0 < t) => 2,
                Some(t) if t - first_seen <= s.new_contact => 0,
                Some(_) => 1,
            };
            groups[g].0 += 1;
            groups[g].1 += u64::from(window);
            groups[g].2 += u64::from(last.is_some());
            in_w |= window;
            in_l |= last.is_some();
        }
        if any_offline {
            offline_buyers += 1;
            ropo_window_buyers += u64::from(in_w);
            ropo_lookback_buyers += u64::from(in_l);
        }
    }
    let ob = offline_buyers as f64;
    m("ropo", "offline buyers", "all", Some(ob), Unit::Count);
    m(
        "ropo",
        "share of offline buyers with an online touch before a purchase",
        "in the ROPO window",
        ratio(ropo_window_buyers as f64, ob),
        Unit::Share,
    );
    m(
        "ropo",
        "share of offline buyers with an online touch before a purchase",
        "in the lookback",
        ratio(ropo_lookback_buyers as f64, ob),
        Unit::Share,
    );
    for (i, st) in STATUSES.iter().enumerate() {
        let (k, w, l) = groups[i];
        m("ropo", "offline purchases", st, Some(k as f64), Unit::Count);
        if i < 3 {
            m("ropo", "share with an online touch in the ROPO window", st, ratio(w as f64, k as f64), Unit::Share);
            m("ropo", "share with an online touch in the lookback", st, ratio(l as f64, k as f64), Unit::Share);
        }
    }

    // Value.
    type Pick<'p> = &'p dyn Fn(&Cust, &(i64, f64, bool)) -> bool;
    let aov = |f: Pick| {
        let mut sum = Terms::default();
        for c in &buyers {
            for p in c.purchases {
                if f(c, p) {
                    sum.push(p.1);
                }
            }
        }
        let k = sum.len() as f64;
        ratio(sum.total(), k)
    };
    let omni = |c: &Cust| c.purchases.iter().any(|p| p.2) && c.purchases.iter().any(|p| !p.2);
    m("value", "average order value", "online purchases", aov(&|_, p| !p.2), Unit::Money);
    m("value", "average order value", "offline purchases", aov(&|_, p| p.2), Unit::Money);
    m("value", "average order value", "customers buying online and offline", aov(&|c, _| omni(c)), Unit::Money);
    m(
        "value",
        "repeat purchase rate",
        "identified buyers",
        ratio(buyers.iter().filter(|c| c.purchases.len() > 1).count() as f64, nb),
        Unit::Share,
    );

    // Retention by month of first purchase: share of the cohort buying in each later month.
    let mut months = super::Months::new(s.tz);
    let mut cohorts: BTreeMap<i64, (u64, BTreeMap<i64, u64>)> = BTreeMap::new();
    for c in &buyers {
        let start = months.of(c.purchases[0].0);
        let e = cohorts.entry(start).or_default();
        e.0 += 1;
        let mut later: Vec<i64> = c.purchases.iter().map(|p| months.of(p.0) - start).filter(|&k| k > 0).collect();
        later.dedup();
        for k in later {
            *e.1.entry(k).or_default() += 1;
        }
    }
    for (start, (size, later)) in &cohorts {
        let label = super::month_label(*start);
        m("retention", "buyers in the cohort (month of first purchase)", &label, Some(*size as f64), Unit::Count);
        for (k, buyers_k) in later {
            m("retention", &format!("share buying again in month +{k}"), &label, ratio(*buyers_k as f64, *size as f64), Unit::Share);
        }
    }

    // LTV to date: revenue per customer, by first-touch channel (customers with touches, buyers
    // or not) and by acquisition cohort (month of first purchase).
    let mut by_first: BTreeMap<&str, Terms> = BTreeMap::new();
    for c in (0..n).map(at).filter(|c| c.identified) {
        let key = first_channel(set, c.touches).map_or("(no touch)", |t| t.1);
        if key == "(no touch)" && c.purchases.is_empty() {
            continue;
        }
        by_first.entry(key).or_default().push(c.purchases.iter().map(|p| p.1).sum::<f64>());
    }
    for (ch, rev) in by_first {
        let k = rev.len() as f64;
        m("ltv", "customers", &format!("first touch {ch}"), Some(k), Unit::Count);
        m("ltv", "revenue per customer to date", &format!("first touch {ch}"), ratio(rev.total(), k), Unit::Money);
    }
    let mut by_cohort: BTreeMap<i64, Terms> = BTreeMap::new();
    for c in &buyers {
        by_cohort.entry(months.of(c.purchases[0].0)).or_default().push(c.purchases.iter().map(|p| p.1).sum::<f64>());
    }
    for (start, rev) in by_cohort {
        let k = rev.len() as f64;
        m("ltv", "revenue per customer to date", &format!("acquired {}", super::month_label(start)), ratio(rev.total(), k), Unit::Money);
    }
    out
}

/// A sum of money over customers that does not depend on the order they come in (their numbers
/// follow the input rows, and f64 addition is not associative): the terms are summed in order
/// of value.
#[derive(Default)]
struct Terms(Vec<f64>);

impl Terms {
    fn push(&mut self, x: f64) {
        self.0.push(x);
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn total(mut self) -> f64 {
        self.0.sort_unstable_by(f64::total_cmp);
        self.0.iter().fold(0.0, |a, x| a + x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testkit::{config, journey, pathset, DAY};

    #[test]
    fn the_first_channel_is_the_first_name_at_the_earliest_second() {
        let set = pathset(&[journey("ann", &[("Zeta", DAY), ("Alpha", DAY), ("Beta", 0)], &[])], &config(""));
        let mut touches = set.touches.clone();
        let name = |t: &[PTouch]| first_channel(&set, t).map(|(ts, n)| (ts, n.to_string()));
        assert_eq!(name(&touches), Some((0, "Beta".to_string())));
        // At the earliest second, the name decides, whatever order the touches come in.
        touches.retain(|t| t.ts == DAY);
        touches.sort_by_key(|t| std::cmp::Reverse(set.label(set.tags(t).channel).to_string()));
        assert_eq!(name(&touches), Some((DAY, "Alpha".to_string())));
        assert_eq!(name(&[]), None);
    }
}
