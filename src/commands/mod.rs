//! One file per subcommand. This module holds what they share: turning CLI arguments into a
//! validated config, running load → normalize → stitch → paths, and writing results.

mod channels;
mod check;
mod customers;
pub mod dates;
mod diff;
mod init;
mod inspect;
mod markov;
mod models;
mod paths;
mod report;
mod snapshot;
mod stitch;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use chrono::NaiveDate;

use crate::cli::{Cli, Command, DataArgs, ModelArgs, OutputArgs};
use crate::config::{Config, Duration, ModelParams, RopoInner};
use crate::log;
use crate::output::{self, lock::Locks, Format, Options, Table};
use crate::paths::{Journeys, PathSet};
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
    let started = std::time::Instant::now();
    log::init(log::LogFormat::parse(&cli.log_format).map_err(|e| usage(format!("--log-format: {e}")))?);
    let v = Verbosity { verbose: cli.verbose, quiet: cli.quiet };
    let cfg = cli.config.as_deref();
    let ok = || Ok(ExitCode::SUCCESS);
    let code = match cli.command {
        Command::Report(a) => report::run(cfg, a, v).and_then(|_| ok()),
        Command::Paths(a) => paths::run(cfg, a, v).and_then(|_| ok()),
        Command::Stitch(a) => stitch::run(cfg, a, v).and_then(|_| ok()),
        Command::Models(a) => models::run(cfg, a).and_then(|_| ok()),
        Command::Init(a) => init::run(a).and_then(|_| ok()),
        Command::Markov(a) => markov::run(cfg, a, v).and_then(|_| ok()),
        Command::Check(a) => check::run(cfg, a, v),
        Command::Diff(a) => diff::run(a),
        Command::Snapshot(a) => snapshot::run(cfg, a, v).and_then(|_| ok()),
        Command::Channels(a) => channels::run(cfg, a).and_then(|_| ok()),
        Command::Inspect(a) => inspect::run(cfg, a).and_then(|_| ok()),
        Command::Customers(a) => customers::run(cfg, a, v).and_then(|_| ok()),
    }?;
    if cli.timings || (cli.verbose && !cli.quiet) {
        log::timings(started.elapsed().as_secs_f64());
    }
    Ok(code)
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

/// The run's day and the days it covers, in the config's time zone.
#[derive(Clone, Copy, Debug)]
pub struct When {
    pub today: NaiveDate,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl When {
    pub fn new(data: &DataArgs, cfg: &Config) -> Result<When> {
        let today = dates::today(cfg.timezone).map_err(usage)?;
        let (from, to) = match &data.period {
            Some(p) => {
                let (a, b) = dates::period(p, today).map_err(|e| usage(format!("--period {e}")))?;
                (Some(a), Some(b))
            }
            None => (
                data.from.as_deref().map(|s| dates::parse_day(s, today)).transpose().map_err(|e| usage(format!("--from {e}")))?,
                data.to.as_deref().map(|s| dates::parse_day(s, today)).transpose().map_err(|e| usage(format!("--to {e}")))?,
            ),
        };
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(usage(format!("--from {f} is after --to {t}")));
            }
        }
        Ok(When { today, from, to })
    }

    /// Conversions covered: from the start of `from` to the end of `to`.
    pub fn selection(&self, data: &DataArgs, cfg: &Config) -> Result<Selection> {
        let kinds = ConversionKinds::parse(&data.conversions).map_err(|e| usage(format!("--conversions: {e}")))?;
        Ok(Selection {
            from: self.from.map(|d| dates::day_start(d, cfg.timezone)),
            to: self.to.map(|d| dates::day_start(d + chrono::Duration::days(1), cfg.timezone)),
            kinds,
        })
    }

    /// An output path with `{date}`, `{from}` and `{to}` filled in.
    pub fn name(&self, p: &Path) -> Result<PathBuf> {
        dates::expand_name(p, self.today, self.from, self.to).map_err(usage)
    }
}

/// The conversions a command covers.
pub fn selection(data: &DataArgs, cfg: &Config) -> Result<Selection> {
    When::new(data, cfg)?.selection(data, cfg)
}

/// What a data command works on, with its outputs named and locked for the run.
pub struct Input {
    pub cfg: Config,
    pub set: PathSet,
    pub sel: Selection,
    pub when: When,
    pub locks: Locks,
}

/// Resolves dates and dated output names, locks the outputs, then loads exports through the
/// config or reads a path table (`table`: file and separator).
pub fn input(
    cfg_path: Option<&Path>,
    data: &mut DataArgs,
    table: Option<(&Path, &str)>,
    out: &mut OutputArgs,
    extra_outputs: &mut [&mut Option<PathBuf>],
    journeys: Journeys,
    v: Verbosity,
) -> Result<Input> {
    let cfg = match table {
        Some(_) => table_config(cfg_path)?,
        None => config(cfg_path, data)?,
    };
    let when = When::new(data, &cfg)?;
    let sel = when.selection(data, &cfg)?;
    let mut outputs: Vec<PathBuf> = Vec::new();
    for p in extra_outputs.iter_mut().map(|p| &mut **p).chain([&mut data.rejects, &mut out.output]) {
        if let Some(path) = p.as_mut() {
            *path = when.name(path)?;
            outputs.push(path.clone());
        }
    }
    let wait = Duration::parse(&out.lock_wait).map_err(|e| usage(format!("--lock-wait: {e}")))?;
    let refs: Vec<&Path> = outputs.iter().map(PathBuf::as_path).collect();
    let locks = output::lock::acquire(&refs, std::time::Duration::from_secs(wait.seconds().max(0) as u64))?;
    let set = match table {
        Some((file, sep)) => prepare_table(file, sep, data, v)?,
        None => prepare(&cfg, data, journeys, v)?,
    };
    Ok(Input { cfg, set, sel, when, locks })
}

/// Loads, normalizes, stitches and builds paths; reports on the inputs on stderr.
pub fn prepare(cfg: &Config, data: &DataArgs, journeys: Journeys, v: Verbosity) -> Result<PathSet> {
    check_memory(cfg)?;
    let bar = Progress::new(v);
    bar.counting(&format!("reading {} file(s)", cfg.sources.len()));
    let dataset = log::stage("load+normalize", || crate::normalize::load_and_normalize(cfg, &|n| bar.advance(n)))?;
    bar.stage("stitching customers and building paths", None);
    let stitching = log::stage("stitch", || crate::paths::stitch_customers(&dataset, cfg));
    let set = log::stage("paths", || crate::paths::assemble(dataset, stitching, cfg, journeys));
    bar.finish();
    account(&set, data, v)?;
    Ok(set)
}

/// Peak memory of a run: a fixed part, so many bytes per row of input, and a little more per
/// byte of CSV text. Memory goes by rows (records, touches, identifiers, paths) more than by
/// bytes, and by text where identifiers are long strings. Set from measured peaks
/// (BENCHMARKS.md, "Memory, and the run's estimate of it"): 1.1-1.6 times the peak of
/// `report -m all` with markov and shapley, the HTML page and `customers` on 10M and
/// 50M visits, from CSV and Parquet; 4% short when every visit has a distinct 36-letter client
/// id. A Parquet row counts for the CSV text it would be; a gzip file's rows cannot be told
/// without reading it whole, so it counts by its bytes, about 6.7 times smaller than its text.
/// The credits table is checked on its own once its size is known ([`check_credit_memory`]).
const MEMORY_BASE: u64 = 256 << 20;
const MEMORY_PER_ROW: u64 = 64;
const MEMORY_PER_PARQUET_ROW: u64 = 104;
const MEMORY_HUNDREDTHS_PER_TEXT_BYTE: u64 = 35;
const MEMORY_HUNDREDTHS_PER_GZIP_BYTE: u64 = 600;

/// The bytes of input and the memory a run over them is expected to need at its peak.
pub fn memory_estimate(cfg: &Config) -> (u64, u64) {
    let mut input = 0u64;
    let mut need = MEMORY_BASE;
    for s in &cfg.sources {
        let (bytes, more) = match &s.location {
            crate::config::Location::Embedded { bytes, .. } => {
                let rows = memchr::memchr_iter(b'\n', bytes).count() as u64;
                (bytes.len() as u64, text_memory(rows, bytes.len() as u64))
            }
            crate::config::Location::File(p) => {
                let on_disk = std::fs::metadata(p).map_or(0, |m| m.len());
                let e = crate::normalize::Extent::of(s);
                let more = match s.format {
                    crate::config::FileFormat::Parquet => e.rows.saturating_mul(MEMORY_PER_PARQUET_ROW),
                    crate::config::FileFormat::Csv if e.rows > 0 => text_memory(e.rows, e.bytes),
                    crate::config::FileFormat::Csv => on_disk.saturating_mul(MEMORY_HUNDREDTHS_PER_GZIP_BYTE) / 100,
                };
                (on_disk, more)
            }
        };
        input = input.saturating_add(bytes);
        need = need.saturating_add(more);
    }
    (input, need)
}

/// The memory `rows` rows in `bytes` bytes of CSV text take.
fn text_memory(rows: u64, bytes: u64) -> u64 {
    rows.saturating_mul(MEMORY_PER_ROW).saturating_add(bytes.saturating_mul(MEMORY_HUNDREDTHS_PER_TEXT_BYTE) / 100)
}

/// Refuses a run that would not fit in memory before it starts, with a clear message, instead
/// of letting the system kill it halfway.
fn check_memory(cfg: &Config) -> Result<()> {
    let (input, need) = memory_estimate(cfg);
    crate::log::add_memory_estimate(need);
    let available = cfg.memory_limit.or_else(|| crate::io::meminfo("MemAvailable"));
    refuse_beyond(
        cfg,
        need,
        available,
        &format!("the inputs hold {:.2} GB; a run over them", gib(input)),
        "Select fewer or shorter exports (split by period)",
    )
}

/// Memory the credits table takes per row (a row as the models give it, in arrays that grow by
/// doubling) and per credited conversion (its id and customer key as text). On M with the
/// heuristic models, markov and shapley: 0.81 GiB more peak for 16.6M rows and 0.82M
/// conversions, where this counts 1.3 GiB.
const CREDIT_ROW_MEMORY: u64 = 80;
const CREDIT_CONVERSION_MEMORY: u64 = 128;

/// The rows of the credits table, at most (per model, as many as it credits on each selected
/// converting path when there are `labels` values: see [`crate::models::Model::credits_at_most`]),
/// and the memory they take.
pub fn credit_memory(
    set: &crate::paths::PathSet,
    sel: &crate::reports::Selection,
    models: &[Box<dyn crate::models::Model>],
    labels: usize,
) -> (u64, u64) {
    let (paths, rows) = sel.paths(set).fold((0u64, 0u64), |(n, rows), p| {
        let path: u64 = models.iter().map(|m| m.credits_at_most(p.len(), labels) as u64).sum();
        (n + 1, rows.saturating_add(path))
    });
    (rows, rows.saturating_mul(CREDIT_ROW_MEMORY).saturating_add(paths.saturating_mul(CREDIT_CONVERSION_MEMORY)))
}

/// Refuses `--credits` when its table would not fit in what the run has left. Its size is known
/// only once the paths are built; with `memory_limit`, what is left is the limit less the peak so
/// far.
pub fn check_credit_memory(
    cfg: &Config,
    set: &crate::paths::PathSet,
    sel: &crate::reports::Selection,
    models: &[Box<dyn crate::models::Model>],
    labels: usize,
) -> Result<()> {
    let (rows, need) = credit_memory(set, sel, models, labels);
    crate::log::add_memory_estimate(need);
    let available = match cfg.memory_limit {
        Some(limit) => Some(limit.saturating_sub(crate::log::peak_memory().unwrap_or(0))),
        None => crate::io::meminfo("MemAvailable"),
    };
    refuse_beyond(
        cfg,
        need,
        available,
        &format!("the credits table (--credits) holds up to {rows} rows; it"),
        "Select fewer models or a shorter period (--from, --to), write the report without --credits",
    )
}

/// Bytes in the messages' gigabytes (binary, as `memory_limit = "8G"` reads them).
fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// The error for `need` beyond `available`: what needs it, what to do.
fn refuse_beyond(cfg: &Config, need: u64, available: Option<u64>, what: &str, advice: &str) -> Result<()> {
    match available {
        Some(avail) if need > avail => {
            bail!(
                "{what} needs about {:.2} GB and {:.2} GB is available{}. {advice}, or raise `memory_limit` in the config",
                gib(need),
                gib(avail),
                if cfg.memory_limit.is_some() { " (memory_limit)" } else { "" }
            )
        }
        _ => Ok(()),
    }
}

/// A progress bar on stderr for long runs: only on a terminal, never with `--quiet`, so cron logs
/// and pipes stay clean.
struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(v: Verbosity) -> Progress {
        let on = !v.quiet && std::io::stderr().is_terminal();
        Progress(on.then(|| indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())))
    }

    /// Starts a stage: a bar with rows/s when the row count is known, a spinner otherwise.
    fn stage(&self, what: &str, rows: Option<u64>) {
        let Some(b) = &self.0 else {
            return;
        };
        let style = match rows {
            Some(n) => {
                b.set_length(n);
                b.set_position(0);
                indicatif::ProgressStyle::with_template("{msg:40} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}, {eta} left")
            }
            None => indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})"),
        };
        if let Ok(s) = style {
            b.set_style(s.progress_chars("=> "));
        }
        b.set_message(what.to_string());
        b.enable_steady_tick(std::time::Duration::from_millis(120));
    }

    /// Starts a stage that counts rows whose total is not known in advance.
    fn counting(&self, what: &str) {
        let Some(b) = &self.0 else {
            return;
        };
        b.set_position(0);
        if let Ok(s) = indicatif::ProgressStyle::with_template("{spinner} {msg}: {human_pos} rows, {per_sec} ({elapsed})") {
            b.set_style(s);
        }
        b.set_message(what.to_string());
        b.enable_steady_tick(std::time::Duration::from_millis(120));
    }

    fn advance(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Reads an aggregated path table (`--paths`) into journeys.
pub fn prepare_table(file: &Path, sep: &str, data: &DataArgs, v: Verbosity) -> Result<PathSet> {
    if data.from.is_some() || data.to.is_some() || data.period.is_some() {
        return Err(usage("--from/--to/--period need conversion dates, and a path table has none".into()));
    }
    if data.conversions == "offline" {
        return Err(usage("--conversions offline: a path table has no offline conversions".into()));
    }
    let bytes = crate::io::read_bytes(&crate::config::Location::File(file.to_path_buf()))?;
    let set = crate::paths::table::load(&file.display().to_string(), &bytes, sep)?;
    account(&set, data, v)?;
    Ok(set)
}

/// The config for a command that needs no sources (one reading a path table, `models`): the
/// user's when one is named or present, else the defaults.
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
        log::summary(summary);
    } else if !v.quiet && summary.rejected_rows() > 0 {
        let rows = match &data.rejects {
            Some(path) => format!("they are in {}", path.display()),
            None => "--rejects FILE for the rows".to_string(),
        };
        log::warn(&format!("{} input row(s) rejected; run with -v for the summary, {rows}", summary.rejected_rows()));
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
    let bytes = log::stage("write", || output::render(tables, fmt, &Options { raw: out.raw, width }))?;
    write_bytes(&bytes, out)
}

/// Writes finished bytes to `--output` (atomically) or stdout.
pub fn write_bytes(bytes: &[u8], out: &OutputArgs) -> Result<()> {
    match &out.output {
        Some(p) => output::write_atomic(p, bytes),
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A CSV file counts its rows and its text; a gzip file, whose rows cannot be told, its
    /// bytes many times over; a missing file nothing.
    #[test]
    fn memory_goes_by_rows_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let row = "1;1732423623615127710;08.08.2026 03:35:46;yandex;cpc\n";
        let text = format!("visit_id;client_id;date_time;utm_source;utm_medium\n{}", row.repeat(2999));
        std::fs::write(dir.path().join("visits.csv"), &text).unwrap();
        std::fs::write(dir.path().join("visits.csv.gz"), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]).unwrap();
        let config = |file: &str| {
            let toml = format!("[[sources]]\nkind = \"visits\"\npath = \"{file}\"\n[[sources]]\nkind = \"orders\"\npath = \"none.csv\"\n");
            Config::from_toml(&toml, "t.toml", Some(dir.path()), None).unwrap()
        };
        let bytes = text.len() as u64;
        let (input, need) = memory_estimate(&config("visits.csv"));
        assert_eq!(input, bytes);
        // A file this small is counted whole, a line more than its line breaks (no last break).
        assert_eq!(need, MEMORY_BASE + 3001 * MEMORY_PER_ROW + bytes * MEMORY_HUNDREDTHS_PER_TEXT_BYTE / 100);
        assert_eq!(memory_estimate(&config("visits.csv.gz")), (10, MEMORY_BASE + 10 * MEMORY_HUNDREDTHS_PER_GZIP_BYTE / 100));
        assert_eq!(memory_estimate(&config("missing.csv")), (0, MEMORY_BASE));
    }

    /// Each model credits every touch of a selected converting path, or the path itself when it
    /// has none; non-converting paths are not credited.
    #[test]
    fn credits_take_a_row_per_touch_or_empty_path_per_model() {
        use crate::models::testkit::{config, journey, pathset, DAY};
        let cfg = config("lookback = \"30d\"\n");
        let set = pathset(
            &[
                journey("a", &[("yandex / cpc", 0), ("google / cpc", DAY)], &[(2 * DAY, 100.0, false)]),
                journey("b", &[], &[(DAY, 50.0, true)]),
                journey("c", &[("vk / social", 0)], &[]),
            ],
            &cfg,
        );
        assert_eq!(set.converting, 2);
        let models = crate::models::select("linear,position-based,time-decay", &Default::default(), &set).unwrap();
        let (rows, need) = credit_memory(&set, &crate::reports::Selection::all(), &models, 3);
        assert_eq!(rows, (2 + 1) * 3);
        assert_eq!(need, 9 * CREDIT_ROW_MEMORY + 2 * CREDIT_CONVERSION_MEMORY);
        // A period counts only the conversions in it: here b's, on the first day.
        let first_day = crate::reports::Selection { to: Some(DAY + 1), ..crate::reports::Selection::all() };
        assert_eq!(credit_memory(&set, &first_day, &models, 3), (3, 3 * CREDIT_ROW_MEMORY + CREDIT_CONVERSION_MEMORY));
        // A one-touch model counts a row per conversion, however long its path.
        let one = crate::models::select("last-click,linear", &Default::default(), &set).unwrap();
        assert_eq!(credit_memory(&set, &crate::reports::Selection::all(), &one, 3).0, (1 + 1) + (2 + 1));
        // Markov credits every conversion with a share per value, however short its path.
        let markov = crate::models::select("markov", &Default::default(), &set).unwrap();
        assert_eq!(credit_memory(&set, &crate::reports::Selection::all(), &markov, 5).0, 5 + 5);
    }

    #[test]
    fn a_need_beyond_what_is_available_is_refused_with_what_to_do() {
        let cfg = crate::models::testkit::config("memory_limit = \"1G\"\n");
        let err = refuse_beyond(&cfg, 3 << 30, Some(1 << 30), "the credits table holds 9 rows; it", "Select fewer models")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "the credits table holds 9 rows; it needs about 3.00 GB and 1.00 GB is available (memory_limit). \
             Select fewer models, or raise `memory_limit` in the config"
        );
        assert!(refuse_beyond(&cfg, 1 << 30, Some(1 << 30), "", "").is_ok(), "a need equal to what is available fits");
        assert!(refuse_beyond(&cfg, u64::MAX, None, "", "").is_ok(), "with nothing known, nothing is refused");
    }
}
