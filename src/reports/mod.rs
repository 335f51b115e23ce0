//! Reports: aggregates model credits into rows per model × dimension value, and summarises paths
//! and stitching. Pure data here; formatting belongs to `output`.

pub mod baseline;
pub mod customers;
pub mod journeys;
pub mod roi;
pub mod stitch;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use rayon::prelude::*;

use crate::models::labels::Labels;
use crate::models::{Credit, Fitted, Model, Target};
use crate::paths::{Path, PathSet};

pub use crate::models::labels::{Dimension, NOT_SET};

/// Which conversions a report covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversionKinds {
    Online,
    Offline,
    All,
}

impl ConversionKinds {
    pub fn parse(s: &str) -> Result<ConversionKinds> {
        Ok(match s.trim() {
            "online" => ConversionKinds::Online,
            "offline" => ConversionKinds::Offline,
            "all" => ConversionKinds::All,
            other => bail!("`{other}` is not a conversion kind (online, offline, all)"),
        })
    }
}

/// Conversions a report covers: by time (UTC seconds, `to` exclusive) and kind.
#[derive(Clone, Copy, Debug)]
pub struct Selection {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub kinds: ConversionKinds,
}

impl Selection {
    pub fn all() -> Selection {
        Selection { from: None, to: None, kinds: ConversionKinds::All }
    }

    pub fn is_all(&self) -> bool {
        self.from.is_none() && self.to.is_none() && self.kinds == ConversionKinds::All
    }

    /// Whether a moment lies in the selected dates.
    pub fn covers_time(&self, ts: i64) -> bool {
        self.from.is_none_or(|f| ts >= f) && self.to.is_none_or(|t| ts < t)
    }

    pub fn covers(&self, ts: i64, offline: bool) -> bool {
        self.covers_time(ts)
            && match self.kinds {
                ConversionKinds::All => true,
                ConversionKinds::Online => !offline,
                ConversionKinds::Offline => offline,
            }
    }

    /// Converting paths covered, in canonical order.
    pub fn paths<'a>(&'a self, set: &'a PathSet) -> impl Iterator<Item = &'a Path> + 'a {
        set.paths[..set.converting].iter().filter(move |p| set.conversion_of(p).is_some_and(|c| self.covers(c.ts, c.offline)))
    }
}

/// One row of the channel report.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportRow {
    pub model: String,
    pub value: String,
    pub conversions: f64,
    pub revenue: f64,
    pub share: f64,
    /// The part of `conversions` that were customers' first purchases (for CPA).
    pub first_purchases: f64,
    /// Ad spend of the row's dimension value in the selected dates; `None` without a costs input.
    pub cost: Option<f64>,
}

/// Offline conversions that had an online touch in the ROPO window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RopoRate {
    pub offline_conversions: u64,
    pub offline_revenue: f64,
    pub with_touch: u64,
    pub with_touch_revenue: f64,
    /// Dimension value → (conversions, revenue) of offline purchases with such a touch in the window.
    pub by_value: BTreeMap<String, (u64, f64)>,
}

/// The channel report.
#[derive(Clone, Debug)]
pub struct Report {
    pub dimension: Dimension,
    pub models: Vec<String>,
    /// Sorted by model (registry order), then value (byte order).
    pub rows: Vec<ReportRow>,
    /// Per model: total conversions and revenue credited.
    pub totals: Vec<(f64, f64)>,
    pub conversions: f64,
    pub revenue: f64,
    pub ropo: Option<RopoRate>,
}

/// One line of the audit table behind the totals.
#[derive(Clone, Debug)]
pub struct CreditRow {
    pub conversion_id: String,
    pub kind: &'static str,
    /// `None` when the input has no times (a path table).
    pub converted_at: Option<i64>,
    pub customer: String,
    pub model: &'static str,
    pub value: String,
    /// The credited touch's time; `None` for a bucket.
    pub touch_at: Option<i64>,
    pub credit: f64,
    pub revenue_credit: f64,
}

/// Runs the models over the selected conversions. Data-driven models first learn from every
/// journey (converting or not, selected or not).
pub fn attribute(
    set: &PathSet,
    models: &[Box<dyn Model>],
    dim: Dimension,
    sel: &Selection,
    salt: &str,
    mut credits_out: Option<&mut Vec<CreditRow>>,
) -> Result<Report> {
    let labels = Labels::build(set, dim);
    // Each model learns on its own, so the data-driven ones (Markov, Shapley: seconds each on
    // millions of journeys, on one core) learn side by side; the results are the same.
    // The first error in model order is the one reported, whichever finished first.
    let fits: Vec<Result<Option<Box<dyn Fitted>>>> = models.par_iter().map(|m| m.fit(set, &labels)).collect();
    let fitted: Vec<Option<Box<dyn Fitted>>> = fits.into_iter().collect::<Result<_>>()?;
    // Credits are summed per value in path order, as a map by value name would sum them, but
    // into slots found by index: a name cloned and looked up in a tree for every credit cost
    // more than the models themselves. Label names are unique; a bucket takes the slot of the
    // label of the same name, if any.
    let mut slot_names: Vec<&str> = labels.names.iter().map(String::as_str).collect();
    let mut bucket_slots: Vec<(&'static str, usize)> = Vec::new();
    let mut acc: Vec<Vec<Option<(f64, f64, f64)>>> = vec![vec![None; slot_names.len()]; models.len()];
    let first = first_purchases(set);
    let mut buf: Vec<Credit> = Vec::new();
    let mut conversions = 0.0;
    let mut revenue = 0.0;
    for path in sel.paths(set) {
        let Some(conv) = set.conversion_of(path) else {
            continue;
        };
        conversions += conv.count;
        revenue += conv.revenue;
        let is_first = path.conversion.is_some_and(|i| first[i as usize]);
        let customer = credits_out.as_ref().map(|_| set.customer_key(path.customer, Some(conv), salt));
        for (mi, model) in models.iter().enumerate() {
            buf.clear();
            match &fitted[mi] {
                Some(f) => f.credit(set, path, &mut buf),
                None => model.credit(set, path, &mut buf),
            }
            for c in &buf {
                let (slot, touch_at) = match c.target {
                    Target::Touch(i) => (labels.of_touch[i as usize] as usize, Some(set.touches[i as usize].ts)),
                    Target::Label(l) => (l as usize, None),
                    Target::Bucket(b) => match bucket_slots.iter().find(|(name, _)| *name == b) {
                        Some(&(_, slot)) => (slot, None),
                        None => {
                            let slot = slot_names.iter().position(|n| *n == b).unwrap_or_else(|| {
                                slot_names.push(b);
                                acc.iter_mut().for_each(|a| a.push(None));
                                slot_names.len() - 1
                            });
                            bucket_slots.push((b, slot));
                            (slot, None)
                        }
                    },
                };
                let rev = c.weight * conv.revenue;
                if let Some(out) = credits_out.as_deref_mut() {
                    out.push(CreditRow {
                        conversion_id: set.label(conv.id).to_string(),
                        kind: if conv.offline { "offline" } else { "online" },
                        converted_at: set.timed.then_some(conv.ts),
                        customer: customer.clone().unwrap_or_default(),
                        model: model.name(),
                        value: slot_names[slot].to_string(),
                        touch_at: touch_at.filter(|_| set.timed),
                        credit: c.weight * conv.count,
                        revenue_credit: rev,
                    });
                }
                let e = acc[mi][slot].get_or_insert((0.0, 0.0, 0.0));
                e.0 += c.weight * conv.count;
                e.1 += rev;
                if is_first {
                    e.2 += c.weight * conv.count;
                }
            }
        }
    }
    let mut sums: Vec<BTreeMap<String, (f64, f64, f64)>> = acc
        .into_iter()
        .map(|a| a.into_iter().enumerate().filter_map(|(slot, v)| Some((slot_names[slot].to_string(), v?))).collect())
        .collect();
    let costs = set.data.has_costs.then(|| costs_by_value(set, dim, sel));
    let mut rows = Vec::new();
    let mut totals = Vec::new();
    for (mi, model) in models.iter().enumerate() {
        // Spend with no credited conversion is still a row: money that bought nothing shows.
        for v in costs.iter().flat_map(|c| c.keys()) {
            sums[mi].entry(v.clone()).or_insert((0.0, 0.0, 0.0));
        }
        let total_conv: f64 = sums[mi].values().map(|v| v.0).sum();
        let total_rev: f64 = sums[mi].values().map(|v| v.1).sum();
        totals.push((total_conv, total_rev));
        for (value, (c, r, f)) in std::mem::take(&mut sums[mi]) {
            let cost = costs.as_ref().map(|m| m.get(&value).copied().unwrap_or(0.0));
            rows.push(ReportRow {
                model: model.name().to_string(),
                value,
                conversions: c,
                revenue: r,
                share: if total_conv != 0.0 { c / total_conv } else { 0.0 },
                first_purchases: f,
                cost,
            });
        }
    }
    let ropo = models.iter().find(|m| m.name() == "ropo").map(|_| ropo_rate(set, dim, sel, models));
    Ok(Report { dimension: dim, models: models.iter().map(|m| m.name().to_string()).collect(), rows, totals, conversions, revenue, ropo })
}

/// Whether each conversion (by index) is its customer's first purchase in the data: the earliest,
/// ties broken by conversion id so the answer never depends on row order.
fn first_purchases(set: &PathSet) -> Vec<bool> {
    let mut best: rustc_hash::FxHashMap<u32, usize> = rustc_hash::FxHashMap::default();
    for (i, c) in set.conversions.iter().enumerate() {
        best.entry(c.customer)
            .and_modify(|b| {
                let o = &set.conversions[*b];
                if (c.ts, set.label(c.id)) < (o.ts, set.label(o.id)) {
                    *b = i;
                }
            })
            .or_insert(i);
    }
    let mut first = vec![false; set.conversions.len()];
    for i in best.into_values() {
        first[i] = true;
    }
    first
}

/// Ad spend per dimension value over the selected dates.
fn costs_by_value(set: &PathSet, dim: Dimension, sel: &Selection) -> BTreeMap<String, f64> {
    let mut names: rustc_hash::FxHashMap<(u32, u32, u32, u32), std::rc::Rc<str>> = rustc_hash::FxHashMap::default();
    let mut items: Vec<(std::rc::Rc<str>, f64)> = set
        .data
        .costs
        .iter()
        .filter(|c| sel.covers_time(c.day))
        .map(|c| {
            let v = names
                .entry((c.channel, c.source, c.medium, c.campaign))
                .or_insert_with(|| dim.value_of(set, c.channel, c.source, c.medium, c.campaign).into());
            (v.clone(), c.amount)
        })
        .collect();
    // Summed in a content order (value, then amount) so totals never depend on input row order.
    items.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out = BTreeMap::new();
    for (v, a) in items {
        *out.entry(v.to_string()).or_insert(0.0) += a;
    }
    out
}

fn ropo_rate(set: &PathSet, dim: Dimension, sel: &Selection, models: &[Box<dyn Model>]) -> RopoRate {
    let window = models
        .iter()
        .find(|m| m.name() == "ropo")
        .and_then(|m| m.parameters().into_iter().find(|(k, _)| *k == "ropo-window"))
        .and_then(|(_, v)| crate::config::Duration::parse(&v).ok())
        .unwrap_or(crate::config::Duration(2 * 86_400));
    let mut r = RopoRate::default();
    for path in sel.paths(set) {
        let Some(conv) = set.conversion_of(path) else {
            continue;
        };
        if !conv.offline {
            continue;
        }
        r.offline_conversions += 1;
        r.offline_revenue += conv.revenue;
        let range = crate::models::ropo::window(set, path, window);
        if range.is_empty() {
            continue;
        }
        r.with_touch += 1;
        r.with_touch_revenue += conv.revenue;
        let mut seen: Vec<String> = set.touches[range].iter().map(|t| dim.value(set, t)).collect();
        seen.sort();
        seen.dedup();
        for v in seen {
            let e = r.by_value.entry(v).or_insert((0, 0.0));
            e.0 += 1;
            e.1 += conv.revenue;
        }
    }
    r
}
