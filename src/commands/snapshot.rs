//! `touchpath snapshot`: writes the baseline a CI job checks against — the report together with
//! fingerprints of the config, the inputs and the model parameters it came from, so a failed
//! `check` can say whether the data or the model moved the numbers.

use std::path::Path;

use anyhow::Result;

use super::report::{compute, parse_dimension};
use super::{input, model_params, Input, Verbosity};
use crate::cli::{DataArgs, ModelArgs, SnapshotArgs};
use crate::reports::baseline::{Fingerprint, RunInfo, Snapshot, SnapshotRow, SNAPSHOT_VERSION};
use crate::reports::Report;

pub fn run(cfg_path: Option<&Path>, mut a: SnapshotArgs, v: Verbosity) -> Result<()> {
    let dim = parse_dimension(&a.spec.by, a.spec.table.paths.is_some())?;
    let journeys = crate::models::journeys(&a.spec.model)?;
    let input = input(cfg_path, &mut a.data, a.spec.table.source(), &mut a.out, &mut [], journeys, v)?;
    let report = compute(&input, &a.params, &a.spec.model, dim, None)?;
    let snap = snapshot(&input, &a.data, &a.params, &report, a.spec.table.paths.as_deref())?;
    super::write_bytes(&crate::output::json::pretty(&snap)?, &a.out)
}

/// The snapshot of a computed report: what `snapshot` writes and what `check` compares with.
pub(super) fn snapshot(input: &Input, data: &DataArgs, params: &ModelArgs, report: &Report, table: Option<&Path>) -> Result<Snapshot> {
    let p = model_params(&input.cfg.models, params)?;
    let parameters = crate::models::registry(&p)
        .iter()
        .filter(|m| report.models.iter().any(|n| n == m.name()))
        .map(|m| (m.name().to_string(), m.parameters().into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
        .collect();
    let mut inputs = Vec::new();
    match table {
        Some(file) => {
            let bytes = crate::io::read_bytes(&crate::config::Location::File(file.to_path_buf()))?;
            inputs.push(Fingerprint::of(&file.display().to_string(), &bytes));
        }
        None => {
            for s in &input.cfg.sources {
                let bytes = crate::io::read_bytes(&s.location)?;
                inputs.push(Fingerprint::of(&s.path, &bytes));
            }
        }
    }
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    Ok(Snapshot {
        touchpath_snapshot: SNAPSHOT_VERSION,
        version: env!("CARGO_PKG_VERSION").to_string(),
        run: RunInfo {
            models: report.models.clone(),
            by: report.dimension.column().to_string(),
            from: day(input.when.from),
            to: day(input.when.to),
            conversions: data.conversions.clone(),
            lookback: input.cfg.lookback.to_string(),
        },
        parameters,
        config: Fingerprint::of(&input.cfg.origin, input.cfg.text.as_bytes()),
        inputs,
        report: report
            .rows
            .iter()
            .map(|r| SnapshotRow {
                model: r.model.clone(),
                value: r.value.clone(),
                conversions: r.conversions,
                revenue: r.revenue,
                share: r.share,
                dimension: report.dimension.column().to_string(),
            })
            .collect(),
    })
}
