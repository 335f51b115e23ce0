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
use rayon::iter::{IndexedParallelIterator as _, IntoParallelIterator as _, ParallelIterator as _};
use rayon::slice::ParallelSliceMut as _;
use rustc_hash::FxHashMap;

use crate::intern::Sym;
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
fn first_channel(set: &PathSet, touches: &[PTouch]) -> Option<(i64, Sym)> {
    let t0 = touches.first()?.ts;
    let channel = touches.iter().take_while(|t| t.ts == t0).map(|t| set.tags(t).channel).min_by(|a, b| set.label(*a).cmp(set.label(*b)))?;
    Some((t0, channel))
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
    // One pass over the customers on every core; a piece of customers starts its own maps and
    // month cache, so pieces are large.
    let tally = (0..n)
        .into_par_iter()
        .with_min_len(1 << 16)
        .fold(
            || Tally::new(s.tz),
            |mut t, c| {
                t.add(set, s, &at(c));
                t
            },
        )
        .reduce(|| Tally::new(s.tz), Tally::merge);

    let mut out = Vec::new();
    let mut m = |section, metric: &str, segment: &str, value: Option<f64>, unit| {
        out.push(Metric { section, metric: metric.to_string(), segment: segment.to_string(), value, unit })
    };

    // Coverage: who can be counted per customer at all.
    m("coverage", "identified buyers", "all", Some(tally.buyers as f64), Unit::Count);
    m("coverage", "unidentified purchases (no customer identifier)", "all", Some(tally.unidentified as f64), Unit::Count);
    m("coverage", "revenue of unidentified purchases", "all", Some(tally.unidentified_revenue.total()), Unit::Money);

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
    let nb = tally.buyers as f64;
    for (i, label) in ["0 (no touch)", "1", "2", "3+"].iter().enumerate() {
        m(
            "multichannel",
            "share of buyers by channels touched before the first purchase",
            label,
            ratio(tally.by_channels[i] as f64, nb),
            Unit::Share,
        );
    }
    m("multichannel", "share of buyers buying both online and offline", "all", ratio(tally.both as f64, nb), Unit::Share);
    // By channel name, as the rows are listed.
    let mut lag: BTreeMap<&str, (i64, u64)> = BTreeMap::new();
    for (ch, (sum, k)) in &tally.lag {
        let e = lag.entry(set.label(*ch)).or_default();
        e.0 += sum;
        e.1 += k;
    }
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
            ratio(tally.lag_kind[i].0 as f64 / 86_400.0, tally.lag_kind[i].1 as f64),
            Unit::Days,
        );
    }

    // ROPO: offline purchases of identified buyers, by the customer's status at the last online
    // touch before the purchase (in the lookback).
    let ob = tally.offline_buyers as f64;
    m("ropo", "offline buyers", "all", Some(ob), Unit::Count);
    m(
        "ropo",
        "share of offline buyers with an online touch before a purchase",
        "in the ROPO window",
        ratio(tally.ropo_window_buyers as f64, ob),
        Unit::Share,
    );
    m(
        "ropo",
        "share of offline buyers with an online touch before a purchase",
        "in the lookback",
        ratio(tally.ropo_lookback_buyers as f64, ob),
        Unit::Share,
    );
    for (i, st) in STATUSES.iter().enumerate() {
        let (k, w, l) = tally.groups[i];
        m("ropo", "offline purchases", st, Some(k as f64), Unit::Count);
        if i < 3 {
            m("ropo", "share with an online touch in the ROPO window", st, ratio(w as f64, k as f64), Unit::Share);
            m("ropo", "share with an online touch in the lookback", st, ratio(l as f64, k as f64), Unit::Share);
        }
    }

    // Value.
    let Tally { aov, repeat, cohorts, by_first, by_cohort, .. } = tally;
    let [online, offline, omni] = aov.map(|sum| {
        let k = sum.len() as f64;
        ratio(sum.total(), k)
    });
    m("value", "average order value", "online purchases", online, Unit::Money);
    m("value", "average order value", "offline purchases", offline, Unit::Money);
    m("value", "average order value", "customers buying online and offline", omni, Unit::Money);
    m("value", "repeat purchase rate", "identified buyers", ratio(repeat as f64, nb), Unit::Share);

    // Retention by month of first purchase: share of the cohort buying in each later month.
    for (start, (size, later)) in &cohorts {
        let label = super::month_label(*start);
        m("retention", "buyers in the cohort (month of first purchase)", &label, Some(*size as f64), Unit::Count);
        for (k, buyers_k) in later {
            m("retention", &format!("share buying again in month +{k}"), &label, ratio(*buyers_k as f64, *size as f64), Unit::Share);
        }
    }

    // LTV to date: revenue per customer, by first-touch channel (customers with touches, buyers
    // or not) and by acquisition cohort (month of first purchase).
    let mut by_name: BTreeMap<&str, Terms> = BTreeMap::new();
    for (ch, rev) in by_first {
        by_name.entry(ch.map_or("(no touch)", |c| set.label(c))).or_default().append(rev);
    }
    for (ch, rev) in by_name {
        let k = rev.len() as f64;
        m("ltv", "customers", &format!("first touch {ch}"), Some(k), Unit::Count);
        m("ltv", "revenue per customer to date", &format!("first touch {ch}"), ratio(rev.total(), k), Unit::Money);
    }
    for (start, rev) in by_cohort {
        let k = rev.len() as f64;
        m("ltv", "revenue per customer to date", &format!("acquired {}", super::month_label(start)), ratio(rev.total(), k), Unit::Money);
    }
    out
}

/// The customers' statuses at an offline purchase, in the order the ROPO section lists them.
const STATUSES: [&str; 4] = ["new contact", "known contact, never bought", "previous buyer", "no online touch in the lookback"];

/// What the metrics count over customers, a share of them at a time on each core. Every part
/// adds up the same whichever customers it gets: counts and whole seconds are integers, and
/// money is kept as [`Terms`].
struct Tally {
    unidentified: u64,
    unidentified_revenue: Terms,
    /// Identified buyers.
    buyers: u64,
    by_channels: [u64; 4],
    both: u64,
    /// Seconds from the first touch to the first purchase, and buyers, by first-touch channel.
    lag: FxHashMap<Sym, (i64, u64)>,
    /// The same by the first purchase's kind (online, offline).
    lag_kind: [(i64, u64); 2],
    /// Offline purchases by status (see [`STATUSES`]): all, with a touch in the ROPO window, with
    /// one in the lookback.
    groups: [(u64, u64, u64); 4],
    offline_buyers: u64,
    ropo_window_buyers: u64,
    ropo_lookback_buyers: u64,
    /// Order values: online purchases, offline ones, and all of customers buying both ways.
    aov: [Terms; 3],
    repeat: u64,
    /// Buyers by month of first purchase, and by months after it they bought again in.
    cohorts: BTreeMap<i64, (u64, BTreeMap<i64, u64>)>,
    /// Revenue per customer by first-touch channel (`None`: no touch). Keyed by symbol, not by
    /// name: every identified customer adds to it.
    by_first: FxHashMap<Option<Sym>, Terms>,
    by_cohort: BTreeMap<i64, Terms>,
    months: super::Months,
}

impl Tally {
    fn new(tz: Tz) -> Tally {
        Tally {
            unidentified: 0,
            unidentified_revenue: Terms::default(),
            buyers: 0,
            by_channels: [0; 4],
            both: 0,
            lag: FxHashMap::default(),
            lag_kind: [(0, 0); 2],
            groups: [(0, 0, 0); 4],
            offline_buyers: 0,
            ropo_window_buyers: 0,
            ropo_lookback_buyers: 0,
            aov: Default::default(),
            repeat: 0,
            cohorts: BTreeMap::new(),
            by_first: FxHashMap::default(),
            by_cohort: BTreeMap::new(),
            months: super::Months::new(tz),
        }
    }

    fn add(&mut self, set: &PathSet, s: &Settings, c: &Cust) {
        if !c.identified {
            if !c.purchases.is_empty() {
                self.unidentified += 1;
                for p in c.purchases {
                    self.unidentified_revenue.push(p.1);
                }
            }
            return;
        }
        // LTV by first-touch channel counts every identified customer with a touch or a purchase.
        let key = first_channel(set, c.touches).map(|t| t.1);
        if key.is_some() || !c.purchases.is_empty() {
            self.by_first.entry(key).or_default().push(c.purchases.iter().map(|p| p.1).sum::<f64>());
        }
        let Some(&first) = c.purchases.first() else {
            return;
        };
        self.buyers += 1;

        // Multichannel behaviour.
        let before = &c.touches[..c.touches.partition_point(|t| t.ts <= first.0)];
        let mut chans: Vec<&str> = before.iter().map(|t| set.label(set.tags(t).channel)).collect();
        chans.sort_unstable();
        chans.dedup();
        self.by_channels[chans.len().min(3)] += 1;
        let omni = c.purchases.iter().any(|p| p.2) && c.purchases.iter().any(|p| !p.2);
        self.both += u64::from(omni);
        if let Some(t0) = first_channel(set, before) {
            let secs = first.0 - t0.0;
            let e = self.lag.entry(t0.1).or_default();
            e.0 += secs;
            e.1 += 1;
            let k = &mut self.lag_kind[usize::from(first.2)];
            k.0 += secs;
            k.1 += 1;
        }

        // ROPO.
        let mut any_offline = false;
        let (mut in_w, mut in_l) = (false, false);
        let first_seen = c.touches.first().map(|t| t.ts).into_iter().chain(Some(first.0)).min().unwrap_or(0);
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
            self.groups[g].0 += 1;
            self.groups[g].1 += u64::from(window);
            self.groups[g].2 += u64::from(last.is_some());
            in_w |= window;
            in_l |= last.is_some();
        }
        if any_offline {
            self.offline_buyers += 1;
            self.ropo_window_buyers += u64::from(in_w);
            self.ropo_lookback_buyers += u64::from(in_l);
        }

        // Value.
        for p in c.purchases {
            self.aov[usize::from(p.2)].push(p.1);
            if omni {
                self.aov[2].push(p.1);
            }
        }
        self.repeat += u64::from(c.purchases.len() > 1);

        // Retention, and LTV by acquisition cohort.
        let start = self.months.of(first.0);
        let e = self.cohorts.entry(start).or_default();
        e.0 += 1;
        let mut later: Vec<i64> = c.purchases.iter().map(|p| self.months.of(p.0) - start).filter(|&k| k > 0).collect();
        later.dedup();
        for k in later {
            *e.1.entry(k).or_default() += 1;
        }
        self.by_cohort.entry(start).or_default().push(c.purchases.iter().map(|p| p.1).sum::<f64>());
    }

    fn merge(mut self, other: Tally) -> Tally {
        self.unidentified += other.unidentified;
        self.unidentified_revenue.append(other.unidentified_revenue);
        self.buyers += other.buyers;
        for (a, b) in self.by_channels.iter_mut().zip(other.by_channels) {
            *a += b;
        }
        self.both += other.both;
        for (ch, (sum, k)) in other.lag {
            let e = self.lag.entry(ch).or_default();
            e.0 += sum;
            e.1 += k;
        }
        for (a, b) in self.lag_kind.iter_mut().zip(other.lag_kind) {
            a.0 += b.0;
            a.1 += b.1;
        }
        for (a, b) in self.groups.iter_mut().zip(other.groups) {
            a.0 += b.0;
            a.1 += b.1;
            a.2 += b.2;
        }
        self.offline_buyers += other.offline_buyers;
        self.ropo_window_buyers += other.ropo_window_buyers;
        self.ropo_lookback_buyers += other.ropo_lookback_buyers;
        for (a, b) in self.aov.iter_mut().zip(other.aov) {
            a.append(b);
        }
        self.repeat += other.repeat;
        for (start, (size, later)) in other.cohorts {
            let e = self.cohorts.entry(start).or_default();
            e.0 += size;
            for (k, n) in later {
                *e.1.entry(k).or_default() += n;
            }
        }
        for (ch, rev) in other.by_first {
            self.by_first.entry(ch).or_default().append(rev);
        }
        for (start, rev) in other.by_cohort {
            self.by_cohort.entry(start).or_default().append(rev);
        }
        self
    }
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

    fn append(&mut self, mut other: Terms) {
        self.0.append(&mut other.0);
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
        let name = |t: &[PTouch]| first_channel(&set, t).map(|(ts, n)| (ts, set.label(n).to_string()));
        assert_eq!(name(&touches), Some((0, "Beta".to_string())));
        // At the earliest second, the name decides, whatever order the touches come in.
        touches.retain(|t| t.ts == DAY);
        touches.sort_by_key(|t| std::cmp::Reverse(set.label(set.tags(t).channel).to_string()));
        assert_eq!(name(&touches), Some((DAY, "Alpha".to_string())));
        assert_eq!(name(&[]), None);
    }
}
