//! Normalization: reads the loaded text tables into typed touches, conversions and identity
//! records, cleaning every value on the way and accounting for every row (used, filtered by a
//! named rule, or rejected with file, line, column and reason).

pub mod time;
pub mod url;
pub mod value;

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use polars::prelude::StringChunked;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::channels::{self, Classifier};
use crate::config::{Config, SourceKind, SourceSpec};
use crate::identity::{IdGraph, IdKind};
use crate::intern::{Interner, Sym};
use crate::io::schema;
use crate::io::RawTable;
use crate::summary::{FileSummary, Reject, RunSummary};
use time::TimeParser;

/// What kind of contact a touch was. Also the tie-break order of touches at the same instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TouchKind {
    Visit = 0,
    Message = 1,
    Call = 2,
}

impl TouchKind {
    pub fn name(self) -> &'static str {
        match self {
            TouchKind::Visit => "visit",
            TouchKind::Message => "touch",
            TouchKind::Call => "call",
        }
    }
}

/// One marketing touch of a (yet unknown) customer.
#[derive(Clone, Copy, Debug)]
pub struct Touch {
    /// UTC Unix seconds.
    pub ts: i64,
    /// Identity record: which identifiers the touch carried.
    pub record: u32,
    pub kind: TouchKind,
    pub channel: Sym,
    pub source: Sym,
    pub medium: Sym,
    pub campaign: Sym,
    /// Index of the input file, for accounting.
    pub file: u16,
}

/// A purchase: a CRM order (online) or a POS receipt (offline).
#[derive(Clone, Copy, Debug)]
pub struct Conversion {
    pub id: Sym,
    pub ts: i64,
    pub revenue: f64,
    pub offline: bool,
    pub record: u32,
    /// For a receipt: the order it fulfils (0 = none).
    pub fulfils: Sym,
    pub file: u16,
    pub line: u64,
}

/// One row of ad spend: a day's cost of a source / medium / campaign.
#[derive(Clone, Copy, Debug)]
pub struct Cost {
    /// UTC second at which the cost's day starts in the source's time zone.
    pub day: i64,
    pub channel: Sym,
    pub source: Sym,
    pub medium: Sym,
    pub campaign: Sym,
    pub amount: f64,
}

/// Everything the later stages need, integer-encoded.
pub struct Dataset {
    pub strings: Interner,
    pub graph: IdGraph,
    pub touches: Vec<Touch>,
    pub conversions: Vec<Conversion>,
    pub summary: RunSummary,
    /// Whether any receipts source was configured (ROPO needs one).
    pub has_offline_source: bool,
    pub costs: Vec<Cost>,
    /// Whether any costs source was configured (reports then add cost and return columns).
    pub has_costs: bool,
}

/// Where a canonical field's value comes from in one table.
enum FieldSrc<'a> {
    Column(&'a StringChunked, String),
    Constant(String),
    Absent,
}

struct Fields<'a> {
    srcs: Vec<FieldSrc<'a>>,
    kind: SourceKind,
}

impl<'a> Fields<'a> {
    fn resolve(table: &'a RawTable, spec: &SourceSpec) -> Result<Fields<'a>> {
        let mut srcs = Vec::new();
        for f in schema::fields(spec.kind) {
            let src = if let Some(c) = spec.constants.get(f.name) {
                FieldSrc::Constant(c.clone())
            } else {
                let wanted = spec.columns.get(f.name).map(String::as_str).unwrap_or(f.name);
                let pos = table
                    .headers
                    .iter()
                    .position(|h| h == wanted)
                    .or_else(|| table.headers.iter().position(|h| h.eq_ignore_ascii_case(wanted)));
                match pos {
                    Some(i) => FieldSrc::Column(table.text_column(i)?, table.headers[i].clone()),
                    None if f.required || spec.columns.contains_key(f.name) => {
                        let hint = schema::closest(wanted, &table.headers)
                            .map(|c| format!("; did you mean `{c}`? (map it with `{} = \"{c}\"` under [sources.columns])", f.name))
                            .unwrap_or_default();
                        bail!(
                            "{}: {} column `{wanted}` (field `{}`) not found; columns found: {}{hint}",
                            table.name,
                            if f.required { "required" } else { "mapped" },
                            f.name,
                            table.headers.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "),
                        );
                    }
                    None => FieldSrc::Absent,
                }
            };
            srcs.push(src);
        }
        Ok(Fields { srcs, kind: spec.kind })
    }

    fn idx(&self, name: &str) -> usize {
        // Field names are compile-time constants of this module, so a miss is a programming error
        // caught by the unit tests, never by user input.
        schema::fields(self.kind).iter().position(|f| f.name == name).unwrap_or(usize::MAX)
    }

    /// The cleaned value of field `f` in row `row` (placeholders are `None`).
    fn get(&self, f: usize, row: usize) -> Option<&str> {
        match self.srcs.get(f)? {
            FieldSrc::Column(c, _) => value::clean(c.get(row)),
            FieldSrc::Constant(v) => value::clean(Some(v.as_str())),
            FieldSrc::Absent => None,
        }
    }

    fn column_name(&self, f: usize) -> String {
        match self.srcs.get(f) {
            Some(FieldSrc::Column(_, name)) => name.clone(),
            Some(FieldSrc::Constant(_)) => {
                format!("{} (constant)", schema::fields(self.kind)[f].name)
            }
            _ => schema::fields(self.kind).get(f).map(|x| x.name.to_string()).unwrap_or_default(),
        }
    }
}

/// Why a row was not used.
enum Outcome {
    Used,
    Filtered(String),
    Rejected { field: usize, reason: String, value: String },
}

struct Normalizer<'c> {
    cfg: &'c Config,
    strings: Interner,
    graph: IdGraph,
    classifier: Classifier,
    touches: Vec<Touch>,
    conversions: Vec<Conversion>,
    costs: Vec<Cost>,
    invalid: BTreeMap<(&'static str, String), u64>,
    referrer_cache: FxHashMap<String, (Sym, Sym, Sym)>,
    excluded: Vec<String>,
    /// Orders filtered by status: not conversions, but still orders a receipt may fulfil.
    excluded_orders: Vec<Sym>,
    nodes: Vec<u32>,
    names: Vec<String>,
}

const REJECT_KEEP: usize = 100_000;

/// Normalizes all loaded tables (one per configured source, same order).
pub fn normalize(cfg: &Config, tables: &[RawTable]) -> Result<Dataset> {
    normalize_with_progress(cfg, tables, &|_| {})
}

/// Rows between two progress reports: often enough for a live rate, rare enough to cost nothing.
pub const PROGRESS_STEP: u64 = 65_536;

/// [`normalize`], calling `progress(rows)` every [`PROGRESS_STEP`] rows.
pub fn normalize_with_progress(cfg: &Config, tables: &[RawTable], progress: &dyn Fn(u64)) -> Result<Dataset> {
    let mut n = Normalizer {
        cfg,
        strings: Interner::new(),
        graph: IdGraph::default(),
        classifier: Classifier::new(&cfg.channel_rules, cfg.use_default_channel_rules, &cfg.site_domains)?,
        touches: Vec::new(),
        conversions: Vec::new(),
        costs: Vec::new(),
        invalid: BTreeMap::new(),
        referrer_cache: FxHashMap::default(),
        excluded: cfg.excluded_statuses.iter().map(|s| value::fold(s)).collect(),
        excluded_orders: Vec::new(),
        nodes: Vec::with_capacity(8),
        names: cfg.sources.iter().map(|s| s.location.display_name()).collect(),
    };
    let mut summary = RunSummary::default();
    for (file_idx, (table, spec)) in tables.iter().zip(&cfg.sources).enumerate() {
        let fields = Fields::resolve(table, spec)?;
        let mut fs =
            FileSummary { file: table.name.clone(), kind: spec.kind.to_string(), rows_read: table.rows_read, ..Default::default() };
        for r in &table.rejects {
            let reason = crate::identity::scrub(&r.reason, &cfg.salt).into_owned();
            fs.reject(&reason);
            if summary.rejects.len() < REJECT_KEEP {
                summary.rejects.push(Reject { reason, value: crate::identity::scrub(&r.value, &cfg.salt).into_owned(), ..r.clone() });
            }
        }
        let mut clock = TimeParser::new(spec.timezone, spec.timestamp_format.clone());
        for row in 0..table.height() {
            if row as u64 % PROGRESS_STEP == PROGRESS_STEP - 1 {
                progress(PROGRESS_STEP);
            }
            let outcome = match spec.kind {
                SourceKind::Visits => n.visit(&fields, row, &mut clock, file_idx as u16),
                SourceKind::Calls => n.call(&fields, row, &mut clock, file_idx as u16),
                SourceKind::Orders => n.order(&fields, row, &mut clock, file_idx as u16, table.lines[row]),
                SourceKind::Receipts => n.receipt(&fields, row, &mut clock, file_idx as u16, table.lines[row]),
                SourceKind::Links => n.link(&fields, row),
                SourceKind::Touches => n.message(&fields, row, &mut clock, file_idx as u16),
                SourceKind::Costs => n.cost(&fields, row, &mut clock),
            };
            match outcome {
                Outcome::Used => fs.used += 1,
                Outcome::Filtered(rule) => fs.filter(&rule),
                Outcome::Rejected { field, reason, value } => {
                    let column = fields.column_name(field);
                    // Reasons quote the value: a 50 MB field must not become a 50 MB message.
                    let reason = crate::identity::scrub(&shorten(&reason), &cfg.salt).into_owned();
                    let value = crate::identity::scrub(&crate::io::csv::truncate(&value, 200), &cfg.salt).into_owned();
                    fs.reject(&format!("`{column}`: {reason}"));
                    if summary.rejects.len() < REJECT_KEEP {
                        summary.rejects.push(Reject {
                            file: table.name.clone(),
                            line: table.lines[row],
                            column,
                            reason,
                            value: crate::io::csv::truncate(&value, 200),
                        });
                    }
                }
            }
        }
        summary.files.push(fs);
    }
    let has_offline_source = cfg.sources.iter().any(|s| s.kind == SourceKind::Receipts);
    let has_costs = cfg.sources.iter().any(|s| s.kind == SourceKind::Costs);
    let mut ds = Dataset {
        strings: n.strings,
        graph: n.graph,
        touches: n.touches,
        conversions: n.conversions,
        summary,
        has_offline_source,
        costs: n.costs,
        has_costs,
    };
    let invalid = std::mem::take(&mut n.invalid);
    let excluded_orders = std::mem::take(&mut n.excluded_orders);
    for ((what, file), count) in invalid {
        ds.summary.notes.push(format!("{file}: {count} {what} value(s) could not be read and were ignored (the rows were kept)"));
    }
    settle_conversions(&mut ds, &excluded_orders);
    Ok(ds)
}

/// Removes duplicate conversions and receipts that fulfil an online order, keeping the counts.
fn settle_conversions(ds: &mut Dataset, excluded_orders: &[Sym]) {
    // Duplicates: the same id twice in one kind. Keep the latest, then the largest, so the
    // choice depends on content, not on row order.
    ds.conversions.sort_by(|a, b| {
        (a.offline, ds.strings.resolve(a.id))
            .cmp(&(b.offline, ds.strings.resolve(b.id)))
            .then(b.ts.cmp(&a.ts))
            .then(b.revenue.total_cmp(&a.revenue))
    });
    let mut kept: Vec<Conversion> = Vec::with_capacity(ds.conversions.len());
    let mut dup_by_file: BTreeMap<(u16, bool), u64> = BTreeMap::new();
    for c in ds.conversions.drain(..) {
        if let Some(last) = kept.last() {
            if last.offline == c.offline && last.id == c.id {
                *dup_by_file.entry((c.file, c.offline)).or_default() += 1;
                continue;
            }
        }
        kept.push(c);
    }
    for ((file, offline), n) in dup_by_file {
        let rule = if offline { "duplicate receipt_id (kept once)" } else { "duplicate order_id (kept once)" };
        ds.summary.files[file as usize].refilter(rule, n);
    }
    // A receipt that fulfils an online order is that order, not a second purchase.
    let order_ids: FxHashSet<Sym> = kept.iter().filter(|c| !c.offline).map(|c| c.id).chain(excluded_orders.iter().copied()).collect();
    let mut fulfil_by_file: BTreeMap<u16, u64> = BTreeMap::new();
    kept.retain(|c| {
        if c.offline && c.fulfils != 0 && order_ids.contains(&c.fulfils) {
            *fulfil_by_file.entry(c.file).or_default() += 1;
            false
        } else {
            true
        }
    });
    for (file, n) in fulfil_by_file {
        ds.summary.files[file as usize].refilter("fulfils an online order (counted once, as the order; identifiers still link)", n);
    }
    ds.conversions = kept;
}

/// A long reason keeps its start (the quoted value's beginning) and its end (what is wrong).
fn shorten(reason: &str) -> std::borrow::Cow<'_, str> {
    if reason.len() <= 300 {
        return std::borrow::Cow::Borrowed(reason);
    }
    let head = crate::io::csv::truncate(reason, 120);
    let mut start = reason.len() - 120;
    while !reason.is_char_boundary(start) {
        start += 1;
    }
    std::borrow::Cow::Owned(format!("{head}{}", &reason[start..]))
}

fn rejected(field: usize, reason: impl Into<String>, value: &str) -> Outcome {
    Outcome::Rejected { field, reason: reason.into(), value: value.to_string() }
}

impl<'c> Normalizer<'c> {
    fn ident(&mut self, kind: IdKind, raw: Option<&str>, file: u16) -> Option<u32> {
        let raw = raw?;
        let v = match kind {
            IdKind::Phone => value::phone(raw, &self.cfg.default_country),
            IdKind::Email => value::email(raw),
            _ => Some(raw.to_string()),
        };
        match v {
            Some(v) => Some(self.graph.node(kind, &v)),
            None => {
                let name = self.names.get(file as usize).cloned().unwrap_or_default();
                *self.invalid.entry((kind.name(), name)).or_default() += 1;
                None
            }
        }
    }

    fn record(&mut self) -> u32 {
        let nodes = std::mem::take(&mut self.nodes);
        let r = self.graph.add_record(&nodes);
        self.nodes = nodes;
        self.nodes.clear();
        r
    }

    fn push_ids(&mut self, f: &Fields, row: usize, list: &[(&str, IdKind)], file: u16) {
        for &(field, kind) in list {
            let i = f.idx(field);
            if let Some(node) = self.ident(kind, f.get(i, row), file) {
                self.nodes.push(node);
            }
        }
    }

    fn time(&self, f: &Fields, field: usize, row: usize, clock: &mut TimeParser) -> Result<i64, Outcome> {
        match f.get(field, row) {
            None => Err(rejected(field, "missing timestamp", "")),
            Some(v) => clock.parse(v).map_err(|e| rejected(field, format!("`{v}` {e}"), v)),
        }
    }

    fn cost(&mut self, f: &Fields, row: usize, clock: &mut TimeParser) -> Outcome {
        let day = match self.time(f, f.idx("date"), row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        let amount = match self.money(f, f.idx("cost"), row) {
            Ok(v) => v,
            Err(o) => return o,
        };
        let cf = f.idx("currency");
        if let Some(c) = f.get(cf, row) {
            if !c.eq_ignore_ascii_case(&self.cfg.currency) {
                return rejected(
                    cf,
                    format!("currency `{c}` is not the report's {} (no conversion rates are applied)", self.cfg.currency),
                    c,
                );
            }
        }
        let mut tag = |name: &str| f.get(f.idx(name), row).map_or(0, |v| self.strings.intern(v));
        let (source, medium, campaign) = (tag("source"), tag("medium"), tag("campaign"));
        let channel = match f.get(f.idx("channel"), row) {
            Some(ch) => self.strings.intern(ch),
            None => self.classifier.classify(&mut self.strings, source, medium, campaign, 0),
        };
        self.costs.push(Cost { day, channel, source, medium, campaign, amount });
        Outcome::Used
    }

    fn money(&self, f: &Fields, field: usize, row: usize) -> Result<f64, Outcome> {
        match f.get(field, row) {
            None => Err(rejected(field, "missing amount", "")),
            Some(v) => match value::number(v) {
                None => Err(rejected(field, format!("`{v}` is not a number"), v)),
                Some(x) if x < 0.0 => Err(rejected(field, format!("`{v}` is negative (refunds belong in the status, not the amount)"), v)),
                Some(x) => Ok(x),
            },
        }
    }

    /// Source, medium and campaign symbols of a visit, inferring them from the landing page and
    /// the referrer when the tag columns are empty.
    fn visit_tags(&mut self, f: &Fields, row: usize) -> (Sym, Sym, Sym, Sym) {
        let mut source = f.get(f.idx("utm_source"), row).map(str::to_string);
        let mut medium = f.get(f.idx("utm_medium"), row).map(str::to_string);
        let mut campaign = f.get(f.idx("utm_campaign"), row).map(str::to_string);
        let landing = f.get(f.idx("landing_page"), row);
        if source.is_none() && medium.is_none() && campaign.is_none() {
            if let Some(l) = landing {
                let q = url::query_tags(l);
                if q.source.is_some() || q.medium.is_some() || q.campaign.is_some() {
                    source = q.source;
                    medium = q.medium;
                    campaign = q.campaign;
                } else if q.yclid {
                    source = Some("yandex".into());
                    medium = Some("cpc".into());
                } else if q.gclid {
                    source = Some("google".into());
                    medium = Some("cpc".into());
                }
            }
        }
        let landing_host = landing.and_then(url::host);
        let referrer =
            f.get(f.idx("referrer"), row).and_then(url::host).filter(|h| !self.classifier.is_internal(h, landing_host.as_deref()));
        let ref_sym = referrer.as_deref().map_or(0, |h| self.strings.intern(h));
        if source.is_none() && medium.is_none() {
            if let Some(h) = &referrer {
                let (s, m, c) = match self.referrer_cache.get(h) {
                    Some(x) => *x,
                    None => {
                        let (s, m) = self.classifier.referrer_source(h);
                        let x =
                            (self.strings.intern(&s), self.strings.intern(m), campaign.as_deref().map_or(0, |c| self.strings.intern(c)));
                        self.referrer_cache.insert(h.clone(), (x.0, x.1, 0));
                        x
                    }
                };
                let c = if c == 0 { campaign.as_deref().map_or(0, |c| self.strings.intern(c)) } else { c };
                return (s, m, c, ref_sym);
            }
            let s = self.strings.intern(channels::SOURCE_DIRECT);
            let m = self.strings.intern(channels::MEDIUM_NONE);
            let c = campaign.as_deref().map_or(0, |c| self.strings.intern(c));
            return (s, m, c, 0);
        }
        let s = source.as_deref().map_or(0, |v| self.strings.intern(v));
        let m = medium.as_deref().map_or(0, |v| self.strings.intern(v));
        let c = campaign.as_deref().map_or(0, |v| self.strings.intern(v));
        (s, m, c, ref_sym)
    }

    fn visit(&mut self, f: &Fields, row: usize, clock: &mut TimeParser, file: u16) -> Outcome {
        let ts = match self.time(f, f.idx("started_at"), row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        let client = f.idx("client_id");
        let Some(cid) = f.get(client, row) else {
            return rejected(client, "missing client id", "");
        };
        let cid = cid.to_string();
        self.nodes.clear();
        self.nodes.push(self.graph.node(IdKind::ClientId, &cid));
        self.push_ids(f, row, &[("user_id", IdKind::UserId), ("phone", IdKind::Phone), ("email", IdKind::Email)], file);
        let record = self.record();
        let (source, medium, campaign, referrer) = self.visit_tags(f, row);
        let channel = self.classifier.classify(&mut self.strings, source, medium, campaign, referrer);
        self.touches.push(Touch { ts, record, kind: TouchKind::Visit, channel, source, medium, campaign, file });
        Outcome::Used
    }

    fn call(&mut self, f: &Fields, row: usize, clock: &mut TimeParser, file: u16) -> Outcome {
        let ts = match self.time(f, f.idx("called_at"), row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        if f.get(f.idx("is_target"), row).and_then(value::flag) == Some(false) {
            return Outcome::Filtered("not a target call (is_target)".into());
        }
        self.nodes.clear();
        let phone_f = f.idx("caller_phone");
        let raw_phone = f.get(phone_f, row).map(str::to_string);
        self.push_ids(f, row, &[("caller_phone", IdKind::Phone), ("client_id", IdKind::ClientId)], file);
        if self.nodes.is_empty() {
            let v = raw_phone.unwrap_or_default();
            let reason = if v.is_empty() {
                "no caller phone and no client id".to_string()
            } else {
                format!("`{v}` is not a phone number and there is no client id")
            };
            return rejected(phone_f, reason, &v);
        }
        let record = self.record();
        let explicit = f.get(f.idx("channel"), row).map(str::to_string);
        let s = f.get(f.idx("utm_source"), row).map(str::to_string);
        let m = f.get(f.idx("utm_medium"), row).map(str::to_string);
        let c = f.get(f.idx("utm_campaign"), row).map(str::to_string);
        let source = s.as_deref().map_or(0, |v| self.strings.intern(v));
        let medium = m.as_deref().map_or(0, |v| self.strings.intern(v));
        let campaign = c.as_deref().map_or(0, |v| self.strings.intern(v));
        let channel = match explicit {
            Some(ch) => self.strings.intern(&ch),
            None if s.is_some() || m.is_some() => self.classifier.classify(&mut self.strings, source, medium, campaign, 0),
            None => self.strings.intern(channels::CALL_UNTRACKED),
        };
        self.touches.push(Touch { ts, record, kind: TouchKind::Call, channel, source, medium, campaign, file });
        Outcome::Used
    }

    fn order(&mut self, f: &Fields, row: usize, clock: &mut TimeParser, file: u16, line: u64) -> Outcome {
        let idf = f.idx("order_id");
        let Some(id) = f.get(idf, row).map(str::to_string) else {
            return rejected(idf, "missing order id", "");
        };
        let ts = match self.time(f, f.idx("created_at"), row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        let revenue = match self.money(f, f.idx("revenue"), row) {
            Ok(v) => v,
            Err(o) => return o,
        };
        self.nodes.clear();
        self.nodes.push(self.graph.node(IdKind::OrderId, &id));
        self.push_ids(
            f,
            row,
            &[
                ("client_id", IdKind::ClientId),
                ("user_id", IdKind::UserId),
                ("phone", IdKind::Phone),
                ("email", IdKind::Email),
                ("crm_customer_id", IdKind::CrmId),
            ],
            file,
        );
        let record = self.record();
        let id_sym = self.strings.intern(&id);
        if let Some(status) = f.get(f.idx("status"), row) {
            let folded = value::fold(status);
            if self.excluded.iter().any(|e| folded == *e || folded.starts_with(e.as_str())) {
                self.excluded_orders.push(id_sym);
                return Outcome::Filtered(format!("status `{status}` is excluded from conversions (identifiers still link)"));
            }
        }
        self.conversions.push(Conversion { id: id_sym, ts, revenue, offline: false, record, fulfils: 0, file, line });
        Outcome::Used
    }

    fn receipt(&mut self, f: &Fields, row: usize, clock: &mut TimeParser, file: u16, line: u64) -> Outcome {
        let idf = f.idx("receipt_id");
        let Some(id) = f.get(idf, row).map(str::to_string) else {
            return rejected(idf, "missing receipt id", "");
        };
        let ts = match self.time(f, f.idx("purchased_at"), row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        let amount = match self.money(f, f.idx("amount"), row) {
            Ok(v) => v,
            Err(o) => return o,
        };
        self.nodes.clear();
        self.nodes.push(self.graph.node(IdKind::ReceiptId, &id));
        self.push_ids(
            f,
            row,
            &[
                ("loyalty_card", IdKind::LoyaltyCard),
                ("phone", IdKind::Phone),
                ("email", IdKind::Email),
                ("crm_customer_id", IdKind::CrmId),
                ("order_id", IdKind::OrderId),
            ],
            file,
        );
        let record = self.record();
        let fulfils = f.get(f.idx("order_id"), row).map_or(0, |o| self.strings.intern(o));
        let id_sym = self.strings.intern(&id);
        self.conversions.push(Conversion { id: id_sym, ts, revenue: amount, offline: true, record, fulfils, file, line });
        Outcome::Used
    }

    fn link(&mut self, f: &Fields, row: usize) -> Outcome {
        self.nodes.clear();
        for (idf, kindf) in [("id_a", "kind_a"), ("id_b", "kind_b")] {
            let (fi, fk) = (f.idx(idf), f.idx(kindf));
            let Some(kind_raw) = f.get(fk, row) else {
                return rejected(fk, "missing identifier kind", "");
            };
            let Some(kind) = IdKind::parse(kind_raw) else {
                return rejected(fk, format!("`{kind_raw}` is not an identifier kind (client_id, user_id, phone, email, loyalty_card, crm_customer_id, order_id)"), kind_raw);
            };
            let Some(raw) = f.get(fi, row) else {
                return rejected(fi, "missing identifier", "");
            };
            let v = match kind {
                IdKind::Phone => value::phone(raw, &self.cfg.default_country),
                IdKind::Email => value::email(raw),
                _ => Some(raw.to_string()),
            };
            let Some(v) = v else {
                return rejected(fi, format!("`{raw}` is not a valid {}", kind.name()), raw);
            };
            self.nodes.push(self.graph.node(kind, &v));
        }
        self.record();
        Outcome::Used
    }

    fn message(&mut self, f: &Fields, row: usize, clock: &mut TimeParser, file: u16) -> Outcome {
        let ts = match self.time(f, f.idx("occurred_at"), row, clock) {
            Ok(t) => t,
            Err(o) => return o,
        };
        self.nodes.clear();
        self.push_ids(
            f,
            row,
            &[
                ("client_id", IdKind::ClientId),
                ("user_id", IdKind::UserId),
                ("phone", IdKind::Phone),
                ("email", IdKind::Email),
                ("loyalty_card", IdKind::LoyaltyCard),
                ("crm_customer_id", IdKind::CrmId),
            ],
            file,
        );
        if self.nodes.is_empty() {
            return rejected(
                f.idx("client_id"),
                "no usable identifier (client_id, user_id, phone, email, loyalty_card or crm_customer_id)",
                "",
            );
        }
        let explicit = f.get(f.idx("channel"), row).map(str::to_string);
        let s = f.get(f.idx("utm_source"), row).map(str::to_string);
        let m = f.get(f.idx("utm_medium"), row).map(str::to_string);
        let c = f.get(f.idx("utm_campaign"), row).map(str::to_string);
        let kind_hint = f.get(f.idx("touch_type"), row).map(str::to_string);
        if explicit.is_none() && s.is_none() && m.is_none() && kind_hint.is_none() {
            self.nodes.clear();
            return rejected(f.idx("channel"), "no channel, touch_type or utm tags", "");
        }
        let record = self.record();
        let source = s.as_deref().map_or(0, |v| self.strings.intern(v));
        let medium = m.as_deref().or(kind_hint.as_deref()).map_or(0, |v| self.strings.intern(v));
        let campaign = c.as_deref().map_or(0, |v| self.strings.intern(v));
        let channel = match explicit {
            Some(ch) => self.strings.intern(&ch),
            None => self.classifier.classify(&mut self.strings, source, medium, campaign, 0),
        };
        self.touches.push(Touch { ts, record, kind: TouchKind::Message, channel, source, medium, campaign, file });
        Outcome::Used
    }
}
