//! The validated run configuration: everything below the CLI boundary reads this, never clap types.
//!
//! A config comes from `touchpath.toml` (or `--config`, or `TOUCHPATH_CONFIG`), from the demo
//! config compiled into the binary, and from command-line overrides, in that order.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::UsageError;

/// What an input file holds; decides which canonical fields it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourceKind {
    Visits,
    Calls,
    Orders,
    Receipts,
    Links,
    Touches,
    Costs,
}

impl SourceKind {
    pub const ALL: [SourceKind; 7] = [
        SourceKind::Visits,
        SourceKind::Calls,
        SourceKind::Orders,
        SourceKind::Receipts,
        SourceKind::Links,
        SourceKind::Touches,
        SourceKind::Costs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Visits => "visits",
            SourceKind::Calls => "calls",
            SourceKind::Orders => "orders",
            SourceKind::Receipts => "receipts",
            SourceKind::Links => "links",
            SourceKind::Touches => "touches",
            SourceKind::Costs => "costs",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A time span such as `30d`, `12h`, `90m`, kept in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub i64);

impl Duration {
    pub fn parse(s: &str) -> Result<Duration> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: i64 = num.parse().map_err(|_| anyhow!("`{s}` is not a duration: use a number and a unit, e.g. 30d, 2d, 12h, 90m"))?;
        let mult = match unit.trim() {
            "d" => 86_400,
            "h" => 3_600,
            "m" => 60,
            "s" => 1,
            "w" => 7 * 86_400,
            other => bail!("`{s}`: unknown duration unit `{other}` (use d, h, m, s or w)"),
        };
        n.checked_mul(mult).map(Duration).ok_or_else(|| anyhow!("`{s}` is too long a duration"))
    }

    pub fn seconds(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s % 86_400 == 0 {
            write!(f, "{}d", s / 86_400)
        } else if s % 3_600 == 0 {
            write!(f, "{}h", s / 3_600)
        } else if s % 60 == 0 {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

/// Text encoding of a CSV input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 when the bytes are valid UTF-8, Windows-1251 otherwise.
    Auto,
    Utf8,
    Cp1251,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Parquet,
}

/// Where a source's bytes come from: a file, or an export compiled into the binary (`--demo`).
#[derive(Clone, Debug)]
pub enum Location {
    File(PathBuf),
    Embedded { name: &'static str, bytes: &'static [u8] },
}

impl Location {
    /// The name shown in messages: the path as configured, or the demo file's name.
    pub fn display_name(&self) -> String {
        match self {
            Location::File(p) => p.display().to_string(),
            Location::Embedded { name, .. } => format!("demo/{name}"),
        }
    }
}

/// One input file and how to read it.
#[derive(Clone, Debug)]
pub struct SourceSpec {
    pub kind: SourceKind,
    pub location: Location,
    /// The path as written in the config: the same on every machine, for snapshots.
    pub path: String,
    pub format: FileFormat,
    /// `None`: sniffed from the file.
    pub delimiter: Option<u8>,
    pub encoding: Encoding,
    /// A chrono format string; `None`: every supported format is recognised per value.
    pub timestamp_format: Option<String>,
    /// Zone in which naive timestamps of this file are read.
    pub timezone: Tz,
    /// Canonical field → the file's column name.
    pub columns: BTreeMap<String, String>,
    /// Canonical field → a value used for every row (e.g. `kind_a = "email"` for links).
    pub constants: BTreeMap<String, String>,
}

/// Inner rule of the ROPO model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopoInner {
    Last,
    Linear,
}

impl RopoInner {
    pub fn parse(s: &str) -> Result<RopoInner> {
        match s.trim() {
            "last" => Ok(RopoInner::Last),
            "linear" => Ok(RopoInner::Linear),
            other => bail!("`{other}` is not a ROPO inner rule (use `last` or `linear`)"),
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            RopoInner::Last => "last",
            RopoInner::Linear => "linear",
        }
    }
}

/// Parameters of the attribution models.
#[derive(Clone, Debug)]
pub struct ModelParams {
    /// First, middle, last shares of the position-based model; they sum to 1.
    pub position_weights: [f64; 3],
    pub half_life: Duration,
    pub ropo_window: Duration,
    pub ropo_inner: RopoInner,
    /// Markov chain order: states are the last k channels.
    pub markov_order: usize,
    /// Collapse consecutive repeats of a channel before building Markov chains.
    pub markov_collapse: bool,
    /// Shapley: distinct channels per journey computed exactly (the most recent kept beyond it).
    pub shapley_max_channels: usize,
    /// Shapley over ordered sequences instead of sets.
    pub shapley_ordered: bool,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            position_weights: [0.4, 0.2, 0.4],
            half_life: Duration(7 * 86_400),
            ropo_window: Duration(2 * 86_400),
            ropo_inner: RopoInner::Last,
            markov_order: 1,
            markov_collapse: true,
            shapley_max_channels: 12,
            shapley_ordered: false,
        }
    }
}

impl ModelParams {
    /// Reads `40,20,40` (percentages or fractions; normalised to sum to 1).
    pub fn parse_position_weights(s: &str) -> Result<[f64; 3]> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.len() != 3 {
            bail!("position weights `{s}`: give three numbers, first,middle,last (e.g. 40,20,40)");
        }
        let mut w = [0.0; 3];
        for (slot, p) in w.iter_mut().zip(&parts) {
            let v: f64 = p.parse().map_err(|_| anyhow!("position weights `{s}`: `{p}` is not a number"))?;
            if !v.is_finite() || v < 0.0 {
                bail!("position weights `{s}`: `{p}` must be a non-negative number");
            }
            *slot = v;
        }
        normalize_weights(w).ok_or_else(|| anyhow!("position weights `{s}`: first and last cannot both be 0"))
    }
}

impl ModelParams {
    pub fn check_markov_order(k: usize) -> Result<usize> {
        if (1..=4).contains(&k) {
            Ok(k)
        } else {
            bail!("Markov order {k} is out of range: use 1 to 4")
        }
    }

    pub fn check_shapley_max(n: usize) -> Result<usize> {
        if (1..=20).contains(&n) {
            Ok(n)
        } else {
            bail!("{n} channels per journey is out of range for exact Shapley values: use 1 to 20")
        }
    }
}

fn normalize_weights(w: [f64; 3]) -> Option<[f64; 3]> {
    let sum: f64 = w.iter().sum();
    if w[0] + w[2] <= 0.0 || sum <= 0.0 {
        return None;
    }
    Some([w[0] / sum, w[1] / sum, w[2] / sum])
}

/// An ordered channel rule: the first rule whose every given pattern matches names the channel.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRuleSpec {
    pub channel: String,
    pub source: Option<String>,
    pub medium: Option<String>,
    pub campaign: Option<String>,
    pub referrer: Option<String>,
}

/// The whole validated configuration of one run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where the config came from, for messages.
    pub origin: String,
    /// Zone of naive timestamps and of dates given on the command line.
    pub timezone: Tz,
    pub sources: Vec<SourceSpec>,
    pub default_country: String,
    pub lookback: Duration,
    pub reset_after_conversion: bool,
    pub max_customers_per_identifier: usize,
    pub excluded_statuses: Vec<String>,
    pub salt: String,
    pub channel_rules: Vec<ChannelRuleSpec>,
    pub use_default_channel_rules: bool,
    pub site_domains: Vec<String>,
    pub models: ModelParams,
    /// The config's text after `${VAR}` expansion, for the fingerprint in snapshots.
    pub text: String,
    /// Currency of revenue and costs, shown in reports; cost rows in another currency are rejected.
    pub currency: String,
    /// Bytes of memory a run may plan to use; `None`: what the system reports as available.
    pub memory_limit: Option<u64>,
}

/// `512M`, `4G`, `1.5G`, `800K` or a number of bytes.
pub fn parse_bytes(s: &str) -> Result<u64> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let mult = match t[i..].to_ascii_uppercase().trim_end_matches(['B', 'I']) {
                "" => 1u64,
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                "T" => 1 << 40,
                other => bail!("`{s}`: unknown unit `{other}` (use K, M, G or T)"),
            };
            (&t[..i], mult)
        }
        None => (t, 1),
    };
    let v: f64 = num.trim().parse().map_err(|_| anyhow!("`{s}` is not a size such as 512M or 4G"))?;
    if !v.is_finite() || v <= 0.0 {
        bail!("`{s}` must be a positive size");
    }
    Ok((v * mult as f64) as u64)
}

/// Order statuses that are not purchases, matched as prefixes of the folded status (lower case,
/// ё as е). The last two are amoCRM's and Bitrix24's lost-deal stages.
pub const DEFAULT_EXCLUDED_STATUSES: &[&str] = &[
    "отменен",
    "отмена",
    "возврат",
    "аннулирован",
    "cancelled",
    "canceled",
    "returned",
    "refunded",
    "refund",
    "void",
    "закрыто и не реализовано",
    "сделка провалена",
];

// ---------------------------------------------------------------------------------------------
// The file format. Kept separate from `Config` so that serde types never leak past this module.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    timezone: Option<String>,
    default_country: Option<String>,
    lookback: Option<String>,
    reset_after_conversion: Option<bool>,
    max_customers_per_identifier: Option<usize>,
    excluded_statuses: Option<Vec<String>>,
    salt: Option<String>,
    currency: Option<String>,
    memory_limit: Option<String>,
    #[serde(default)]
    models: FileModels,
    #[serde(default)]
    channels: FileChannels,
    #[serde(default)]
    sources: Vec<FileSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModels {
    position_weights: Option<Vec<f64>>,
    half_life: Option<String>,
    ropo_window: Option<String>,
    ropo_inner: Option<String>,
    markov_order: Option<usize>,
    markov_collapse_repeats: Option<bool>,
    shapley_max_channels: Option<usize>,
    shapley_ordered: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileChannels {
    use_defaults: Option<bool>,
    site_domains: Option<Vec<String>>,
    #[serde(default)]
    rules: Vec<ChannelRuleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSource {
    kind: String,
    path: String,
    format: Option<String>,
    delimiter: Option<String>,
    encoding: Option<String>,
    timestamp_format: Option<String>,
    timezone: Option<String>,
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    constants: BTreeMap<String, String>,
}

/// Replaces `${VAR}` with the variable's value; an unset variable is an error naming it.
fn expand_env(text: &str, origin: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
        } else {
            out.push_str(&expand_line(line, origin)?);
        }
    }
    Ok(out)
}

fn expand_line(text: &str, origin: &str) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| anyhow!("{origin}: `${{` without a closing `}}`"))?;
        let name = &after[..end];
        let value =
            std::env::var(name).map_err(|_| anyhow!("{origin}: environment variable `{name}` (used as `${{{name}}}`) is not set"))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_tz(name: &str, key: &str) -> Result<Tz> {
    name.trim().parse::<Tz>().map_err(|_| anyhow!("`{key} = \"{name}\"` is not a time zone name (e.g. Europe/Moscow, UTC)"))
}

fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "\\t" | "\t" | "tab" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => bail!("delimiter `{s}` must be a single character (or `tab`)"),
    }
}

/// Where a source path names a file: relative paths are read from the config file's folder.
fn resolve(base: Option<&Path>, p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    match base {
        Some(b) if path.is_relative() => b.join(path),
        _ => path,
    }
}

/// The bytes of a source built into the binary, by its path (the demo's exports).
pub type Embedded<'a> = &'a dyn Fn(&str) -> Option<&'static [u8]>;

impl Config {
    /// Parses and validates config text. `base` is the folder relative paths are read from;
    /// `embedded` supplies the bytes of sources for the demo config.
    pub fn from_toml(text: &str, origin: &str, base: Option<&Path>, embedded: Option<Embedded>) -> Result<Config> {
        let text = expand_env(text, origin)?;
        let file: FileConfig = toml::from_str(&text).map_err(|e| {
            let msg = e.message().to_string();
            // For an unknown key the span covers its whole table, so find the key's own line.
            let unknown_key = msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next());
            let key_line = unknown_key.and_then(|k| {
                text.lines().position(|l| {
                    let l = l.trim_start();
                    l.strip_prefix(k).is_some_and(|rest| rest.trim_start().starts_with('='))
                })
            });
            let line = key_line.map(|l| l + 1).or_else(|| e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1)));
            match line {
                Some(l) => anyhow!("{origin}, line {l}: {msg}"),
                None => anyhow!("{origin}: {msg}"),
            }
        })?;
        let ctx = |key: &str| format!("{origin}: key `{key}`");

        let timezone = parse_tz(file.timezone.as_deref().unwrap_or("UTC"), "timezone").with_context(|| ctx("timezone"))?;
        let mut sources = Vec::new();
        for (i, s) in file.sources.iter().enumerate() {
            let key = format!("sources[{}]", i + 1);
            let kind = SourceKind::parse(s.kind.trim()).ok_or_else(|| {
                anyhow!(
                    "{origin}: `{key}.kind = \"{}\"` is not a source kind (use one of: {})",
                    s.kind,
                    SourceKind::ALL.map(|k| k.name()).join(", ")
                )
            })?;
            let location = match embedded {
                Some(lookup) => {
                    let bytes = lookup(&s.path).ok_or_else(|| anyhow!("{origin}: no embedded file `{}`", s.path))?;
                    // The demo table outlives the config, so the name can be leaked once per run.
                    let name: &'static str = Box::leak(s.path.clone().into_boxed_str());
                    Location::Embedded { name, bytes }
                }
                None => Location::File(resolve(base, &s.path)),
            };
            let lower = s.path.to_ascii_lowercase();
            let format = match s.format.as_deref().map(str::trim) {
                Some("csv") => FileFormat::Csv,
                Some("parquet") => FileFormat::Parquet,
                Some(other) => bail!("{origin}: `{key}.format = \"{other}\"`: use csv or parquet"),
                None if lower.ends_with(".parquet") || lower.ends_with(".pq") => FileFormat::Parquet,
                None => FileFormat::Csv,
            };
            let delimiter = match s.delimiter.as_deref() {
                None | Some("auto") => None,
                Some(d) => Some(parse_delimiter(d).with_context(|| ctx(&format!("{key}.delimiter")))?),
            };
            let encoding = match s.encoding.as_deref().map(|e| e.trim().to_ascii_lowercase()) {
                None => Encoding::Auto,
                Some(e) => match e.as_str() {
                    "auto" => Encoding::Auto,
                    "utf-8" | "utf8" => Encoding::Utf8,
                    "cp1251" | "windows-1251" | "win1251" => Encoding::Cp1251,
                    other => {
                        bail!("{origin}: `{key}.encoding = \"{other}\"`: use auto, utf-8 or cp1251")
                    }
                },
            };
            let tz = match &s.timezone {
                Some(t) => parse_tz(t, &format!("{key}.timezone"))?,
                None => timezone,
            };
            for field in s.columns.keys().chain(s.constants.keys()) {
                if !crate::io::schema::is_field(kind, field) {
                    bail!(
                        "{origin}: `{key}` ({kind}): `{field}` is not a field of {kind} inputs (fields: {})",
                        crate::io::schema::fields(kind).iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                    );
                }
            }
            sources.push(SourceSpec {
                kind,
                location,
                path: s.path.clone(),
                format,
                delimiter,
                encoding,
                timestamp_format: s.timestamp_format.clone().filter(|f| !f.trim().is_empty()),
                timezone: tz,
                columns: s.columns.clone(),
                constants: s.constants.clone(),
            });
        }

        let mut models = ModelParams::default();
        if let Some(w) = &file.models.position_weights {
            if w.len() != 3 || w.iter().any(|x| !x.is_finite() || *x < 0.0) {
                bail!("{origin}: `models.position_weights` must be three non-negative numbers, e.g. [40, 20, 40]");
            }
            models.position_weights = normalize_weights([w[0], w[1], w[2]])
                .ok_or_else(|| anyhow!("{origin}: `models.position_weights`: first and last cannot both be 0"))?;
        }
        if let Some(h) = &file.models.half_life {
            models.half_life = Duration::parse(h).with_context(|| ctx("models.half_life"))?;
        }
        if let Some(w) = &file.models.ropo_window {
            models.ropo_window = Duration::parse(w).with_context(|| ctx("models.ropo_window"))?;
        }
        if let Some(r) = &file.models.ropo_inner {
            models.ropo_inner = RopoInner::parse(r).with_context(|| ctx("models.ropo_inner"))?;
        }
        if let Some(k) = file.models.markov_order {
            models.markov_order = ModelParams::check_markov_order(k).with_context(|| ctx("models.markov_order"))?;
        }
        if let Some(c) = file.models.markov_collapse_repeats {
            models.markov_collapse = c;
        }
        if let Some(n) = file.models.shapley_max_channels {
            models.shapley_max_channels = ModelParams::check_shapley_max(n).with_context(|| ctx("models.shapley_max_channels"))?;
        }
        if let Some(o) = file.models.shapley_ordered {
            models.shapley_ordered = o;
        }

        let cfg = Config {
            origin: origin.to_string(),
            timezone,
            sources,
            default_country: file.default_country.unwrap_or_else(|| "7".into()),
            lookback: match &file.lookback {
                Some(l) => Duration::parse(l).with_context(|| ctx("lookback"))?,
                None => Duration(30 * 86_400),
            },
            reset_after_conversion: file.reset_after_conversion.unwrap_or(true),
            max_customers_per_identifier: file.max_customers_per_identifier.unwrap_or(20),
            excluded_statuses: file.excluded_statuses.unwrap_or_else(|| DEFAULT_EXCLUDED_STATUSES.iter().map(|s| s.to_string()).collect()),
            salt: file.salt.or_else(|| std::env::var("TOUCHPATH_SALT").ok()).unwrap_or_default(),
            channel_rules: file.channels.rules,
            use_default_channel_rules: file.channels.use_defaults.unwrap_or(true),
            site_domains: file.channels.site_domains.unwrap_or_default(),
            models,
            text: text.clone(),
            currency: file.currency.map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).unwrap_or_else(|| "RUB".into()),
            memory_limit: file.memory_limit.as_deref().map(parse_bytes).transpose().with_context(|| ctx("memory_limit"))?,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<()> {
        if !self.default_country.chars().all(|c| c.is_ascii_digit()) || self.default_country.is_empty() {
            bail!("{}: `default_country = \"{}\"` must be a calling code in digits, e.g. \"7\"", self.origin, self.default_country);
        }
        if self.lookback.seconds() <= 0 {
            bail!("{}: `lookback` must be longer than zero", self.origin);
        }
        if self.models.half_life.seconds() <= 0 {
            bail!("{}: `models.half_life` must be longer than zero", self.origin);
        }
        if self.max_customers_per_identifier < 2 {
            bail!("{}: `max_customers_per_identifier` must be at least 2", self.origin);
        }
        if self.channel_rules.is_empty() && !self.use_default_channel_rules {
            bail!("{}: `channels.use_defaults = false` needs at least one `[[channels.rules]]`", self.origin);
        }
        if !self.sources.iter().any(|s| matches!(s.kind, SourceKind::Orders | SourceKind::Receipts)) && !self.sources.is_empty() {
            bail!("{}: no `orders` or `receipts` source: there is nothing to attribute", self.origin);
        }
        Ok(())
    }

    /// Finds and reads the config: `--config`, then `TOUCHPATH_CONFIG`, then `./touchpath.toml`.
    pub fn locate(explicit: Option<&Path>) -> Result<Config> {
        let from_env = std::env::var_os("TOUCHPATH_CONFIG").map(PathBuf::from);
        let path = match explicit.map(Path::to_path_buf).or(from_env) {
            Some(p) => p,
            None => {
                let p = PathBuf::from("touchpath.toml");
                if !p.exists() {
                    return Err(UsageError(
                        "no touchpath.toml here. Run `touchpath init` to write one next to your exports, \
                         or add `--demo` to run on the bundled demo data."
                            .into(),
                    )
                    .into());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::Error::from(UsageError(format!(
                    "config file {} does not exist. Run `touchpath init` to write one, or add `--demo` to run on the bundled demo data.",
                    path.display()
                )))
            } else {
                anyhow!("reading config {}: {e}", path.display())
            }
        })?;
        let base = path.parent().map(Path::to_path_buf);
        Config::from_toml(&text, &path.display().to_string(), base.as_deref(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(Duration::parse("30d").unwrap().seconds(), 30 * 86_400);
        assert_eq!(Duration::parse("12h").unwrap().seconds(), 12 * 3_600);
        assert_eq!(Duration::parse("90m").unwrap().seconds(), 90 * 60);
        assert!(Duration::parse("3x").is_err());
        assert!(Duration::parse("d").is_err());
        assert_eq!(Duration(2 * 86_400).to_string(), "2d");
        assert_eq!(Duration(90 * 60).to_string(), "90m");
    }

    #[test]
    fn position_weights_are_normalized() {
        let w = ModelParams::parse_position_weights("20,20,60").unwrap();
        assert!((w[0] - 0.2).abs() < 1e-12 && (w[2] - 0.6).abs() < 1e-12);
        let w = ModelParams::parse_position_weights("0.4, 0.2, 0.4").unwrap();
        assert!((w[1] - 0.2).abs() < 1e-12);
        assert!(ModelParams::parse_position_weights("40,20").is_err());
        assert!(ModelParams::parse_position_weights("0,100,0").is_err());
    }

    #[test]
    fn config_errors_name_key_and_line() {
        let err = Config::from_toml("lookback = \"30d\"\nbogus = 1\n", "t.toml", None, None).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("line 2") && msg.contains("bogus"), "{msg}");
        let err = Config::from_toml("lookback = \"30x\"\n", "t.toml", None, None).unwrap_err();
        assert!(format!("{err:#}").contains("lookback"));
    }

    #[test]
    fn env_expansion() {
        std::env::set_var("TOUCHPATH_TEST_DIR", "/data");
        assert_eq!(expand_env("a ${TOUCHPATH_TEST_DIR}/x", "t").unwrap(), "a /data/x");
        assert!(expand_env("${TOUCHPATH_SURELY_UNSET_VAR}", "t").is_err());
    }
}
