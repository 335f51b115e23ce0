//! Baselines for regression checks: reading report files back (CSV, JSON, Parquet, snapshots),
//! the snapshot format with fingerprints of the config and inputs, and the comparison of two
//! reports under a tolerance.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Report;

/// Dimension columns a report file may have, as written by `--by`.
pub const DIMENSION_COLUMNS: &[&str] = &["channel", "source", "medium", "campaign", "source_medium"];

/// What a comparison looks at in each row.
pub const METRICS: &[&str] = &["conversions", "revenue"];

/// A report's numbers, keyed by (model, dimension value).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportData {
    /// `channel`, `source`, …
    pub dimension: String,
    pub rows: BTreeMap<(String, String), [f64; 2]>,
}

impl ReportData {
    pub fn from_report(r: &Report) -> ReportData {
        let rows = r.rows.iter().map(|row| ((row.model.clone(), row.value.clone()), [row.conversions, row.revenue])).collect();
        ReportData { dimension: r.dimension.column().to_string(), rows }
    }

    /// Models in the order they first appear.
    pub fn models(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (m, _) in self.rows.keys() {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        out
    }
}

/// A snapshot: the report and where it came from, so a check can tell whether the data or the
/// model changed. No timestamps: identical runs give identical snapshots.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    /// Format version of this file.
    pub touchpath_snapshot: u32,
    /// touchpath version that wrote it.
    pub version: String,
    pub run: RunInfo,
    /// Model → parameter → value.
    pub parameters: BTreeMap<String, BTreeMap<String, String>>,
    pub config: Fingerprint,
    pub inputs: Vec<Fingerprint>,
    pub report: Vec<SnapshotRow>,
}

/// The run's settings that decide which numbers come out, with dates resolved.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    pub models: Vec<String>,
    pub by: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub conversions: String,
    pub lookback: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fingerprint {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

impl Fingerprint {
    pub fn of(name: &str, bytes: &[u8]) -> Fingerprint {
        let digest = Sha256::digest(bytes);
        Fingerprint { name: name.to_string(), sha256: digest.iter().map(|b| format!("{b:02x}")).collect(), bytes: bytes.len() as u64 }
    }
}

/// A report row in a snapshot, keyed as a report file's JSON row is.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct SnapshotRow {
    pub model: String,
    /// Written under the dimension's name (`channel`, `source`, …), as in a report file;
    /// snapshots of earlier versions call it `value`.
    #[serde(alias = "channel", alias = "source", alias = "medium", alias = "campaign", alias = "source_medium")]
    pub value: String,
    pub conversions: f64,
    pub revenue: f64,
    pub share: f64,
    /// The dimension's column name (the run's `by`): the key `value` is written under.
    #[serde(skip)]
    pub dimension: String,
}

impl Serialize for SnapshotRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("model", &self.model)?;
        m.serialize_entry(if self.dimension.is_empty() { "value" } else { self.dimension.as_str() }, &self.value)?;
        m.serialize_entry("conversions", &self.conversions)?;
        m.serialize_entry("revenue", &self.revenue)?;
        m.serialize_entry("share", &self.share)?;
        m.end()
    }
}

pub const SNAPSHOT_VERSION: u32 = 1;

/// A report file read back.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub data: ReportData,
    pub snapshot: Option<Snapshot>,
}

/// Reads a report file (CSV, JSON array, Parquet) or a snapshot.
pub fn read(name: &str, bytes: &[u8]) -> Result<Baseline> {
    let parsed = if bytes.starts_with(b"PAR1") {
        let t = crate::io::parquet::load(name, crate::config::SourceKind::Visits, bytes)?;
        let mut rows = Vec::with_capacity(t.height());
        for b in &t.batches {
            for r in 0..b.height() {
                rows.push((0..t.headers.len()).map(|c| b.get(r, c).to_string()).collect());
            }
        }
        table(&t.headers, rows, |i| format!("row {}", i + 1))
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| anyhow!("not UTF-8 text, JSON or Parquet"))?;
        let text = text.trim_start_matches('\u{feff}');
        match text.trim_start().chars().next() {
            Some('{') => {
                let mut s: Snapshot = serde_json::from_str(text).map_err(|e| anyhow!("not a touchpath snapshot: {e}"))?;
                let dimension = s.run.by.replace('-', "_");
                for r in &mut s.report {
                    r.dimension.clone_from(&dimension);
                }
                if s.touchpath_snapshot > SNAPSHOT_VERSION {
                    bail!("snapshot format {} is newer than this touchpath understands ({SNAPSHOT_VERSION})", s.touchpath_snapshot);
                }
                let mut data = ReportData { dimension: s.run.by.replace('-', "_"), rows: BTreeMap::new() };
                for r in &s.report {
                    if data.rows.insert((r.model.clone(), r.value.clone()), [r.conversions, r.revenue]).is_some() {
                        bail!("model `{}`, {} `{}` appears twice", r.model, data.dimension, r.value);
                    }
                }
                return Ok(Baseline { data, snapshot: Some(s) });
            }
            Some('[') => json_rows(text),
            _ => csv_rows(text),
        }
    };
    Ok(Baseline { data: parsed.with_context(|| format!("reading report {name}"))?, snapshot: None })
}

fn csv_rows(text: &str) -> Result<ReportData> {
    let mut r = ::csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers()?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| anyhow!("{e}"))?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    table(&headers, rows, |i| format!("line {}", i + 2))
}

fn json_rows(text: &str) -> Result<ReportData> {
    let items: Vec<serde_json::Map<String, serde_json::Value>> =
        serde_json::from_str(text).map_err(|e| anyhow!("not a JSON array of report rows: {e}"))?;
    let mut headers: Vec<String> = Vec::new();
    for item in &items {
        for k in item.keys() {
            if !headers.contains(k) {
                headers.push(k.clone());
            }
        }
    }
    let rows = items
        .iter()
        .map(|item| {
            headers
                .iter()
                .map(|h| match item.get(h) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Null) | None => String::new(),
                    Some(v) => v.to_string(),
                })
                .collect()
        })
        .collect();
    if items.is_empty() {
        // An empty report: nothing says which dimension it had; any matches.
        return Ok(ReportData::default());
    }
    table(&headers, rows, |i| format!("row {}", i + 1))
}

fn table(headers: &[String], rows: Vec<Vec<String>>, at: impl Fn(usize) -> String) -> Result<ReportData> {
    let col = |name: &str| headers.iter().position(|h| h == name);
    let need = |name: &str| col(name).ok_or_else(|| anyhow!("no `{name}` column (columns: {})", headers.join(", ")));
    let model = need("model")?;
    let (dimension, dim) = DIMENSION_COLUMNS
        .iter()
        .find_map(|d| col(d).map(|i| (d.to_string(), i)))
        .ok_or_else(|| anyhow!("no dimension column ({}) among: {}", DIMENSION_COLUMNS.join(", "), headers.join(", ")))?;
    let metrics = [need("conversions")?, need("revenue")?];
    let mut data = ReportData { dimension, rows: BTreeMap::new() };
    for (i, row) in rows.into_iter().enumerate() {
        let get = |c: usize| row.get(c).map(String::as_str).unwrap_or("");
        let mut values = [0.0; 2];
        for (k, &c) in metrics.iter().enumerate() {
            let v = get(c);
            values[k] = v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| anyhow!("{}, column `{}`: `{v}` is not a number", at(i), METRICS[k]))?;
        }
        // A value written as text by a spreadsheet-safe CSV ('=…) is read back as the original.
        let value = get(dim);
        let value = value.strip_prefix('\'').filter(|v| v.starts_with(['=', '+', '-', '@', '\t', '\r'])).unwrap_or(value);
        let key = (get(model).to_string(), value.to_string());
        if data.rows.insert(key.clone(), values).is_some() {
            bail!("{}: model `{}`, {} `{}` appears twice", at(i), key.0, data.dimension, key.1);
        }
    }
    Ok(data)
}

/// How far a value may move: within when |current − baseline| ≤ max(abs, rel × |baseline|).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub rel: f64,
    pub abs: f64,
}

impl Tolerance {
    /// `0.5%` or `0.005` for the relative part; a plain number for the absolute part.
    pub fn parse(rel: &str, abs: &str) -> Result<Tolerance, String> {
        let r = rel.trim();
        let rel_v = match r.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().map(|x| x / 100.0),
            None => r.parse::<f64>(),
        }
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("--tolerance `{rel}`: give a share such as 0.5% or 0.005"))?;
        let abs_v = abs
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| format!("--abs-tolerance `{abs}`: give a non-negative number such as 0.01"))?;
        Ok(Tolerance { rel: rel_v, abs: abs_v })
    }

    pub fn within(&self, baseline: f64, current: f64) -> bool {
        (current - baseline).abs() <= self.abs.max(self.rel * baseline.abs())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Changed,
    New,
    Vanished,
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Changed => "changed",
            Change::New => "new",
            Change::Vanished => "vanished",
        }
    }
}

/// One value beyond tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    pub model: String,
    pub value: String,
    pub metric: &'static str,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    pub change: Change,
}

pub struct Comparison {
    pub dimension: String,
    /// Rows (model × value) present in either report.
    pub compared: usize,
    pub differences: Vec<Difference>,
}

/// Compares two reports row by row; new and vanished rows are differences, whatever their values.
pub fn compare(base: &ReportData, cur: &ReportData, tol: Tolerance) -> Result<Comparison> {
    if !base.dimension.is_empty() && !cur.dimension.is_empty() && base.dimension != cur.dimension {
        bail!("the reports have different rows: `{}` and `{}`", base.dimension, cur.dimension);
    }
    let dimension = if base.dimension.is_empty() { cur.dimension.clone() } else { base.dimension.clone() };
    let mut keys: Vec<&(String, String)> = base.rows.keys().chain(cur.rows.keys()).collect();
    // Models in registry order, as report files list them (a name no model has goes last).
    let names: Vec<&str> = crate::models::registry(&crate::config::ModelParams::default()).iter().map(|m| m.name()).collect();
    let rank = |m: &str| names.iter().position(|n| *n == m).unwrap_or(usize::MAX);
    keys.sort_by(|a, b| (rank(&a.0), &a.0, &a.1).cmp(&(rank(&b.0), &b.0, &b.1)));
    keys.dedup();
    let mut differences = Vec::new();
    for key in &keys {
        let (b, c) = (base.rows.get(*key), cur.rows.get(*key));
        for (k, metric) in METRICS.iter().enumerate() {
            // A row of zeros and no row say the same (a baseline written before zero rows were
            // listed, or a value a model stopped crediting): only numbers that moved count.
            let change = match (b, c) {
                (Some(b), Some(c)) if tol.within(b[k], c[k]) => continue,
                (Some(_), Some(_)) => Change::Changed,
                (None, Some(c)) if tol.within(0.0, c[k]) => continue,
                (Some(b), None) if tol.within(b[k], 0.0) => continue,
                (None, _) => Change::New,
                (_, None) => Change::Vanished,
            };
            differences.push(Difference {
                model: key.0.clone(),
                value: key.1.clone(),
                metric,
                baseline: b.map(|v| v[k]),
                current: c.map(|v| v[k]),
                change,
            });
        }
    }
    Ok(Comparison { dimension, compared: keys.len(), differences })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rows: &[(&str, &str, f64, f64)]) -> ReportData {
        ReportData {
            dimension: "channel".into(),
            rows: rows.iter().map(|&(m, v, c, r)| ((m.to_string(), v.to_string()), [c, r])).collect(),
        }
    }

    #[test]
    fn tolerance_is_the_larger_of_abs_and_rel() {
        let t = Tolerance::parse("0.5%", "0.01").unwrap();
        assert_eq!(t, Tolerance { rel: 0.005, abs: 0.01 });
        assert!(t.within(100.0, 100.5));
        assert!(!t.within(100.0, 100.51));
        assert!(t.within(0.0, 0.01));
        assert!(!t.within(0.0, 0.011));
        assert_eq!(Tolerance::parse("0.005", "0").unwrap().rel, 0.005);
        assert!(Tolerance::parse("-1%", "0").is_err());
        assert!(Tolerance::parse("1%", "x").is_err());
    }

    #[test]
    fn changed_new_and_vanished_rows() {
        let a = data(&[("linear", "Direct", 2.0, 100.0), ("linear", "Email", 1.0, 50.0), ("linear", "SEO", 1.0, 10.0)]);
        let b = data(&[("linear", "Direct", 2.0, 100.0), ("linear", "Email", 1.5, 50.0), ("linear", "Paid", 1.0, 10.0)]);
        let c = compare(&a, &b, Tolerance { rel: 0.0, abs: 1e-9 }).unwrap();
        assert_eq!(c.compared, 4);
        let got: Vec<(&str, &str, &str)> = c.differences.iter().map(|d| (d.value.as_str(), d.metric, d.change.name())).collect();
        assert_eq!(
            got,
            vec![
                ("Email", "conversions", "changed"),
                ("Paid", "conversions", "new"),
                ("Paid", "revenue", "new"),
                ("SEO", "conversions", "vanished"),
                ("SEO", "revenue", "vanished"),
            ]
        );
        assert!(compare(&a, &a, Tolerance { rel: 0.0, abs: 0.0 }).unwrap().differences.is_empty());
        // Differences come in registry order of models, as report rows do.
        let x = data(&[("linear", "Email", 1.0, 1.0), ("last-click", "Email", 1.0, 1.0), ("zeta", "Email", 1.0, 1.0)]);
        let models: Vec<String> =
            compare(&x, &data(&[]), Tolerance { rel: 0.0, abs: 0.0 }).unwrap().differences.iter().map(|d| d.model.clone()).collect();
        assert_eq!(models, ["last-click", "last-click", "linear", "linear", "zeta", "zeta"]);
        // A row of zeros on one side and none on the other is no difference; a number is.
        let zero = data(&[("linear", "Direct", 2.0, 100.0), ("linear", "Email", 0.0, 0.0)]);
        let none = data(&[("linear", "Direct", 2.0, 100.0)]);
        assert!(compare(&zero, &none, Tolerance { rel: 0.0, abs: 0.0 }).unwrap().differences.is_empty());
        assert!(compare(&none, &zero, Tolerance { rel: 0.0, abs: 0.0 }).unwrap().differences.is_empty());
        let some = data(&[("linear", "Direct", 2.0, 100.0), ("linear", "Email", 0.0, 5.0)]);
        let got: Vec<(&str, &str)> = compare(&none, &some, Tolerance { rel: 0.0, abs: 0.0 })
            .unwrap()
            .differences
            .iter()
            .map(|d| (d.metric, d.change.name()))
            .collect();
        assert_eq!(got, vec![("revenue", "new")]);
    }

    #[test]
    fn reads_csv_json_and_neutralized_cells() {
        let csv = "model,campaign,conversions,revenue,share\nlinear,'=HYPERLINK(1),1.5,10,1\n";
        let b = read("r.csv", csv.as_bytes()).unwrap();
        assert_eq!(b.data.dimension, "campaign");
        assert_eq!(b.data.rows[&("linear".to_string(), "=HYPERLINK(1)".to_string())], [1.5, 10.0]);
        let json = r#"[{"model":"linear","campaign":"=HYPERLINK(1)","conversions":1.5,"revenue":10,"share":1}]"#;
        assert_eq!(read("r.json", json.as_bytes()).unwrap().data, b.data);
        let err = read("r.csv", b"model,channel,conversions\n".as_slice()).unwrap_err();
        assert!(format!("{err:#}").contains("no `revenue` column"), "{err:#}");
        let err = read("r.csv", b"model,channel,conversions,revenue\nx,y,1,\"12,5o\"\n".as_slice()).unwrap_err();
        assert!(format!("{err:#}").contains("line 2, column `revenue`: `12,5o` is not a number"), "{err:#}");
    }
}
