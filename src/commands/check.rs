//! `touchpath check --baseline FILE`: recomputes the report the baseline holds (same models, same
//! rows, and with a snapshot the same dates and settings) and compares; exit 3 when numbers moved
//! beyond tolerance. The gate a CI pipeline puts in front of a model change.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::diff::{finish, provenance, read, tolerance};
use super::report::{compute, parse_dimension};
use super::snapshot::snapshot;
use super::{format, input, Verbosity};
use crate::cli::CheckArgs;
use crate::reports::baseline::{compare, ReportData};

pub fn run(cfg_path: Option<&Path>, mut a: CheckArgs, v: Verbosity) -> Result<ExitCode> {
    let tol = tolerance(&a.tol)?;
    let fmt = format(&a.out)?;
    let base = read(&a.baseline)?;
    // A snapshot knows how it was made: rerun with its dates and settings unless told otherwise.
    if let Some(s) = &base.snapshot {
        if a.data.from.is_none() && a.data.to.is_none() && a.data.period.is_none() {
            a.data.from = s.run.from.clone();
            a.data.to = s.run.to.clone();
        }
        if a.data.lookback.is_none() {
            a.data.lookback = Some(s.run.lookback.clone());
        }
        if a.data.conversions == "all" {
            a.data.conversions = s.run.conversions.clone();
        }
    }
    let mut models = base.data.models();
    if models.is_empty() {
        models = base.snapshot.as_ref().map(|s| s.run.models.clone()).unwrap_or_default();
    }
    let models = if models.is_empty() { "all".to_string() } else { models.join(",") };
    let by = if base.data.dimension.is_empty() { "channel".to_string() } else { base.data.dimension.clone() };
    let dim = parse_dimension(&by, a.table.paths.is_some())?;
    let journeys = crate::models::journeys(&models)?;
    let input = input(cfg_path, &mut a.data, a.table.source(), &mut a.out, &mut [], journeys, v)?;
    let report = compute(&input, &a.params, &models, dim, None)?;
    let cmp = compare(&base.data, &ReportData::from_report(&report), tol)?;
    let prov = match &base.snapshot {
        Some(b) => Some(provenance(b, &snapshot(&input, &a.data, &a.params, &report, a.table.paths.as_deref())?)),
        None => None,
    };
    finish(&cmp, tol, prov.as_ref(), fmt, &a.out, "check")
}
