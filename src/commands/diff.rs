//! `touchpath diff A B`: compares two report files without recomputing; exit 3 when they differ
//! beyond tolerance. Also the rendering of a comparison, which `check` shares.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;

use super::{emit, format, usage};
use crate::cli::{DiffArgs, OutputArgs, ToleranceArgs};
use crate::output::{Cell, Column, Format, Style, Table};
use crate::reports::baseline::{self, Baseline, Comparison, Snapshot, Tolerance};

pub fn run(mut a: DiffArgs) -> Result<ExitCode> {
    let tol = tolerance(&a.tol)?;
    let fmt = format(&a.out)?;
    let base = read(&a.a)?;
    let cur = read(&a.b)?;
    let cmp = baseline::compare(&base.data, &cur.data, tol)?;
    let prov = match (&base.snapshot, &cur.snapshot) {
        (Some(b), Some(c)) => Some(provenance(b, c)),
        _ => None,
    };
    if let Some(p) = a.out.output.as_mut() {
        *p = super::dates::expand_name(p, super::dates::today(chrono_tz::UTC).map_err(usage)?, None, None).map_err(usage)?;
    }
    finish(&cmp, tol, prov.as_ref(), fmt, &a.out, "diff")
}

pub(super) fn tolerance(t: &ToleranceArgs) -> Result<Tolerance> {
    Tolerance::parse(&t.tolerance, &t.abs_tolerance).map_err(usage)
}

pub(super) fn read(path: &Path) -> Result<Baseline> {
    let bytes = crate::io::read_bytes(&crate::config::Location::File(path.to_path_buf()))?;
    baseline::read(&path.display().to_string(), &bytes).with_context(|| format!("reading {}", path.display()))
}

/// What changed between the runs behind two snapshots, and what that says about the numbers.
pub(super) struct Provenance {
    pub rows: Vec<(String, String, String, &'static str)>,
    pub data_changed: bool,
    pub setup_changed: bool,
}

pub(super) fn provenance(base: &Snapshot, cur: &Snapshot) -> Provenance {
    let short = |s: &str| s.chars().take(12).collect::<String>();
    let mut rows = Vec::new();
    let mut data_changed = false;
    let mut setup_changed = false;
    let mut row = |what: String, b: Option<String>, c: Option<String>, data: bool, rows: &mut Vec<_>| {
        let status = match (&b, &c) {
            (Some(x), Some(y)) if x == y => "same",
            (Some(_), Some(_)) => "changed",
            (None, _) => "new",
            (_, None) => "gone",
        };
        if status != "same" {
            if data {
                data_changed = true;
            } else {
                setup_changed = true;
            }
        }
        rows.push((what, b.unwrap_or_else(|| "—".into()), c.unwrap_or_else(|| "—".into()), status));
    };
    row("config".into(), Some(short(&base.config.sha256)), Some(short(&cur.config.sha256)), false, &mut rows);
    let mut names: Vec<&String> = base.inputs.iter().chain(&cur.inputs).map(|f| &f.name).collect();
    names.sort();
    names.dedup();
    for n in names {
        let find = |s: &Snapshot| s.inputs.iter().find(|f| &f.name == n).map(|f| short(&f.sha256));
        row(format!("input {n}"), find(base), find(cur), true, &mut rows);
    }
    let run = |s: &Snapshot| {
        format!(
            "by {}, {}..{}, {} conversions, lookback {}",
            s.run.by,
            s.run.from.as_deref().unwrap_or("start"),
            s.run.to.as_deref().unwrap_or("end"),
            s.run.conversions,
            s.run.lookback
        )
    };
    row("run".into(), Some(run(base)), Some(run(cur)), false, &mut rows);
    let mut models: Vec<&String> = base.parameters.keys().chain(cur.parameters.keys()).collect();
    models.sort();
    models.dedup();
    for m in models {
        let params = |s: &Snapshot| s.parameters.get(m).map(|p| p.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
        row(format!("parameters {m}"), params(base), params(cur), false, &mut rows);
    }
    row("touchpath version".into(), Some(base.version.clone()), Some(cur.version.clone()), false, &mut rows);
    Provenance { rows, data_changed, setup_changed }
}

fn conclusion(cmp: &Comparison, p: &Provenance) -> &'static str {
    match (cmp.differences.is_empty(), p.data_changed, p.setup_changed) {
        (true, _, _) => "numbers within tolerance",
        (false, true, false) => "the inputs changed since the baseline: the numbers moved with the data",
        (false, false, true) => "the inputs are identical: the numbers moved because the config, parameters or version changed",
        (false, true, true) => "both the inputs and the setup changed since the baseline",
        (false, false, false) => "inputs, config, parameters and version are identical: the numbers moved because the code changed",
    }
}

/// Writes the comparison and returns 0, or 3 when there are differences.
pub(super) fn finish(
    cmp: &Comparison,
    tol: Tolerance,
    prov: Option<&Provenance>,
    fmt: Format,
    out: &OutputArgs,
    what: &str,
) -> Result<ExitCode> {
    let passed = cmp.differences.is_empty();
    let tol_text = format!("relative {}%, absolute {}", crate::output::number(tol.rel * 100.0), crate::output::number(tol.abs));
    let title = if passed {
        format!("No differences beyond tolerance ({tol_text}): {} rows compared", cmp.compared)
    } else {
        format!("{} difference(s) beyond tolerance ({tol_text}) among {} rows compared", cmp.differences.len(), cmp.compared)
    };
    let dim = if cmp.dimension.is_empty() { "channel" } else { cmp.dimension.as_str() };
    let num = |x: Option<f64>| x.map_or(Cell::Missing, Cell::Num);
    let mut t = Table::new(
        &title,
        vec![
            Column::new("model", Style::Text),
            Column::new(dim, Style::Text),
            Column::new("metric", Style::Text),
            Column::new("baseline", Style::Decimal),
            Column::new("current", Style::Decimal),
            Column::new("difference", Style::Decimal),
            Column::new("relative", Style::Percent),
            Column::new("change", Style::Text),
        ],
    );
    let mut json_rows = Vec::new();
    for d in &cmp.differences {
        let delta = match (d.baseline, d.current) {
            (Some(b), Some(c)) => Some(c - b),
            _ => None,
        };
        let rel = match (delta, d.baseline) {
            (Some(x), Some(b)) if b != 0.0 => Some(x / b.abs()),
            _ => None,
        };
        t.rows.push(vec![
            Cell::Text(d.model.clone()),
            Cell::Text(d.value.clone()),
            Cell::Text(d.metric.to_string()),
            num(d.baseline),
            num(d.current),
            num(delta),
            num(rel),
            Cell::Text(d.change.name().to_string()),
        ]);
        json_rows.push(json!({
            "model": d.model, dim: d.value, "metric": d.metric, "baseline": d.baseline, "current": d.current,
            "difference": delta, "relative": rel, "change": d.change.name(),
        }));
    }
    if passed && !fmt.is_machine() {
        t.columns.clear();
    }
    let mut tables = vec![t];
    let mut json_prov = serde_json::Value::Null;
    let mut verdict = None;
    if let Some(p) = prov {
        let c = conclusion(cmp, p);
        verdict = Some(c);
        let mut pt = Table::new(
            &format!("Baseline provenance: {c}"),
            vec![
                Column::new("item", Style::Text),
                Column::new("baseline", Style::Text),
                Column::new("current", Style::Text),
                Column::new("status", Style::Text),
            ],
        );
        for (what, b, c, s) in p.rows.iter().filter(|r| r.3 != "same") {
            pt.rows.push(vec![Cell::Text(what.clone()), Cell::Text(b.clone()), Cell::Text(c.clone()), Cell::Text(s.to_string())]);
        }
        if pt.rows.is_empty() {
            pt.title = "Baseline provenance: inputs, config, parameters and version are identical".into();
            pt.columns.clear();
        }
        json_prov =
            json!(p.rows.iter().map(|(w, b, c, s)| json!({"item": w, "baseline": b, "current": c, "status": s})).collect::<Vec<_>>());
        tables.push(pt);
    }
    if fmt == Format::Json {
        let doc = json!({
            "passed": passed, "dimension": dim, "compared": cmp.compared,
            "tolerance": {"relative": tol.rel, "absolute": tol.abs},
            "differences": json_rows, "provenance": json_prov, "conclusion": verdict,
        });
        super::write_bytes(&crate::output::json::pretty(&doc)?, out)?;
    } else {
        emit(&tables, fmt, out)?;
    }
    if passed {
        Ok(ExitCode::SUCCESS)
    } else {
        crate::log::info(what, &format!("{what}: {title}"));
        Ok(ExitCode::from(crate::EXIT_REGRESSION))
    }
}
