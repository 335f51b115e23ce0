//! `touchpath init`: writes a commented config to start from, so that a first real run needs no
//! reading of the docs beyond the comments.

use anyhow::{bail, Result};

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
kind = "visits"                   # visits, calls, orders, receipts, links, touches
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
    crate::output::write_atomic(&a.output, TEMPLATE.as_bytes())?;
    eprintln!(
        "wrote {}: point the [[sources]] at your exports and map their columns, then run `touchpath report`.\n\
         The demo's config is a worked example: see testdata/demo/touchpath.toml in the repository.",
        a.output.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_is_a_valid_config() {
        let dir = tempfile::tempdir().unwrap();
        crate::config::Config::from_toml(super::TEMPLATE, "template", Some(dir.path()), None).unwrap();
    }
}
