//! `touchpath init`: writes a commented config to start from, so that a first real run needs no
//! reading of the docs beyond the comments.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::{Encoding, SourceKind};

use crate::cli::InitArgs;

const TEMPLATE: &str = r#"# touchpath configuration. Paths are relative to this file; ${VAR} reads an environment variable.
# Every canonical field is listed in README.md ("Input formats"). Map your export's column names
# under [sources.columns]; a column that already has the canonical name needs no mapping.

timezone = "Europe/Moscow"        # naive timestamps are read in this zone
default_country = "7"             # calling code for national phone numbers (8 915... -> 7915...)
lookback = "30d"                  # touches this long before a conversion count
reset_after_conversion = true     # a path starts after the customer's previous conversion
max_customers_per_identifier = 20 # an identifier joining more customers is refused (shop phones)
# excluded_statuses = ["отменен", "возврат", "cancelled", "returned"]
# salt = "change-me"              # for hashed identifiers; or set TOUCHPATH_SALT
# currency = "RUB"                # of revenue and ad costs

[models]
position_weights = [40, 20, 40]   # first, middle, last
half_life = "7d"                  # time-decay
ropo_window = "2d"                # research online, purchase offline
ropo_inner = "last"               # or "linear"

[channels]
use_defaults = true               # append the built-in rules after yours
site_domains = ["example.ru"]     # referrers from your own site are not a source
# [[channels.rules]]              # first match wins; patterns are case-insensitive regexes
# channel = "Brand Search"
# source = "^(yandex|google)$"
# medium = "^cpc$"
# campaign = "brand"

[[sources]]
kind = "visits"                   # visits, calls, orders, receipts, links, touches, costs
path = "exports/visits.csv"       # .csv, .csv.gz or .parquet
# delimiter = ";"                 # sniffed when absent
# encoding = "cp1251"             # auto-detected when absent
# timestamp_format = "%d.%m.%Y %H:%M:%S"
[sources.columns]
client_id = "client_id"
started_at = "date_time"
utm_source = "utm_source"
utm_medium = "utm_medium"
utm_campaign = "utm_campaign"
referrer = "referrer"
landing_page = "landing_page"

[[sources]]
kind = "calls"
path = "exports/calls.csv"
[sources.columns]
called_at = "call_time"
caller_phone = "phone"
client_id = "client_id"

[[sources]]
kind = "orders"
path = "exports/orders.csv"
[sources.columns]
order_id = "order_id"
created_at = "created_at"
revenue = "revenue"
status = "status"
client_id = "client_id"
phone = "phone"
email = "email"

[[sources]]
kind = "receipts"
path = "exports/receipts.csv"
[sources.columns]
receipt_id = "receipt_id"
purchased_at = "purchased_at"
amount = "amount"
loyalty_card = "card"
phone = "phone"
order_id = "order_id"
"#;

pub fn run(a: InitArgs) -> Result<()> {
    if a.output.exists() && !a.force {
        bail!(crate::UsageError(format!("{} already exists; use --force to overwrite it", a.output.display())));
    }
    let text = if a.from.is_empty() { TEMPLATE.to_string() } else { draft(&a.output, &a.from)? };
    crate::output::write_atomic(&a.output, text.as_bytes())?;
    eprintln!(
        "wrote {}: point the [[sources]] at your exports and map their columns, then run `touchpath report`.\n\
         The demo's config is a worked example: see testdata/demo/touchpath.toml in the repository.",
        a.output.display()
    );
    Ok(())
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A config drafted from sample files: the template's settings, then one source per file.
fn draft(output: &Path, files: &[PathBuf]) -> Result<String> {
    let head = TEMPLATE.split("\n[[sources]]").next().unwrap_or(TEMPLATE);
    let mut out = String::from(head.trim_end());
    out.push_str("\n\n# Sources drafted by `touchpath init --from` from sample files: check each mapping.\n");
    let base = output.parent().map(Path::to_path_buf).unwrap_or_default();
    let base = std::fs::canonicalize(if base.as_os_str().is_empty() { Path::new(".") } else { &base })?;
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.display().to_string();
        let table = if bytes.starts_with(b"PAR1") {
            crate::io::parquet::load(&name, SourceKind::Visits, &bytes)?
        } else {
            crate::io::csv::load(&name, SourceKind::Visits, &bytes, None, Encoding::Auto)?
        };
        let Some(crate::io::schema::Guess { kind, columns: map, constants }) = crate::io::schema::guess(&table.headers) else {
            bail!(
                "{name}: cannot tell what kind of export this is from its columns ({}); write its [[sources]] by hand (see `touchpath inspect {name}`)",
                table.headers.join(", ")
            );
        };
        let abs = std::fs::canonicalize(file)?;
        let path = abs.strip_prefix(&base).map(Path::to_path_buf).unwrap_or(abs);
        out.push_str(&format!("\n[[sources]]\nkind = \"{kind}\"\npath = {}\n", quote(&path.to_string_lossy())));
        match table.delimiter {
            Some(b'\t') => out.push_str("delimiter = \"\\t\"\n"),
            Some(d) if d != b',' => out.push_str(&format!("delimiter = {}\n", quote(&(d as char).to_string()))),
            _ => {}
        }
        if table.encoding == "windows-1251" {
            out.push_str("encoding = \"cp1251\"\n");
        }
        out.push_str("[sources.columns]\n");
        for (field, i) in &map {
            out.push_str(&format!("{field} = {}\n", quote(&table.headers[*i])));
        }
        let fields = crate::io::schema::fields(kind);
        let missing: Vec<&str> = fields
            .iter()
            .filter(|f| f.required && !map.iter().any(|(n, _)| *n == f.name) && !constants.iter().any(|(n, _)| *n == f.name))
            .map(|f| f.name)
            .collect();
        if !missing.is_empty() {
            out.push_str(&format!("# required, no column found: {} — map them before running a report\n", missing.join(", ")));
        }
        let unused: Vec<String> =
            (0..table.headers.len()).filter(|i| !map.iter().any(|(_, j)| j == i)).map(|i| quote(&table.headers[i])).collect();
        if !unused.is_empty() {
            out.push_str(&format!("# columns not used: {}\n", unused.join(", ")));
        }
        if !constants.is_empty() {
            out.push_str("[sources.constants]\n");
            for (field, value) in &constants {
                out.push_str(&format!("{field} = {}\n", quote(value)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_is_a_valid_config() {
        let dir = tempfile::tempdir().unwrap();
        crate::config::Config::from_toml(super::TEMPLATE, "template", Some(dir.path()), None).unwrap();
    }
}
