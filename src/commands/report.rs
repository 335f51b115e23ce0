//! `touchpath report`: credit per channel (or source, medium, campaign) under one or several
//! models, side by side on screen, long format in files.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;

use super::{emit, format, input, model_params, Verbosity};
use crate::cli::ReportArgs;
use crate::output::{self, Cell, ChartKind, Column, Fields, Format, Style, Table};
use crate::reports::{attribute, CreditRow, Credits, Dimension, Report};

pub fn run(cfg_path: Option<&Path>, mut a: ReportArgs, v: Verbosity) -> Result<()> {
    let dim = parse_dimension(&a.spec.by, a.spec.table.paths.is_some())?;
    let journeys = crate::models::journeys(&a.spec.model)?;
    let fmt = format(&a.out)?;
    // The HTML page shows path statistics, which count the non-converting journeys too.
    let journeys = if fmt == Format::Html { crate::paths::Journeys::All } else { journeys };
    let input = input(cfg_path, &mut a.data, a.spec.table.source(), &mut a.out, &mut [&mut a.credits], journeys, v)?;
    let mut credits = a.credits.as_ref().map(|_| Credits::default());
    let report = compute(&input, &a.params, &a.spec.model, dim, credits.as_mut())?;
    if let (Some(path), Some(rows)) = (&a.credits, credits) {
        let cfmt = Format::from_path(path).filter(|f| f.is_machine()).unwrap_or(Format::Csv);
        let opts = output::Options { raw: a.out.raw, width: None };
        let columns = credit_columns(dim);
        // The file is written in parts, each listed and written on its own core. A text part is
        // a few thousand conversions: tens of thousands of rows, a megabyte or two of text. A
        // Parquet part is a row group of about ROW_GROUP rows, however many rows a conversion
        // has on average (the models' and the paths' own), so the file depends on the credits
        // alone.
        let per_part = match cfmt {
            Format::Parquet => (ROW_GROUP as u128 * rows.conversions() as u128).div_ceil(rows.len().max(1) as u128).max(1) as usize,
            _ => 2048,
        };
        let parts = rows.conversions().div_ceil(per_part);
        let part_rows = |p: usize| rows.rows_in(p * per_part..(p + 1) * per_part);
        // A row per credited touch, held as numbers and turned into text only as it is written.
        crate::log::stage("credits", || match cfmt {
            Format::Csv => output::write_atomic_with(path, |f| {
                output::csv::stream_parts(f, &columns, parts, part_rows, |r, w| credit_record(r, w), &opts)
            }),
            Format::Json => {
                output::write_atomic_with(path, |f| output::json::stream_parts(f, &columns, parts, part_rows, |r, w| credit_record(r, w)))
            }
            _ => output::write_atomic_with(path, |f| {
                output::parquet::stream_parts(f, &columns, parts, part_rows, |r, w| credit_record(r, w))
            }),
        })?;
    }
    let width = if a.out.output.is_none() { super::terminal_width() } else { None };
    let tables = if fmt.is_machine() {
        vec![long_table(&report)]
    } else {
        let mut t = human_tables(&report, fmt, width);
        if report.rows.iter().any(|r| r.cost.is_some()) {
            t.extend(roi_tables(&report, &input.cfg.currency));
        }
        if fmt == Format::Html {
            // The page is the whole picture: the journeys behind the credit come with it.
            crate::log::stage("reports", || -> Result<()> {
                let stats = crate::reports::journeys::journey_stats(&input.set, &input.sel)?;
                t.push(super::paths::path_table(&stats, &input.cfg, Some(15)));
                t.push(super::paths::distribution("Path length (touches per conversion)", "touches", &stats.lengths, stats.conversions));
                crate::log::step("path statistics");
                if input.set.timed {
                    t.push(super::paths::distribution("Time lag (first touch to conversion)", "lag", &stats.lags, stats.conversions));
                    t.extend(super::customers::tables(&input, &model_params(&input.cfg.models, &a.params)?, false));
                    crate::log::step("customer metrics");
                }
                Ok(())
            })?;
        }
        t
    };
    emit(&tables, fmt, &a.out)
}

/// `--by`, checked against what the input can give.
pub(super) fn parse_dimension(by: &str, path_table: bool) -> Result<Dimension> {
    let dim = Dimension::parse(by).map_err(|e| super::usage(format!("--by: {e}")))?;
    if path_table && dim != Dimension::Channel {
        return Err(super::usage("--by: a path table has channels only".into()));
    }
    Ok(dim)
}

/// Runs the chosen models over the input's selected conversions.
pub(super) fn compute(
    input: &super::Input,
    params: &crate::cli::ModelArgs,
    models: &str,
    dim: Dimension,
    credits: Option<&mut Credits>,
) -> Result<Report> {
    let params = model_params(&input.cfg.models, params)?;
    let models = crate::models::select(models, &params, &input.set)?;
    if credits.is_some() {
        // Markov's credits go by the values to credit, not by the path.
        let labels = crate::models::labels::Labels::build(&input.set, dim).names.len();
        super::check_credit_memory(&input.cfg, &input.set, &input.sel, &models, labels)?;
    }
    crate::log::stage("models", || attribute(&input.set, &models, dim, &input.sel, &input.cfg.salt, credits))
}

/// The documented file schema: model, dimension, conversions, revenue, share; with a costs
/// input also cost, cpo, cpa, roas, romi and drr.
pub fn long_table(r: &Report) -> Table {
    let with_costs = r.has_costs;
    let mut cols = vec![
        Column::new("model", Style::Text),
        Column::new(r.dimension.column(), Style::Text),
        Column::new("conversions", Style::Decimal),
        Column::new("revenue", Style::Money),
        Column::new("share", Style::Percent),
    ];
    if with_costs {
        cols.extend(ROI_COLUMNS.iter().map(|(name, style)| Column::new(name, *style)));
    }
    let mut t = Table::new("", cols);
    for row in &r.rows {
        let mut cells = vec![
            Cell::Text(row.model.clone()),
            Cell::Text(row.value.clone()),
            Cell::Num(row.conversions),
            Cell::Num(row.revenue),
            Cell::Num(row.share),
        ];
        if with_costs {
            let cost = row.cost.unwrap_or(0.0);
            cells.push(Cell::Num(cost));
            cells.extend(roi_cells(cost, row.conversions, row.first_purchases, row.revenue));
        }
        t.rows.push(cells);
    }
    t
}

/// Return columns after `cost`, as named in files.
const ROI_COLUMNS: [(&str, Style); 6] = [
    ("cost", Style::Money),
    ("cpo", Style::Money),
    ("cpa", Style::Money),
    ("roas", Style::Percent),
    ("romi", Style::Percent),
    ("drr", Style::Percent),
];

fn roi_cells(cost: f64, conversions: f64, first: f64, revenue: f64) -> [Cell; 5] {
    let r = crate::reports::roi::roi(cost, conversions, first, revenue);
    let c = |x: Option<f64>| x.map_or(Cell::Missing, Cell::Num);
    [c(r.cpo), c(r.cpa), c(r.roas), c(r.romi), c(r.drr)]
}

/// One table per model: spend against what it bought, biggest spend first.
fn roi_tables(r: &Report, currency: &str) -> Vec<Table> {
    let mut out = Vec::new();
    for (mi, model) in r.models.iter().enumerate() {
        let mut cols = vec![
            Column::new(r.dimension.column(), Style::Text),
            Column::titled("cost", &format!("cost, {currency}"), Style::Money),
            Column::new("conversions", Style::Decimal),
            Column::new("revenue", Style::Money),
        ];
        for (name, style) in &ROI_COLUMNS[1..] {
            let title = if *name == "drr" { "ДРР".to_string() } else { name.to_uppercase() };
            cols.push(Column::titled(name, &title, *style));
        }
        let mut t = Table::new(&format!("Costs and return under {model}"), cols).charted(ChartKind::Bars, 0, vec![7]);
        let mut rows: Vec<&crate::reports::ReportRow> = r.rows.iter().filter(|row| &row.model == model).collect();
        rows.sort_by(|a, b| b.cost.unwrap_or(0.0).total_cmp(&a.cost.unwrap_or(0.0)).then_with(|| a.value.cmp(&b.value)));
        let (mut cost, mut first) = (0.0, 0.0);
        for row in rows {
            let c = row.cost.unwrap_or(0.0);
            cost += c;
            first += row.first_purchases;
            let mut cells = vec![Cell::Text(row.value.clone()), Cell::Num(c), Cell::Num(row.conversions), Cell::Num(row.revenue)];
            cells.extend(roi_cells(c, row.conversions, row.first_purchases, row.revenue));
            t.rows.push(cells);
        }
        let (conv, rev) = r.totals[mi];
        let mut tot = vec![Cell::Text("Total".into()), Cell::Num(cost), Cell::Num(conv), Cell::Num(rev)];
        tot.extend(roi_cells(cost, conv, first, rev));
        t.totals = Some(tot);
        out.push(t);
    }
    out
}

/// Width of one model's column group on screen, for fitting tables to the terminal.
const GROUP_WIDTH: usize = 34;

/// Models side by side: one column group per model, as many groups per table as fit the width.
fn human_tables(r: &Report, fmt: Format, width: Option<u16>) -> Vec<Table> {
    // Per value, each model's (conversions, revenue, share), where the model credited it.
    type PerModel = Vec<Option<(f64, f64, f64)>>;
    let mut by_value: BTreeMap<&str, PerModel> = BTreeMap::new();
    for row in &r.rows {
        let mi = r.models.iter().position(|m| *m == row.model).unwrap_or(0);
        by_value.entry(&row.value).or_insert_with(|| vec![None; r.models.len()])[mi] = Some((row.conversions, row.revenue, row.share));
    }
    // People read the biggest channels first: order by the first model's conversions.
    let mut values: Vec<&str> = by_value.keys().copied().collect();
    let first = |v: &str| by_value[v].iter().flatten().next().map_or(0.0, |x| x.0);
    values.sort_by(|a, b| first(b).total_cmp(&first(a)).then_with(|| a.cmp(b)));
    let dim_width = values.iter().map(|v| v.chars().count()).max().unwrap_or(8).max(8) + 4;
    let per_table = match (fmt, width) {
        (Format::Table, Some(w)) => ((w as usize).saturating_sub(dim_width) / GROUP_WIDTH).max(1),
        _ => r.models.len().max(1),
    };
    let mut tables = Vec::new();
    let title = format!(
        "{} conversions, revenue {} (credit by {})",
        crate::output::terminal_display(
            &Cell::Num(r.conversions),
            if r.conversions.fract() == 0.0 { Style::Count } else { Style::Decimal }
        ),
        crate::output::terminal_display(&Cell::Num(r.revenue), Style::Money),
        r.dimension.column().replace('_', "/")
    );
    let model_idx: Vec<usize> = (0..r.models.len()).collect();
    for (ci, chunk) in model_idx.chunks(per_table).enumerate() {
        let mut cols = vec![Column::new(r.dimension.column(), Style::Text)];
        for &mi in chunk {
            let m = &r.models[mi];
            cols.push(Column::titled(&format!("{m} conversions"), &format!("{m}\nconversions"), Style::Decimal));
            cols.push(Column::titled(&format!("{m} revenue"), "revenue", Style::Money));
            cols.push(Column::titled(&format!("{m} share"), "share", Style::Percent));
        }
        let series = (0..chunk.len()).map(|i| 1 + 3 * i).collect();
        let mut t = Table::new(if ci == 0 { &title } else { "" }, cols).charted(ChartKind::Bars, 0, series);
        for v in &values {
            let mut row = vec![Cell::Text(v.to_string())];
            for &mi in chunk {
                match by_value[v][mi] {
                    Some((c, rev, s)) => row.extend([Cell::Num(c), Cell::Num(rev), Cell::Num(s)]),
                    None => row.extend([Cell::Num(0.0), Cell::Num(0.0), Cell::Num(0.0)]),
                }
            }
            t.rows.push(row);
        }
        let mut tot = vec![Cell::Text("Total".into())];
        for &mi in chunk {
            let (c, rev) = r.totals[mi];
            tot.extend([Cell::Num(c), Cell::Num(rev), Cell::Num(if c > 0.0 { 1.0 } else { 0.0 })]);
        }
        t.totals = Some(tot);
        tables.push(t);
    }
    if let Some(ropo) = &r.ropo {
        let share = |n: f64, d: f64| {
            if d > 0.0 {
                Cell::Num(n / d)
            } else {
                Cell::Missing
            }
        };
        let mut t = Table::new(
            "ROPO: offline purchases with an online touch in the ROPO window",
            vec![
                Column::new(r.dimension.column(), Style::Text),
                Column::new("purchases", Style::Count),
                Column::new("share of offline", Style::Percent),
                Column::new("revenue", Style::Money),
                Column::new("share of offline revenue", Style::Percent),
            ],
        )
        .charted(ChartKind::Bars, 0, vec![2]);
        let mut entries: Vec<(&String, &(u64, f64))> = ropo.by_value.iter().collect();
        entries.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(b.0)));
        let total = ropo.offline_conversions as f64;
        for (v, (n, rev)) in entries {
            t.rows.push(vec![
                Cell::Text(v.clone()),
                Cell::Int(*n),
                share(*n as f64, total),
                Cell::Num(*rev),
                share(*rev, ropo.offline_revenue),
            ]);
        }
        t.totals = Some(vec![
            Cell::Text("Any online touch".into()),
            Cell::Int(ropo.with_touch),
            share(ropo.with_touch as f64, total),
            Cell::Num(ropo.with_touch_revenue),
            share(ropo.with_touch_revenue, ropo.offline_revenue),
        ]);
        tables.push(t);
    }
    tables
}

/// The columns of the audit table behind the totals.
fn credit_columns(dim: Dimension) -> Vec<Column> {
    vec![
        Column::new("conversion_id", Style::Text),
        Column::new("conversion_kind", Style::Text),
        Column::new("converted_at", Style::Text),
        Column::new("customer", Style::Text),
        Column::new("model", Style::Text),
        Column::new(dim.column(), Style::Text),
        Column::new("touch_at", Style::Text),
        Column::new("credit", Style::Decimal),
        Column::new("revenue_credit", Style::Money),
    ]
}

/// Rows in a row group of a Parquet credits file, about: polars' own default.
const ROW_GROUP: usize = 1 << 18;

/// One credit row of the audit table, field by field, with no cell made: the same calls write
/// its CSV record, its JSON object and its Parquet row.
fn credit_record(r: &CreditRow, w: &mut impl Fields) -> Result<()> {
    let time = |w: &mut _, t: Option<i64>| match t {
        None => Fields::missing(w),
        // Starting with a digit, the text is the same neutralized or not.
        Some(t) => match iso_digits(t) {
            Some(digits) => Fields::plain(w, std::str::from_utf8(&digits)?),
            None => Fields::text(w, &iso(t)),
        },
    };
    w.text(r.conversion_id)?;
    w.text(r.kind)?;
    time(w, r.converted_at)?;
    w.text(r.customer)?;
    w.text(r.model)?;
    w.text(r.value)?;
    time(w, r.touch_at)?;
    w.num(r.credit)?;
    w.num(r.revenue_credit)?;
    w.end()
}

/// UTC timestamp as ISO 8601 (`2026-08-08T03:35:46Z`). Written twice per credit row, tens of
/// millions of times on a large run: the digits are laid out directly rather than through a
/// format string parsed each time, which took longer than the rest of the row.
pub fn iso(ts: i64) -> String {
    match iso_digits(ts) {
        Some(b) => b.iter().map(|&c| c as char).collect(),
        None => chrono::DateTime::from_timestamp(ts, 0).map_or_else(|| ts.to_string(), |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    }
}

/// [`iso`]'s text for the years 0-9999, laid out in place; `None` for other times (a sign or a
/// fifth digit, which chrono writes; or out of its range).
fn iso_digits(ts: i64) -> Option<[u8; 20]> {
    use chrono::{Datelike, Timelike};
    let d = chrono::DateTime::from_timestamp(ts, 0)?;
    let year = u32::try_from(d.year()).ok().filter(|&y| y <= 9999)?;
    let mut b = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            b[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, d.month());
    put(8, 2, d.day());
    put(11, 2, d.hour());
    put(14, 2, d.minute());
    put(17, 2, d.second());
    Some(b)
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_times_read_as_chrono_writes_them() {
        let chrono_iso = |ts: i64| {
            chrono::DateTime::from_timestamp(ts, 0).map_or_else(|| ts.to_string(), |d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        };
        let mut cases = vec![
            0,
            -1,
            59,
            86_399,
            951_782_400,
            1_786_160_146,
            253_402_300_799,
            253_402_300_800,
            -62_167_219_200,
            -62_167_219_201,
            i64::MIN,
            i64::MAX,
        ];
        let mut x: i64 = 12345;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            cases.push(x % 400_000_000_000);
        }
        for ts in cases {
            assert_eq!(super::iso(ts), chrono_iso(ts), "{ts}");
        }
        assert_eq!(super::iso(1_786_160_146), "2026-08-08T03:35:46Z");
    }
}
