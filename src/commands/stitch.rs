//! `touchpath stitch`: how identities joined into customers — match rates, customers per source,
//! the largest groups and the identifiers refused for joining — and the hashed customer map.

use std::path::Path;

use anyhow::Result;

use super::{emit, format, input, Verbosity};
use crate::cli::StitchArgs;
use crate::output::{self, Cell, Column, Format, Style, Table};
use crate::reports::stitch::{customer_map, stitch_stats};

pub fn run(cfg_path: Option<&Path>, mut a: StitchArgs, v: Verbosity) -> Result<()> {
    let fmt = format(&a.out)?;
    let super::Input { cfg, set, locks: _locks, .. } =
        input(cfg_path, &mut a.data, None, &mut a.out, &mut [&mut a.export], crate::paths::Journeys::Converting, v)?;
    let s = stitch_stats(&set, a.top);
    if let Some(path) = &a.export {
        let mut t = Table::new(
            "",
            vec![Column::new("customer", Style::Text), Column::new("kind", Style::Text), Column::new("identifier_sha256", Style::Text)],
        );
        for (c, k, h) in customer_map(&set, &cfg.salt) {
            t.rows.push(vec![Cell::Text(c), Cell::Text(k.to_string()), Cell::Text(h)]);
        }
        let efmt = Format::from_path(path).filter(|f| f.is_machine()).unwrap_or(Format::Csv);
        output::write_atomic(path, &output::render(&[t], efmt, &output::Options::default())?)?;
    }

    let rate = |m: u64, t: u64| {
        if t > 0 {
            Cell::Num(m as f64 / t as f64)
        } else {
            Cell::Missing
        }
    };
    let mut overview = Table::new(
        "Stitching",
        vec![Column::new("metric", Style::Text), Column::new("count", Style::Count), Column::new("share", Style::Percent)],
    );
    overview.rows.push(vec![Cell::Text("customers".into()), Cell::Int(s.customers as u64), Cell::Missing]);
    overview.rows.push(vec![
        Cell::Text("identifier groups with no touch or conversion (links or filtered rows)".into()),
        Cell::Int(s.links_only as u64),
        Cell::Missing,
    ]);
    overview.rows.push(vec![
        Cell::Text("customers with online touches".into()),
        Cell::Int(s.customers_with_touches as u64),
        rate(s.customers_with_touches as u64, s.customers as u64),
    ]);
    for m in &s.match_rates {
        overview.rows.push(vec![
            Cell::Text(format!("{} matched to online touches", m.what)),
            Cell::Int(m.matched),
            rate(m.matched, m.total),
        ]);
    }
    overview.rows.push(vec![Cell::Text("identifiers refused for joining".into()), Cell::Int(s.refused.len() as u64), Cell::Missing]);
    let mut tables = vec![overview];
    if !fmt.is_machine() {
        let mut per = Table::new("Customers per source", vec![Column::new("source", Style::Text), Column::new("customers", Style::Count)]);
        for (k, n) in &s.per_source {
            per.rows.push(vec![Cell::Text(k.to_string()), Cell::Int(*n)]);
        }
        tables.push(per);
        let mut big = Table::new(
            "Largest customers (by identifiers)",
            vec![
                Column::new("customer", Style::Text),
                Column::new("identifiers", Style::Count),
                Column::new("touches", Style::Count),
                Column::new("conversions", Style::Count),
            ],
        );
        for g in &s.largest {
            big.rows.push(vec![
                Cell::Text(g.customer.clone()),
                Cell::Int(g.identifiers as u64),
                Cell::Int(g.touches),
                Cell::Int(g.conversions),
            ]);
        }
        tables.push(big);
        if !s.refused.is_empty() {
            let mut r = Table::new(
                &format!("Identifiers refused for joining (each would join more than {} customers)", cfg.max_customers_per_identifier),
                vec![Column::new("kind", Style::Text), Column::new("identifier", Style::Text), Column::new("customers", Style::Count)],
            );
            for x in &s.refused {
                r.rows.push(vec![Cell::Text(x.kind.name().to_string()), Cell::Text(x.value.clone()), Cell::Int(x.customers as u64)]);
            }
            tables.push(r);
        }
    }
    emit(&tables, fmt, &a.out)
}
