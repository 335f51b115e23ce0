//! `touchpath customers`: the omnichannel metrics of the stitched customers — one table per
//! section on screen, one long table (`section,metric,segment,value`) in files.

use std::path::Path;

use anyhow::Result;

use super::{emit, format, input, model_params, Verbosity};
use crate::cli::CustomersArgs;
use crate::output::{Cell, Column, Style, Table};
use crate::reports::customers::{metrics, Settings, Unit};

const TITLES: [(&str, &str); 7] = [
    ("coverage", "Coverage: purchases that can be counted per customer"),
    ("match", "Match rate: records tied to a customer with web visits, per source"),
    ("multichannel", "Multichannel behaviour of buyers"),
    ("ropo", "ROPO: offline buyers with an online touch before buying, by customer status at the touch"),
    ("value", "Order value and repeat purchases"),
    ("retention", "Retention by month of first purchase"),
    ("ltv", "Revenue per customer to date (LTV)"),
];

pub fn run(cfg_path: Option<&Path>, mut a: CustomersArgs, v: Verbosity) -> Result<()> {
    let fmt = format(&a.out)?;
    // Customers are read from their touches and conversions: no path is needed beyond the
    // converting ones.
    let input = input(cfg_path, &mut a.data, None, &mut a.out, &mut [], crate::paths::Journeys::Converting, v)?;
    let params = model_params(&input.cfg.models, &a.params)?;
    let tables = crate::log::stage("reports", || tables(&input, &params, fmt.is_machine()));
    emit(&tables, fmt, &a.out)
}

/// The metrics as tables: one long table for files, one per section for people.
pub(super) fn tables(input: &super::Input, params: &crate::config::ModelParams, machine: bool) -> Vec<Table> {
    let settings = Settings {
        tz: input.cfg.timezone,
        ropo_window: params.ropo_window.seconds(),
        lookback: input.cfg.lookback.seconds(),
        new_contact: 30 * 86_400,
    };
    let all = metrics(&input.set, &settings);
    let style = |u: Unit| match u {
        Unit::Count => Style::Count,
        Unit::Share => Style::Percent,
        Unit::Days => Style::Decimal,
        Unit::Money => Style::Money,
    };
    let cell = |x: Option<f64>| x.map_or(Cell::Missing, Cell::Num);
    if machine {
        let mut t = Table::new(
            "",
            ["section", "metric", "segment"]
                .iter()
                .map(|n| Column::new(n, Style::Text))
                .chain([Column::new("value", Style::Decimal)])
                .collect(),
        );
        for m in &all {
            t.rows.push(vec![Cell::Text(m.section.into()), Cell::Text(m.metric.clone()), Cell::Text(m.segment.clone()), cell(m.value)]);
        }
        vec![t]
    } else {
        TITLES
            .iter()
            .map(|(section, title)| {
                let mut t = Table::new(
                    title,
                    vec![Column::new("metric", Style::Text), Column::new("segment", Style::Text), Column::new("value", Style::Text)],
                );
                for m in all.iter().filter(|m| m.section == *section) {
                    let shown = m.value.map_or_else(|| "—".to_string(), |x| crate::output::terminal_display(&Cell::Num(x), style(m.unit)));
                    t.rows.push(vec![Cell::Text(m.metric.clone()), Cell::Text(m.segment.clone()), Cell::Text(shown)]);
                }
                t
            })
            .collect()
    }
}
