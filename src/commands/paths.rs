//! `touchpath paths`: the conversion path table (also the path-table input format of other
//! tools: `path,conversions,conversion_value,nulls`), path lengths and time lags.

use std::path::Path;

use anyhow::Result;

use super::{emit, format, input, Verbosity};
use crate::cli::PathsArgs;
use crate::output::{Cell, Column, Style, Table};
use crate::reports::journeys::{journey_stats, Bucket};

pub fn run(cfg_path: Option<&Path>, mut a: PathsArgs, v: Verbosity) -> Result<()> {
    let fmt = format(&a.out)?;
    let super::Input { cfg, set, sel, locks: _locks, .. } = input(cfg_path, &mut a.data, None, &mut a.out, &mut [], v)?;
    let stats = journey_stats(&set, &sel);
    let machine = fmt.is_machine();
    let mut t = Table::new(
        &format!(
            "Top conversion paths ({} conversions, {} non-converting paths; lookback {})",
            stats.conversions, stats.non_converting, cfg.lookback
        ),
        vec![
            Column::new("path", Style::Text),
            Column::new("conversions", Style::Count),
            Column::new("conversion_value", Style::Money),
            Column::new("nulls", Style::Count),
        ],
    );
    let shown = if machine { stats.paths.len() } else { a.top.min(stats.paths.len()) };
    for p in &stats.paths[..shown] {
        t.rows.push(vec![Cell::Text(p.path.clone()), Cell::Int(p.conversions), Cell::Num(p.conversion_value), Cell::Int(p.nulls)]);
    }
    if !machine && stats.paths.len() > shown {
        t.title.push_str(&format!(", {} of {} distinct paths shown", shown, stats.paths.len()));
    }
    let mut tables = vec![t];
    if !machine {
        tables.push(distribution("Path length (touches per conversion)", "touches", &stats.lengths, stats.conversions));
        tables.push(distribution("Time lag (first touch to conversion)", "lag", &stats.lags, stats.conversions));
    }
    emit(&tables, fmt, &a.out)
}

fn distribution(title: &str, label: &str, buckets: &[Bucket], total: u64) -> Table {
    let mut t = Table::new(
        title,
        vec![
            Column::new(label, Style::Text),
            Column::new("conversions", Style::Count),
            Column::new("share", Style::Percent),
            Column::new("revenue", Style::Money),
        ],
    );
    for b in buckets {
        let share = if total > 0 { Cell::Num(b.conversions as f64 / total as f64) } else { Cell::Missing };
        t.rows.push(vec![Cell::Text(b.label.clone()), Cell::Int(b.conversions), share, Cell::Num(b.revenue)]);
    }
    t
}
