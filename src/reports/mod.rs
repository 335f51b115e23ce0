//! Reports: aggregates model credits into rows per model × dimension value, and summarises paths
//! and stitching. Pure data here; formatting belongs to `output`.

pub mod baseline;
pub mod credits;
pub mod customers;
pub mod journeys;
pub mod roi;
pub mod stitch;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use rayon::prelude::*;

use crate::models::labels::Labels;
use crate::models::{Credit, Fitted, Model, Target};
use crate::paths::{PConversion, Path, PathSet};

pub use crate::models::labels::{Dimension, NOT_SET};
pub use credits::{CreditRow, Credits};

/// Calendar months of UTC instants in a time zone, as `year * 12 + month0`. Reports ask for
/// millions (every customer's first touch), and a time-zone conversion costs more than the rest
/// of a report's work per customer. A quarter of an hour whose two ends fall in the same month
/// at the same UTC offset lies wholly in that month (every offset in use is a whole number of
/// quarter hours, and one that is not only makes the check fail), so its month is kept.
pub(crate) struct Months {
    tz: chrono_tz::Tz,
    known: rustc_hash::FxHashMap<i64, i64>,
}

const QUARTER_HOUR: i64 = 900;

impl Months {
    pub(crate) fn new(tz: chrono_tz::Tz) -> Months {
        Months { tz, known: rustc_hash::FxHashMap::default() }
    }

    pub(crate) fn of(&mut self, ts: i64) -> i64 {
        let q = ts.div_euclid(QUARTER_HOUR);
        if let Some(&m) = self.known.get(&q) {
            return m;
        }
        let (first, last) = (self.read(q * QUARTER_HOUR), self.read(q * QUARTER_HOUR + QUARTER_HOUR - 1));
        if let (Some(a), Some(b)) = (first, last) {
            if a == b {
                self.known.insert(q, a.0);
                return a.0;
            }
        }
        self.read(ts).map_or(month_of(chrono::NaiveDate::default()), |(m, _)| m)
    }

    /// The month of `ts` and the UTC offset there; `None` outside the dates the zone can tell.
    fn read(&self, ts: i64) -> Option<(i64, i32)> {
        use chrono::{Offset as _, TimeZone as _};
        let t = self.tz.timestamp_opt(ts, 0).single()?;
        Some((month_of(t.date_naive()), t.offset().fix().local_minus_utc()))
    }
}

fn month_of(d: chrono::NaiveDate) -> i64 {
    use chrono::Datelike as _;
    d.year() as i64 * 12 + d.month0() as i64
}

/// A month of [`Months`] as `YYYY-MM`.
pub(crate) fn month_label(m: i64) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

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
    /// Whether the run read costs: files then carry the return columns, rows or not.
    pub has_costs: bool,
}

/// Runs the models over the selected conversions. Data-driven models first learn from every
/// journey (converting or not, selected or not).
pub fn attribute(
    set: &PathSet,
    models: &[Box<dyn Model>],
    dim: Dimension,
    sel: &Selection,
    salt: &str,
    credits_out: Option<&mut Credits>,
) -> Result<Report> {
    let labels = Labels::build(set, dim);
    crate::log::step("labels");
    // Each model learns on its own, so the data-driven ones (Markov, Shapley: seconds each on
    // millions of journeys, on one core) learn side by side; the results are the same.
    // The first error in model order is the one reported, whichever finished first.
    if models.iter().any(|m| m.learns_from_journeys()) {
        crate::models::journeys::prepare(set, &labels)?;
        crate::log::step("journey sequences");
    }
    let fits: Vec<Result<Option<Box<dyn Fitted>>>> = models.par_iter().map(|m| m.fit(set, &labels)).collect();
    let fitted: Vec<Option<Box<dyn Fitted>>> = fits.into_iter().collect::<Result<_>>()?;
    crate::log::step("models learned");
    let first = first_purchases(set);
    let selected: Vec<(&Path, &PConversion)> = sel.paths(set).filter_map(|p| Some((p, set.conversion_of(p)?))).collect();
    let (mut conversions, mut revenue) = (0.0, 0.0);
    for (_, conv) in &selected {
        conversions += conv.count;
        revenue += conv.revenue;
    }
    // Every value a selected path touches is a row of every model, with zeros where a model
    // gives it nothing (a channel that assists but never closes has a last-click row of 0), so
    // that the models list the same values and a model's rows do not depend on the others run.
    let n_labels = labels.names.len();
    let on_paths = selected
        .par_chunks(1 << 14)
        .map(|part| {
            let mut seen = vec![false; n_labels];
            for (path, _) in part {
                for l in labels.of_touch.get(path.range()).unwrap_or_default() {
                    if let Some(s) = seen.get_mut(*l as usize) {
                        *s = true;
                    }
                }
            }
            seen
        })
        .reduce(
            || vec![false; n_labels],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x |= y);
                a
            },
        );
    let pass = Pass { set, labels: &labels, selected: &selected, first: &first, rows: credits_out.is_some(), on_paths: &on_paths };
    crate::log::step("paths selected");
    // Models credit in groups side by side, one group per core, each over every path in path
    // order: each sum gets its terms in the same order whatever the grouping. Models are dealt
    // to the groups in turn, so that neighbours in the list (time decay and ROPO, Markov and
    // Shapley: the costly ones come last) land on different cores.
    let work: Vec<(&dyn Model, Option<&dyn Fitted>)> = models.iter().zip(&fitted).map(|(m, f)| (m.as_ref(), f.as_deref())).collect();
    let groups = rayon::current_num_threads().clamp(1, work.len().max(1));
    let dealt: Vec<Vec<(usize, Credited)>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mine: Vec<usize> = (g..work.len()).step_by(groups).collect();
            let group: Vec<_> = mine.iter().map(|&i| work[i]).collect();
            mine.into_iter().zip(pass.credit(&group)).collect()
        })
        .collect();
    let mut credited: Vec<(usize, Credited)> = dealt.into_iter().flatten().collect();
    credited.sort_by_key(|&(i, _)| i);
    let credited: Vec<Credited> = credited.into_iter().map(|(_, c)| c).collect();
    crate::log::step("credited");
    let mut sums: Vec<BTreeMap<String, Sums>> = Vec::with_capacity(models.len());
    if let Some(out) = credits_out {
        set.stitching.find_keys(&set.data.graph);
        crate::log::step("display keys found");
        let customers = selected.par_iter().map(|(path, conv)| set.customer_key(path.customer, Some(conv), salt)).collect();
        crate::log::step("customer keys");
        *out = Credits::new(set, &selected, customers, &labels.names);
        for (c, model) in credited.into_iter().zip(models) {
            sums.push(c.sums);
            out.push(model.name(), c.buckets, c.rows);
        }
    } else {
        sums.extend(credited.into_iter().map(|c| c.sums));
    }
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
    crate::log::step("summed");
    let ropo = models.iter().find(|m| m.name() == "ropo").map(|_| ropo_rate(set, &labels, sel, models));
    crate::log::step("ROPO rate");
    Ok(Report {
        dimension: dim,
        models: models.iter().map(|m| m.name().to_string()).collect(),
        rows,
        totals,
        conversions,
        revenue,
        ropo,
        has_costs: costs.is_some(),
    })
}

/// Credits, conversions and first purchases summed per dimension value.
type Sums = (f64, f64, f64);

/// What every model's crediting pass reads: the selected converting paths, in path order.
struct Pass<'a> {
    set: &'a PathSet,
    labels: &'a Labels,
    selected: &'a [(&'a Path, &'a PConversion)],
    first: &'a [bool],
    /// Whether credit rows are wanted.
    rows: bool,
    /// Whether each label is on a selected path (see [`attribute`]).
    on_paths: &'a [bool],
}

/// One model's sums per value, and its credit rows (in path order) and bucket names when wanted.
struct Credited {
    sums: BTreeMap<String, Sums>,
    rows: Vec<credits::Row>,
    buckets: Vec<&'static str>,
}

/// One model's running sums: a slot per label, then one per bucket not named like a label.
struct Tally<'a> {
    model: &'a dyn Model,
    fitted: Option<&'a dyn Fitted>,
    acc: Vec<Option<Sums>>,
    buckets: Vec<(&'static str, usize)>,
    bucket_names: Vec<&'static str>,
    rows: Vec<credits::Row>,
}

impl Tally<'_> {
    fn name(&self, names: &[String], slot: usize) -> String {
        names.get(slot).map(String::as_str).unwrap_or_else(|| self.bucket_names[slot - names.len()]).to_string()
    }
}

impl Pass<'_> {
    /// Credits are summed per value in path order, as a map by value name would sum them, but
    /// into slots found by index: a name cloned and looked up in a tree for every credit cost
    /// more than the models themselves. Label names are unique; a bucket takes the slot of the
    /// label of the same name, if any. The models of a group credit each path in turn while
    /// its touches are in the processor's cache.
    fn credit<'m>(&self, group: &[(&'m dyn Model, Option<&'m dyn Fitted>)]) -> Vec<Credited> {
        let (set, names) = (self.set, &self.labels.names);
        let mut tallies: Vec<Tally> = group
            .iter()
            .map(|&(model, fitted)| Tally {
                model,
                fitted,
                acc: vec![None; names.len()],
                buckets: Vec::new(),
                bucket_names: Vec::new(),
                rows: Vec::new(),
            })
            .collect();
        let mut buf: Vec<Credit> = Vec::new();
        for (p, &(path, conv)) in self.selected.iter().enumerate() {
            let is_first = path.conversion.is_some_and(|i| self.first[i as usize]);
            for t in tallies.iter_mut() {
                buf.clear();
                match t.fitted {
                    Some(f) => f.credit(set, path, &mut buf),
                    None => t.model.credit(set, path, &mut buf),
                }
                for c in &buf {
                    let (slot, touch_at) = match c.target {
                        Target::Touch(i) => (self.labels.of_touch[i as usize] as usize, Some(set.touches[i as usize].ts)),
                        Target::Label(l) => (l as usize, None),
                        Target::Bucket(b) => {
                            // An online order with no touch sits with the direct visits under
                            // any dimension: `(direct)` by source, not a `Direct` of its own.
                            let b = if b == crate::channels::DIRECT { self.labels.dimension.direct() } else { b };
                            match t.buckets.iter().find(|(name, _)| *name == b) {
                                Some(&(_, slot)) => (slot, None),
                                None => {
                                    let slot = names.iter().position(|n| n == b).unwrap_or_else(|| {
                                        t.bucket_names.push(b);
                                        t.acc.push(None);
                                        t.acc.len() - 1
                                    });
                                    t.buckets.push((b, slot));
                                    (slot, None)
                                }
                            }
                        }
                    };
                    let rev = c.weight * conv.revenue;
                    if self.rows {
                        t.rows.push(credits::Row {
                            path: p as u32,
                            slot: slot as u32,
                            touch_at: touch_at.filter(|_| set.timed),
                            credit: c.weight * conv.count,
                            revenue_credit: rev,
                        });
                    }
                    let e = t.acc[slot].get_or_insert((0.0, 0.0, 0.0));
                    e.0 += c.weight * conv.count;
                    e.1 += rev;
                    if is_first {
                        e.2 += c.weight * conv.count;
                    }
                }
            }
        }
        tallies
            .into_iter()
            .map(|mut t| {
                let acc = std::mem::take(&mut t.acc);
                let sums = acc
                    .into_iter()
                    .enumerate()
                    .filter_map(|(slot, v)| {
                        let v = v.or_else(|| self.on_paths.get(slot).is_some_and(|&on| on).then_some((0.0, 0.0, 0.0)))?;
                        Some((t.name(names, slot), v))
                    })
                    .collect();
                Credited { sums, rows: t.rows, buckets: t.bucket_names }
            })
            .collect()
    }
}

/// Whether each conversion (by index) is its customer's first purchase in the data: the earliest,
/// ties broken by conversion id so the answer never depends on row order.
fn first_purchases(set: &PathSet) -> Vec<bool> {
    // Conversions are in time order, so a customer's first is the first seen unless a later
    // one at the same second has a smaller id (byte order, which the ranks follow). One slot
    // per customer, read in conversion order: no hashing, no id text read.
    let rank = |c: &PConversion| set.ranks.get(c.id as usize).copied().unwrap_or(0);
    let mut best = vec![u32::MAX; set.stitching.customers()];
    for (i, c) in set.conversions.iter().enumerate() {
        let Some(slot) = best.get_mut(c.customer as usize) else {
            continue;
        };
        match set.conversions.get(*slot as usize) {
            Some(o) if (c.ts, rank(c)) >= (o.ts, rank(o)) => {}
            _ => *slot = i as u32,
        }
    }
    let mut first = vec![false; set.conversions.len()];
    for i in best.into_iter().filter(|&i| i != u32::MAX) {
        first[i as usize] = true;
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

/// Each touch's value is its label (the same text as `Dimension::value`), so values are counted
/// by label id, each summed in path order as a map by name would sum them, without a string
/// per touch.
fn ropo_rate(set: &PathSet, labels: &Labels, sel: &Selection, models: &[Box<dyn Model>]) -> RopoRate {
    let window = models
        .iter()
        .find(|m| m.name() == "ropo")
        .and_then(|m| m.parameters().into_iter().find(|(k, _)| *k == "ropo-window"))
        .and_then(|(_, v)| crate::config::Duration::parse(&v).ok())
        .unwrap_or(crate::config::Duration(2 * 86_400));
    let mut r = RopoRate::default();
    let mut by_label: Vec<Option<(u64, f64)>> = vec![None; labels.names.len()];
    // Each offline purchase's window and the labels in it are found on every core; the sums
    // then take their terms in path order, as one core would.
    let offline: Vec<(&Path, &PConversion)> =
        sel.paths(set).filter_map(|p| set.conversion_of(p).filter(|c| c.offline).map(|c| (p, c))).collect();
    let seen: Vec<Option<Vec<u32>>> = offline
        .par_iter()
        .with_min_len(1 << 10)
        .map(|(path, _)| {
            let range = crate::models::ropo::window(set, path, window);
            (!range.is_empty()).then(|| {
                let mut seen = labels.of_touch[range].to_vec();
                seen.sort_unstable();
                seen.dedup();
                seen
            })
        })
        .collect();
    for ((_, conv), seen) in offline.iter().zip(&seen) {
        r.offline_conversions += 1;
        r.offline_revenue += conv.revenue;
        let Some(seen) = seen else {
            continue;
        };
        r.with_touch += 1;
        r.with_touch_revenue += conv.revenue;
        for &l in seen {
            let e = by_label[l as usize].get_or_insert((0, 0.0));
            e.0 += 1;
            e.1 += conv.revenue;
        }
    }
    r.by_value = by_label.into_iter().zip(&labels.names).filter_map(|(v, name)| Some((name.clone(), v?))).collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::testkit::{config, journey, pathset};

    /// Rows of one model as (value, conversions, revenue).
    fn rows_of<'r>(r: &'r Report, model: &str) -> Vec<(&'r str, f64, f64)> {
        r.rows.iter().filter(|row| row.model == model).map(|row| (row.value.as_str(), row.conversions, row.revenue)).collect()
    }

    #[test]
    fn an_online_order_with_no_touch_reads_as_a_direct_visit_under_every_dimension() {
        let cfg = config("");
        let set = pathset(&[journey("ann", &[], &[(10, 5.0, false)]), journey("bob", &[("Email", 0)], &[(20, 1.0, false)])], &cfg);
        let models = crate::models::registry(&crate::config::ModelParams::default());
        let last: Vec<_> = models.into_iter().filter(|m| m.name() == "last-click").collect();
        let by = |dim| attribute(&set, &last, dim, &Selection::all(), "", None).unwrap();
        assert_eq!(rows_of(&by(Dimension::Channel), "last-click"), [("Direct", 1.0, 5.0), ("Email", 1.0, 1.0)]);
        assert_eq!(rows_of(&by(Dimension::Source), "last-click"), [("(direct)", 1.0, 5.0), ("email", 1.0, 1.0)]);
        // The touch has no medium or campaign: it reads `(not set)`, a direct visit's campaign too.
        assert_eq!(rows_of(&by(Dimension::Medium), "last-click"), [("(none)", 1.0, 5.0), ("(not set)", 1.0, 1.0)]);
        assert_eq!(rows_of(&by(Dimension::Campaign), "last-click"), [("(not set)", 2.0, 6.0)]);
        assert_eq!(rows_of(&by(Dimension::SourceMedium), "last-click"), [("(direct) / (none)", 1.0, 5.0), ("email / (not set)", 1.0, 1.0)]);
    }

    #[test]
    fn a_value_on_a_path_that_a_model_does_not_credit_is_a_row_of_zeros() {
        let cfg = config("");
        let set = pathset(&[journey("ann", &[("Email", 0), ("Paid Search", 10)], &[(20, 4.0, false)])], &cfg);
        let models = crate::models::registry(&crate::config::ModelParams::default());
        let r = attribute(&set, &models, Dimension::Channel, &Selection::all(), "", None).unwrap();
        assert_eq!(rows_of(&r, "last-click"), [("Email", 0.0, 0.0), ("Paid Search", 1.0, 4.0)]);
        assert_eq!(rows_of(&r, "first-click"), [("Email", 1.0, 4.0), ("Paid Search", 0.0, 0.0)]);
        assert_eq!(rows_of(&r, "linear"), [("Email", 0.5, 2.0), ("Paid Search", 0.5, 2.0)]);
        // A value on no reported path has no row: the report selects the conversion out.
        let none = Selection { from: Some(100), ..Selection::all() };
        assert!(attribute(&set, &models, Dimension::Channel, &none, "", None).unwrap().rows.is_empty());
    }

    #[test]
    fn first_purchase_is_the_earliest_then_the_smallest_id() {
        // a: an offline receipt and an online order at the same second; the order comes first
        // in canonical order (online first), the receipt has the smaller id (`a-1` < `a-2`).
        // b: its later conversion is listed first.
        let js = [
            journey("a", &[("Email", 0)], &[(10, 1.0, true), (10, 2.0, false)]),
            journey("b", &[("Email", 0)], &[(20, 3.0, false), (5, 4.0, false)]),
            journey("c", &[], &[(7, 5.0, false)]),
        ];
        let set = pathset(&js, &config(""));
        let first = first_purchases(&set);
        let mut firsts: Vec<&str> = set.conversions.iter().zip(&first).filter(|(_, &f)| f).map(|(c, _)| set.label(c.id)).collect();
        firsts.sort();
        assert_eq!(firsts, ["a-1", "b-4", "c-5"]);
        assert_eq!(set.label(set.conversions[2].id), "a-2", "the order comes before the receipt at the same second");
    }

    /// The month of an instant read directly, as [`Months`] would without its memory.
    fn month_read(ts: i64, tz: chrono_tz::Tz) -> i64 {
        use chrono::TimeZone as _;
        month_of(tz.timestamp_opt(ts, 0).single().map(|t| t.date_naive()).unwrap_or_default())
    }

    proptest::proptest! {
        /// Instants near month ends and clock changes, in zones with half- and quarter-hour
        /// offsets and half-hour clock changes, read in any order.
        #[test]
        fn months_kept_are_the_months_read(
            zone in proptest::sample::select(vec![
                "Europe/Moscow", "Asia/Kathmandu", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kolkata",
                "Europe/London", "Pacific/Chatham", "America/Sao_Paulo", "UTC",
            ]),
            instants in proptest::collection::vec((0i64..2400, -3000i64..3000), 1..60),
        ) {
            let tz: chrono_tz::Tz = zone.parse().unwrap();
            let mut months = Months::new(tz);
            for (k, near) in instants {
                // Around the UTC start of a month from 1900 on (k months after), give or take.
                let (year, month) = (1900 + k / 12, (k % 12) as u32 + 1);
                let start = chrono::NaiveDate::from_ymd_opt(year as i32, month, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
                for ts in [start + near * 60, start + near * 60 + 7 * 86_400 * (near % 5)] {
                    proptest::prop_assert_eq!(months.of(ts), month_read(ts, tz), "{} at {}", zone, ts);
                }
            }
        }
    }

    #[test]
    fn months_are_local_even_where_one_begins_inside_a_quarter_hour() {
        let mut months = Months::new(chrono_tz::Europe::Moscow);
        // 2026-01-31T21:00:00Z is midnight of February 1 in Moscow.
        assert_eq!(month_label(months.of(1_769_893_200)), "2026-02");
        assert_eq!(month_label(months.of(1_769_893_199)), "2026-01");
        // Moscow kept its mean solar time (+2:30:17) until 1919: its months begin inside a
        // quarter hour, whose instants belong to two months.
        use chrono::TimeZone as _;
        let tz = chrono_tz::Europe::Moscow;
        let midnight = chrono::NaiveDate::from_ymd_opt(1910, 2, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let b = tz.from_local_datetime(&midnight).single().unwrap().timestamp();
        assert_ne!(b.rem_euclid(QUARTER_HOUR), 0);
        let mut months = Months::new(tz);
        for ts in (b - 1000..b + 1000).chain((b - 1000..b + 1000).rev()) {
            assert_eq!(months.of(ts), month_read(ts, tz), "{ts}");
        }
    }
}
