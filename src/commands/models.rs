//! `touchpath models`: the registry, with each model's parameters as they would apply.

use anyhow::Result;

use super::{emit, format, model_params};
use crate::cli::ModelsArgs;
use crate::output::{Cell, Column, Style, Table};

/// Lists the models with the parameters a run would use: the config's `[models]` (the one named
/// by `--config` or `TOUCHPATH_CONFIG`, else `./touchpath.toml` if there is one), then the
/// options given here; the built-in defaults where there is no config.
pub fn run(cfg_path: Option<&std::path::Path>, a: ModelsArgs) -> Result<()> {
    let params = model_params(&super::table_config(cfg_path)?.models, &a.params)?;
    let mut t = Table::new(
        "Attribution models (--model NAME[,NAME...] or --model all)",
        vec![Column::new("model", Style::Text), Column::new("parameters", Style::Text), Column::new("description", Style::Text)],
    );
    for m in crate::models::registry(&params) {
        let p: Vec<String> = m.parameters().into_iter().map(|(k, v)| format!("{k}={v}")).collect();
        t.rows.push(vec![Cell::Text(m.name().to_string()), Cell::Text(p.join(" ")), Cell::Text(m.description().to_string())]);
    }
    emit(&[t], format(&a.out)?, &a.out)
}
