//! `touchpath markov`: the Markov chain behind the `markov` model — removal effects per channel
//! and, with `--transitions`, the transition matrix — so its credits can be audited.

use std::path::Path;

use anyhow::Result;

use super::{emit, format, input, model_params, Verbosity};
use crate::cli::MarkovArgs;
use crate::models::labels::{Dimension, Labels};
use crate::models::markov::fit_chain;
use crate::output::{self, Cell, Column, Format, Style, Table};

pub fn run(cfg_path: Option<&Path>, mut a: MarkovArgs, v: Verbosity) -> Result<()> {
    let fmt = format(&a.out)?;
    let super::Input { cfg, set, locks: _locks, .. } =
        input(cfg_path, &mut a.data, a.table.source(), &mut a.out, &mut [&mut a.transitions], crate::paths::Journeys::All, v)?;
    let params = model_params(&cfg.models, &a.params)?;
    let labels = Labels::build(&set, Dimension::Channel);
    let chain = fit_chain(&set, &labels, params.markov_order, params.markov_collapse)?;

    if let Some(path) = &a.transitions {
        let mut t = Table::new(
            "",
            vec![
                Column::new("from", Style::Text),
                Column::new("to", Style::Text),
                Column::new("count", Style::Decimal),
                Column::new("probability", Style::Percent),
            ],
        );
        let mut rows: Vec<(String, String, f64, f64)> = chain
            .counts
            .iter()
            .map(|(&(a, b), &c)| (chain.state_name(a, &labels), chain.state_name(b, &labels), c, c / chain.out_total[a as usize]))
            .collect();
        rows.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
        for (f, to, c, p) in rows {
            t.rows.push(vec![Cell::Text(f), Cell::Text(to), Cell::Num(c), Cell::Num(p)]);
        }
        let tfmt = Format::from_path(path).filter(|f| f.is_machine()).unwrap_or(Format::Csv);
        output::write_atomic(path, &output::render(&[t], tfmt, &output::Options { raw: a.out.raw, width: None })?)?;
    }

    // Conversions and revenue the chain's shares apply to: those with at least one touch.
    // The others go to their buckets in `report`; the title says how many, so that the two
    // commands' figures reconcile.
    let (mut n, mut revenue, mut touchless) = (0.0, 0.0, 0.0);
    for p in &set.paths[..set.converting] {
        match (p.is_empty(), set.conversion_of(p)) {
            (false, Some(c)) => {
                n += c.count;
                revenue += c.revenue;
            }
            (true, Some(c)) => touchless += c.count,
            _ => {}
        }
    }
    let count = |x: f64| crate::output::display(&Cell::Num(x), if x.fract() == 0.0 { Style::Count } else { Style::Decimal });
    let total_effect: f64 = chain.removal.iter().map(|r| r.2).sum();
    let mut t = Table::new(
        &format!(
            "Markov chain, order {}{}: {} states, P(conversion) = {:.6}; shares of the {} conversions with a touch \
             (the {} without go to their buckets in `report`)",
            params.markov_order,
            if params.markov_collapse { ", repeats collapsed" } else { "" },
            chain.states.len(),
            chain.p_conversion,
            count(n),
            count(touchless),
        ),
        vec![
            Column::new("channel", Style::Text),
            Column::new("p_conversion_without", Style::Percent),
            Column::new("removal_effect", Style::Percent),
            Column::new("share", Style::Percent),
            Column::new("conversions", Style::Decimal),
            Column::new("revenue", Style::Money),
        ],
    );
    for &(l, p_without, effect) in &chain.removal {
        let share = if total_effect > 0.0 { effect / total_effect } else { 0.0 };
        t.rows.push(vec![
            Cell::Text(labels.names[l as usize].clone()),
            Cell::Num(p_without),
            Cell::Num(effect),
            Cell::Num(share),
            Cell::Num(share * n),
            Cell::Num(share * revenue),
        ]);
    }
    emit(&[t], fmt, &a.out)
}
