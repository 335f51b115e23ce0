//! `touchpath paths`: the conversion path table (also the path-table input format of other
//! tools: `path,conversions,conversion_value,nulls`), path lengths and time lags.

use std::path::Path;

use anyhow::Result;

use super::{emit, format, input, Verbosity};
use crate::cli::PathsArgs;
use crate::output::{Cell, ChartKind, Column, Style, Table};
use crate::reports::journeys::{cohorts, journey_stats, roles, Bucket, Cohort, JourneyStats, RoleRow};

pub fn run(cfg_path: Option<&Path>, mut a: PathsArgs, v: Verbosity) -> Result<()> {
    let fmt = format(&a.out)?;
    let machine = fmt.is_machine();
    let section = match a.section.as_deref() {
        None if machine => Some(Section::Paths),
        None | Some("all") => None,
        Some(s) => Some(Section::parse(s).ok_or_else(|| super::usage(format!("--section `{s}`: use {}", SECTIONS.join(", "))))?),
    };
    let super::Input { cfg, set, sel, locks: _locks, .. } =
        input(cfg_path, &mut a.data, None, &mut a.out, &mut [], crate::paths::Journeys::All, v)?;
    let want = |s: Section| section.is_none_or(|x| x == s);
    if want(Section::Cohorts) && !set.timed && section.is_some() {
        return Err(super::usage("--section cohorts: the input has no touch times".into()));
    }
    let tables = crate::log::stage("reports", || -> Result<Vec<Table>> {
        let mut tables = Vec::new();
        if want(Section::Paths) || want(Section::Lengths) || want(Section::Lags) {
            let stats = journey_stats(&set, &sel)?;
            crate::log::step("path statistics");
            if want(Section::Paths) {
                tables.push(path_table(&stats, &cfg, if machine { None } else { Some(a.top) }));
            }
            if want(Section::Lengths) {
                tables.push(distribution("Path length (touches per conversion)", "touches", &stats.lengths, stats.conversions));
            }
            if want(Section::Lags) {
                tables.push(distribution("Time lag (first touch to conversion)", "lag", &stats.lags, stats.conversions));
            }
        }
        if want(Section::Roles) {
            tables.push(roles_table(&roles(&set, &sel)));
            crate::log::step("channel roles");
        }
        if want(Section::Cohorts) && set.timed {
            tables.extend(cohort_tables(&cohorts(&set, &sel, cfg.timezone), machine));
            crate::log::step("cohorts");
        }
        Ok(tables)
    })?;
    emit(&tables, fmt, &a.out)
}

/// The path table: every distinct path, or the `top` ones.
pub(super) fn path_table(stats: &JourneyStats, cfg: &crate::config::Config, top: Option<usize>) -> Table {
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
    let shown = top.unwrap_or(usize::MAX).min(stats.paths.len());
    for p in &stats.paths[..shown] {
        t.rows.push(vec![Cell::Text(p.path.clone()), Cell::Int(p.conversions), Cell::Num(p.conversion_value), Cell::Int(p.nulls)]);
    }
    if stats.paths.len() > shown {
        t.title.push_str(&format!(", {} of {} distinct paths shown", shown, stats.paths.len()));
    }
    t
}

const SECTIONS: [&str; 5] = ["paths", "lengths", "lags", "roles", "cohorts"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Paths,
    Lengths,
    Lags,
    Roles,
    Cohorts,
}

impl Section {
    fn parse(s: &str) -> Option<Section> {
        Some(match s.trim() {
            "paths" => Section::Paths,
            "lengths" => Section::Lengths,
            "lags" => Section::Lags,
            "roles" => Section::Roles,
            "cohorts" => Section::Cohorts,
            _ => return None,
        })
    }
}

fn roles_table(rows: &[RoleRow]) -> Table {
    let mut t = Table::new(
        "Channel roles in converting paths (each conversion counted once per role)",
        vec![
            Column::new("channel", Style::Text),
            Column::titled("conversions", "in path", Style::Count),
            Column::new("first", Style::Count),
            Column::new("middle", Style::Count),
            Column::new("last", Style::Count),
            Column::new("assisted", Style::Count),
            Column::titled("assisted_revenue", "assisted\nrevenue", Style::Money),
            Column::titled("last_revenue", "last\nrevenue", Style::Money),
            Column::titled("assist_ratio", "assisted /\nlast", Style::Decimal),
        ],
    );
    for r in rows {
        let ratio = if r.last > 0 { Cell::Num(r.assisted as f64 / r.last as f64) } else { Cell::Missing };
        t.rows.push(vec![
            Cell::Text(r.channel.clone()),
            Cell::Int(r.in_path),
            Cell::Int(r.first),
            Cell::Int(r.middle),
            Cell::Int(r.last),
            Cell::Int(r.assisted),
            Cell::Num(r.assisted_revenue),
            Cell::Num(r.last_revenue),
            ratio,
        ]);
    }
    t
}

/// Files get one long table (`cohort,customers,months_after,conversions,revenue`, months_after
/// −1 for purchases before the first touch); people get two pivots, conversions and revenue.
fn cohort_tables(cohorts: &[Cohort], machine: bool) -> Vec<Table> {
    if machine {
        let mut t = Table::new(
            "",
            vec![
                Column::new("cohort", Style::Text),
                Column::new("customers", Style::Count),
                Column::new("months_after", Style::Count),
                Column::new("conversions", Style::Count),
                Column::new("revenue", Style::Money),
            ],
        );
        for c in cohorts {
            // Customers without a touch have no month to count from.
            let touchless = c.month == crate::reports::journeys::NO_TOUCH;
            let cells = |m: i64, (n, r): (u64, f64)| {
                // A number in every format (as text, −1 met the spreadsheet guard and read `'-1`).
                let after = if touchless { Cell::Missing } else { Cell::Num(m as f64) };
                vec![Cell::Text(c.month.clone()), Cell::Int(c.customers), after, Cell::Int(n), Cell::Num(r)]
            };
            if c.before.0 > 0 {
                t.rows.push(cells(-1, c.before));
            }
            for (m, v) in c.by_offset.iter().enumerate() {
                t.rows.push(cells(m as i64, *v));
            }
        }
        return vec![t];
    }
    let width = cohorts.iter().map(|c| c.by_offset.len()).max().unwrap_or(0);
    let before = cohorts.iter().any(|c| c.before.0 > 0);
    let pivot = |title: &str, style: Style, pick: &dyn Fn((u64, f64)) -> Cell| {
        let mut cols = vec![Column::new("cohort", Style::Text), Column::new("customers", Style::Count)];
        if before {
            cols.push(Column::new("before", style));
        }
        cols.extend((0..width).map(|m| Column::new(&format!("+{m}"), style)));
        let mut t = Table::new(title, cols);
        for c in cohorts {
            let mut row = vec![Cell::Text(c.month.clone()), Cell::Int(c.customers)];
            if before {
                row.push(pick(c.before));
            }
            row.extend((0..width).map(|m| pick(c.by_offset.get(m).copied().unwrap_or((0, 0.0)))));
            t.rows.push(row);
        }
        t
    };
    vec![
        pivot("Conversions by month of first touch (cohort) and months after it", Style::Count, &|(n, _)| Cell::Int(n)),
        pivot("Revenue by month of first touch (cohort) and months after it", Style::Money, &|(_, r)| Cell::Num(r)),
    ]
}

pub(super) fn distribution(title: &str, label: &str, buckets: &[Bucket], total: u64) -> Table {
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
    t.charted(ChartKind::Columns, 0, vec![1])
}
