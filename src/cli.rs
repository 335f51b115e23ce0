//! Command-line interface types (clap). They stop here: `commands` turns them into a validated
//! [`crate::config::Config`] and plain options before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "touchpath",
    version,
    about = "End-to-end marketing attribution from the exports you already have",
    long_about = "touchpath loads web visits, call-tracking logs, CRM orders and POS receipts, stitches them into customers, \
                  builds each customer's touchpoint path to every conversion and credits channels with attribution models.\n\n\
                  Start with `touchpath report --demo`, then `touchpath init` to write a config for your own exports."
)]
pub struct Cli {
    /// Config file (default: ./touchpath.toml, or $TOUCHPATH_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the input summary and progress on stderr even when it is not a terminal.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print how long each stage took on stderr (also shown with -v).
    #[arg(long, global = true)]
    pub timings: bool,
    /// Messages on stderr as plain text or as JSON lines (for log collectors).
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text")]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Channel report: credit per channel under one or several attribution models.
    Report(ReportArgs),
    /// Conversion paths: top channel sequences, path lengths and time lags.
    Paths(PathsArgs),
    /// Identity stitching: customers, match rates, largest groups, refused identifiers.
    Stitch(StitchArgs),
    /// List the attribution models with their parameters.
    Models(ModelsArgs),
    /// Write a commented touchpath.toml to start from.
    Init(InitArgs),
    /// Markov chain details: transition matrix and removal effects.
    Markov(MarkovArgs),
    /// Recompute the report and compare it with a baseline; exit 3 when numbers moved beyond tolerance.
    Check(CheckArgs),
    /// Compare two report files (CSV, JSON, Parquet or snapshots) without recomputing.
    Diff(DiffArgs),
    /// Write a baseline for `check`: the report plus fingerprints of the config and inputs.
    Snapshot(SnapshotArgs),
    /// Channel rules: list them in the order they are tried, or explain which one a visit matches.
    Channels(ChannelsArgs),
    /// Omnichannel customer metrics: match rates, multichannel behaviour, ROPO by customer
    /// status, order value, repeat purchases, retention and LTV.
    Customers(CustomersArgs),
    /// What the tool sees in a file: format, encoding, delimiter, columns with guessed types and
    /// samples, and the canonical field each column maps to.
    Inspect(InspectArgs),
}

/// Options of every command that reads data.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// Run on the demo exports built into the binary (no config needed).
    #[arg(long)]
    pub demo: bool,
    /// Lookback window before each conversion (e.g. 30d, 12h).
    #[arg(long, value_name = "DURATION")]
    pub lookback: Option<String>,
    /// Only conversions on or after this day: YYYY-MM-DD, DD.MM.YYYY, today, yesterday or -Nd
    /// (in the config's time zone).
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub from: Option<String>,
    /// Only conversions on or before this day (inclusive); same forms as --from.
    #[arg(long, value_name = "DATE", allow_hyphen_values = true)]
    pub to: Option<String>,
    /// Only conversions in this period: YYYY-MM, YYYY, this-month or last-month.
    #[arg(long, value_name = "PERIOD", conflicts_with_all = ["from", "to"])]
    pub period: Option<String>,
    /// Which conversions to report: online (CRM orders), offline (receipts) or all.
    #[arg(long, value_name = "KIND", default_value = "all")]
    pub conversions: String,
    /// Write every rejected input row (file, line, column, reason, value) to this CSV.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Fail (exit 1) if any input row is rejected.
    #[arg(long)]
    pub strict: bool,
}

/// Model parameters, shared by `report` and `models`.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Position-based shares of first, middle and last touches (e.g. 40,20,40 or 20,20,60).
    #[arg(long, value_name = "F,M,L")]
    pub position_weights: Option<String>,
    /// Half-life of the time-decay model (e.g. 7d).
    #[arg(long, value_name = "DURATION")]
    pub half_life: Option<String>,
    /// ROPO window before an offline purchase (e.g. 2d, 7d).
    #[arg(long, value_name = "DURATION")]
    pub ropo_window: Option<String>,
    /// How the ROPO model shares credit among the touches it finds: last or linear.
    #[arg(long, value_name = "RULE")]
    pub ropo_inner: Option<String>,
    /// Markov chain order, 1 to 4 (states are the last k channels).
    #[arg(long, value_name = "K")]
    pub markov_order: Option<usize>,
    /// Keep consecutive repeats of a channel in Markov chains (they are collapsed by default).
    #[arg(long)]
    pub markov_keep_repeats: bool,
    /// Shapley: most distinct channels per journey valued exactly (most recent kept beyond it).
    #[arg(long, value_name = "N")]
    pub shapley_max_channels: Option<usize>,
    /// Shapley over ordered channel sequences instead of sets.
    #[arg(long)]
    pub shapley_ordered: bool,
}

/// Where and how a command writes its result.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// table, csv, json, parquet or markdown (default: table, or from the --output extension).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Write to this file instead of stdout (atomically). {date}, {from} and {to} in the name
    /// become the run's day and the selected dates (YYYY-MM-DD).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// How long to wait for another run that is writing the same output files.
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub lock_wait: String,
    /// Do not neutralize spreadsheet formulas (=, +, -, @) in CSV and Markdown text cells.
    #[arg(long)]
    pub raw: bool,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub params: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub spec: ReportSpec,
    /// Also write the per-conversion credit table (the data behind every total) to this file.
    #[arg(long, value_name = "FILE")]
    pub credits: Option<PathBuf>,
}

/// What a channel report holds: its models, its rows and its input. Shared by `report` and
/// `snapshot`, which must compute the same thing.
#[derive(Args, Debug)]
pub struct ReportSpec {
    /// Models, comma-separated, or `all`.
    #[arg(long, short, value_name = "MODELS", default_value = "all")]
    pub model: String,
    /// Report rows: channel, source, medium, campaign or source-medium.
    #[arg(long, value_name = "DIMENSION", default_value = "channel")]
    pub by: String,
    #[command(flatten)]
    pub table: PathTableArgs,
}

#[derive(Args, Debug)]
pub struct PathsArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// How many top paths to show on screen.
    #[arg(long, value_name = "N", default_value_t = 15)]
    pub top: usize,
    /// Which section: paths, lengths, lags, roles or cohorts (files carry one; default: paths in
    /// files, all on screen).
    #[arg(long, value_name = "SECTION")]
    pub section: Option<String>,
}

#[derive(Args, Debug)]
pub struct StitchArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Write the customer map (customer, identifier kind, salted hash of the identifier) to this CSV.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// How many of the largest customer groups to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
}

#[derive(Args, Debug)]
pub struct ModelsArgs {
    #[command(flatten)]
    pub params: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Where to write the config.
    #[arg(long, short, value_name = "FILE", default_value = "touchpath.toml")]
    pub output: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// Draft the [[sources]] from sample exports: each file's kind, column mapping, delimiter and
    /// encoding are guessed from its header and values.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub from: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct MarkovArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub params: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub table: PathTableArgs,
    /// Write the transition matrix (from, to, probability, count) to this file.
    #[arg(long, value_name = "FILE")]
    pub transitions: Option<PathBuf>,
}

/// How far numbers may move before `check` and `diff` call it a difference.
#[derive(Args, Debug, Clone)]
pub struct ToleranceArgs {
    /// Relative tolerance per value, e.g. 0.5% (or 0.005).
    #[arg(long, value_name = "REL", default_value = "0%")]
    pub tolerance: String,
    /// Absolute tolerance per value (conversions or revenue), e.g. 0.01.
    #[arg(long, value_name = "ABS", default_value = "1e-9")]
    pub abs_tolerance: String,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The baseline: a report written earlier (CSV, JSON, Parquet) or a `touchpath snapshot` file.
    #[arg(long, value_name = "FILE")]
    pub baseline: PathBuf,
    #[command(flatten)]
    pub tol: ToleranceArgs,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub params: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub table: PathTableArgs,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The earlier report file.
    #[arg(value_name = "BASELINE")]
    pub a: PathBuf,
    /// The later report file.
    #[arg(value_name = "CURRENT")]
    pub b: PathBuf,
    #[command(flatten)]
    pub tol: ToleranceArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub params: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub spec: ReportSpec,
}

#[derive(Args, Debug)]
pub struct ChannelsArgs {
    /// A visit to classify: UTM tags as a query string ("utm_source=yandex&utm_medium=cpc"), a
    /// landing page URL, and/or `referrer=URL`.
    #[arg(long, value_name = "TAGS")]
    pub explain: Option<String>,
    /// Use the demo's config.
    #[arg(long)]
    pub demo: bool,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The file (CSV, gzip CSV or Parquet).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The kind of export (visits, calls, orders, receipts, links, touches, costs), when no source
    /// of the config reads this file; guessed from the columns otherwise.
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Args, Debug)]
pub struct CustomersArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub params: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// An aggregated path table as the input instead of exports.
#[derive(Args, Debug, Clone)]
pub struct PathTableArgs {
    /// Read an aggregated path table (path,conversions,conversion_value,nulls) instead of exports.
    #[arg(long, value_name = "FILE", conflicts_with = "demo")]
    pub paths: Option<PathBuf>,
    /// Channel separator in the --paths table.
    #[arg(long, value_name = "SEP", default_value = ">")]
    pub path_separator: String,
}

impl PathTableArgs {
    /// The table file and its separator, when one was given.
    pub fn source(&self) -> Option<(&std::path::Path, &str)> {
        self.paths.as_deref().map(|f| (f, self.path_separator.as_str()))
    }
}
