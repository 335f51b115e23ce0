//! Reports: aggregates model credits into rows per model × dimension value, and summarises paths
//! and stitching. Pure data here; formatting belongs to `output`.

pub mod journeys;
pub mod stitch;

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::models::{Credit, Model, Target};
use crate::paths::{PTouch, Path, PathSet};

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
        let label = |s| {
            let v = set.label(s);
            if v.is_empty() {
                NOT_SET.to_string()
            } else {
                v.to_string()
            }
        };
        match self {
            Dimension::Channel => label(t.channel),
            Dimension::Source => label(t.source),
            Dimension::Medium => label(t.medium),
            Dimension::Campaign => label(t.campaign),
            Dimension::SourceMedium => format!("{} / {}", label(t.source), label(t.medium)),
        }
    }
}

pub const NOT_SET: &str = "(not set)";

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

    pub fn covers(&self, ts: i64, offline: bool) -> bool {
        self.from.is_none_or(|f| ts >= f)
            && self.to.is_none_or(|t| ts < t)
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
    pub conversions: u64,
    pub revenue: f64,
    pub ropo: Option<RopoRate>,
}

/// One line of the audit table behind the totals.
#[derive(Clone, Debug)]
pub struct CreditRow {
    pub conversion_id: String,
    pub kind: &'static str,
    pub converted_at: i64,
    pub customer: String,
    pub model: &'static str,
    pub value: String,
    /// The credited touch's time; `None` for a bucket.
    pub touch_at: Option<i64>,
    pub credit: f64,
    pub revenue_credit: f64,
}

/// Runs the models over the selected conversions.
pub fn attribute(
    set: &PathSet,
    models: &[Box<dyn Model>],
    dim: Dimension,
    sel: &Selection,
    salt: &str,
    mut credits_out: Option<&mut Vec<CreditRow>>,
) -> Report {
    let mut sums: Vec<BTreeMap<String, (f64, f64)>> = vec![BTreeMap::new(); models.len()];
    let mut buf: Vec<Credit> = Vec::new();
    let mut conversions = 0u64;
    let mut revenue = 0.0;
    // Touch dimension values are cached per path: most paths are short and repeat labels.
    for path in sel.paths(set) {
        let Some(conv) = set.conversion_of(path) else { continue };
        conversions += 1;
        revenue += conv.revenue;
        let customer = credits_out.as_ref().map(|_| set.customer_key(path.customer, Some(conv), salt));
        for (mi, model) in models.iter().enumerate() {
            buf.clear();
            model.credit(set, path, &mut buf);
            for c in &buf {
                let (value, touch_at) = match c.target {
                    Target::Touch(i) => (dim.value(set, &set.touches[i as usize]), Some(set.touches[i as usize].ts)),
                    Target::Bucket(b) => (b.to_string(), None),
                };
                let rev = c.weight * conv.revenue;
                if let Some(out) = credits_out.as_deref_mut() {
                    out.push(CreditRow {
                        conversion_id: set.label(conv.id).to_string(),
                        kind: if conv.offline { "offline" } else { "online" },
                        converted_at: conv.ts,
                        customer: customer.clone().unwrap_or_default(),
                        model: model.name(),
                        value: value.clone(),
                        touch_at,
                        credit: c.weight,
                        revenue_credit: rev,
                    });
                }
                let e = sums[mi].entry(value).or_insert((0.0, 0.0));
                e.0 += c.weight;
                e.1 += rev;
            }
        }
    }
    let mut rows = Vec::new();
    let mut totals = Vec::new();
    for (mi, model) in models.iter().enumerate() {
        let total_conv: f64 = sums[mi].values().map(|v| v.0).sum();
        let total_rev: f64 = sums[mi].values().map(|v| v.1).sum();
        totals.push((total_conv, total_rev));
        for (value, (c, r)) in std::mem::take(&mut sums[mi]) {
            rows.push(ReportRow {
                model: model.name().to_string(),
                value,
                conversions: c,
                revenue: r,
                share: if total_conv > 0.0 { c / total_conv } else { 0.0 },
            });
        }
    }
    let ropo = models
        .iter()
        .find(|m| m.name() == "ropo")
        .map(|_| ropo_rate(set, dim, sel, models));
    Report { dimension: dim, models: models.iter().map(|m| m.name().to_string()).collect(), rows, totals, conversions, revenue, ropo }
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
        let Some(conv) = set.conversion_of(path) else { continue };
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
