//! One file per subcommand. This module holds what they share: turning CLI arguments into a
//! validated config, running load → normalize → stitch → paths, and writing results.

mod init;
mod markov;
mod models;
mod paths;
mod report;
mod stitch;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{LocalResult, TimeZone};
use rayon::prelude::*;

use crate::cli::{Cli, Command, DataArgs, ModelArgs, OutputArgs};
use crate::config::{Config, Duration, ModelParams, RopoInner};
use crate::output::{self, Format, Options, Table};
use crate::paths::PathSet;
use crate::reports::{ConversionKinds, Selection};
use crate::UsageError;

/// How chatty stderr is.
#[derive(Clone, Copy, Debug)]
pub struct Verbosity {
    pub verbose: bool,
    pub quiet: bool,
}

impl Verbosity {
    /// The input summary is shown on a terminal, or when asked for; never with `--quiet`.
    fn show_summary(self) -> bool {
        !self.quiet && (self.verbose || std::io::stderr().is_terminal())
    }
}

pub fn dispatch(cli: Cli) -> Result<ExitCode> {
    let v = Verbosity { verbose: cli.verbose, quiet: cli.quiet };
    match cli.command {
        Command::Report(a) => report::run(cli.config.as_deref(), a, v),
        Command::Paths(a) => paths::run(cli.config.as_deref(), a, v),
        Command::Stitch(a) => stitch::run(cli.config.as_deref(), a, v),
        Command::Models(a) => models::run(a),
        Command::Init(a) => init::run(a),
        Command::Markov(a) => markov::run(cli.config.as_deref(), a, v),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

/// The config for a data command: the demo's with `--demo`, the user's otherwise, then overrides.
pub fn config(explicit: Option<&Path>, data: &DataArgs) -> Result<Config> {
    let mut cfg = if data.demo { crate::io::demo::config()? } else { Config::locate(explicit)? };
    if let Some(l) = &data.lookback {
        cfg.lookback = Duration::parse(l).map_err(|e| usage(format!("--lookback: {e}")))?;
        if cfg.lookback.seconds() <= 0 {
            return Err(usage("--lookback must be longer than zero".into()));
        }
    }
    if cfg.sources.is_empty() {
        bail!("{}: no [[sources]]: add your exports (see `touchpath init`)", cfg.origin);
    }
    Ok(cfg)
}

/// Applies model parameter flags over the config's.
pub fn model_params(base: &ModelParams, a: &ModelArgs) -> Result<ModelParams> {
    let mut p = base.clone();
    if let Some(w) = &a.position_weights {
        p.position_weights = ModelParams::parse_position_weights(w).map_err(|e| usage(format!("--position-weights: {e}")))?;
    }
    if let Some(h) = &a.half_life {
        p.half_life = Duration::parse(h).map_err(|e| usage(format!("--half-life: {e}")))?;
        if p.half_life.seconds() <= 0 {
            return Err(usage("--half-life must be longer than zero".into()));
        }
    }
    if let Some(w) = &a.ropo_window {
        p.ropo_window = Duration::parse(w).map_err(|e| usage(format!("--ropo-window: {e}")))?;
    }
    if let Some(r) = &a.ropo_inner {
        p.ropo_inner = RopoInner::parse(r).map_err(|e| usage(format!("--ropo-inner: {e}")))?;
    }
    if let Some(k) = a.markov_order {
        p.markov_order = ModelParams::check_markov_order(k).map_err(|e| usage(format!("--markov-order: {e}")))?;
    }
    if a.markov_keep_repeats {
        p.markov_collapse = false;
    }
    if let Some(n) = a.shapley_max_channels {
        p.shapley_max_channels = ModelParams::check_shapley_max(n).map_err(|e| usage(format!("--shapley-max-channels: {e}")))?;
    }
    if a.shapley_ordered {
        p.shapley_ordered = true;
    }
    Ok(p)
}

/// Reads a command-line date as the start of that day in the config's zone.
fn day_start(s: &str, cfg: &Config, flag: &str) -> Result<i64> {
    let (naive, _) = crate::normalize::time::parse_auto(s.trim())
        .filter(|(n, _)| n.time() == chrono::NaiveTime::MIN)
        .ok_or_else(|| usage(format!("{flag} `{s}`: give a date as YYYY-MM-DD or DD.MM.YYYY")))?;
    match cfg.timezone.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Ok(t.timestamp()),
        LocalResult::None => Ok(naive.and_utc().timestamp()),
    }
}

/// The conversions a command covers.
pub fn selection(data: &DataArgs, cfg: &Config) -> Result<Selection> {
    let from = data.from.as_deref().map(|s| day_start(s, cfg, "--from")).transpose()?;
    let to = data.to.as_deref().map(|s| day_start(s, cfg, "--to").map(|t| t + 86_400)).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(usage("--from is after --to".into()));
        }
    }
    let kinds = ConversionKinds::parse(&data.conversions).map_err(|e| usage(format!("--conversions: {e}")))?;
    Ok(Selection { from, to, kinds })
}

/// Loads, normalizes, stitches and builds paths; reports on the inputs on stderr.
pub fn prepare(cfg: &Config, data: &DataArgs, v: Verbosity) -> Result<PathSet> {
    let tables = cfg.sources.par_iter().map(crate::io::load).collect::<Result<Vec<_>>>()?;
    let dataset = crate::normalize::normalize(cfg, &tables)?;
    drop(tables);
    let set = crate::paths::build(dataset, cfg);
    account(&set, data, v)?;
    Ok(set)
}

/// Reads an aggregated path table (`--paths`) into journeys.
pub fn prepare_table(file: &Path, sep: &str, data: &DataArgs, v: Verbosity) -> Result<PathSet> {
    if data.from.is_some() || data.to.is_some() {
        return Err(usage("--from/--to need conversion dates, and a path table has none".into()));
    }
    if data.conversions == "offline" {
        return Err(usage("--conversions offline: a path table has no offline conversions".into()));
    }
    let bytes = crate::io::read_bytes(&crate::config::Location::File(file.to_path_buf()))?;
    let set = crate::paths::table::load(&file.display().to_string(), &bytes, sep)?;
    account(&set, data, v)?;
    Ok(set)
}

/// The config for a command reading a path table: the user's when one is named or present,
/// else the defaults (a path table needs no sources).
pub fn table_config(explicit: Option<&Path>) -> Result<Config> {
    let named = explicit.is_some() || std::env::var_os("TOUCHPATH_CONFIG").is_some() || Path::new("touchpath.toml").exists();
    if named {
        Config::locate(explicit)
    } else {
        Config::from_toml("", "defaults", None, None)
    }
}

/// Writes rejects, prints the input summary, and applies `--strict`.
fn account(set: &PathSet, data: &DataArgs, v: Verbosity) -> Result<()> {
    let summary = &set.data.summary;
    if let Some(path) = &data.rejects {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        w.write_record(["file", "line", "column", "reason", "value"])?;
        for r in &summary.rejects {
            w.write_record([r.file.as_str(), &r.line.to_string(), &r.column, &r.reason, &output::neutralize(&r.value, false)])?;
        }
        let bytes = w.into_inner().map_err(|e| anyhow!("{e}"))?;
        output::write_atomic(path, &bytes)?;
    }
    if v.show_summary() {
        eprint!("{}", summary.render());
    } else if !v.quiet && summary.rejected_rows() > 0 {
        eprintln!(
            "warning: {} input row(s) rejected; run with -v for the summary or --rejects FILE for the rows",
            summary.rejected_rows()
        );
    }
    if let Some(f) = summary.files.iter().find(|f| !f.balanced()) {
        bail!("internal accounting error for {}: rows do not add up", f.file);
    }
    if data.strict && summary.rejected_rows() > 0 {
        bail!(
            "--strict: {} input row(s) rejected (first: {})",
            summary.rejected_rows(),
            summary
                .rejects
                .first()
                .map(|r| format!("{}, line {}, column `{}`: {}", r.file, r.line, r.column, r.reason))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// The output format from `--format`, else from the `--output` extension, else the table.
pub fn format(out: &OutputArgs) -> Result<Format> {
    match (&out.format, &out.output) {
        (Some(f), _) => Format::parse(f).map_err(|e| usage(format!("--format: {e}"))),
        (None, Some(p)) => Ok(Format::from_path(p).unwrap_or(Format::Table)),
        (None, None) => Ok(Format::Table),
    }
}

/// Writes tables to `--output` or stdout.
pub fn emit(tables: &[Table], fmt: Format, out: &OutputArgs) -> Result<()> {
    let to_terminal = out.output.is_none() && std::io::stdout().is_terminal();
    if fmt == Format::Parquet && to_terminal {
        return Err(usage("Parquet is binary: write it to a file with --output FILE".into()));
    }
    let width = if to_terminal { terminal_width() } else { None };
    let bytes = output::render(tables, fmt, &Options { raw: out.raw, width })?;
    match &out.output {
        Some(p) => output::write_atomic(p, &bytes),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&bytes).and_then(|_| stdout.flush()) {
                // A closed pipe (`| head`) is the reader's choice, not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("writing to stdout"),
            }
        }
    }
}

/// Terminal width: `$COLUMNS`, or what the terminal reports.
pub fn terminal_width() -> Option<u16> {
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(c);
    }
    comfy_table::Table::new().width()
}
