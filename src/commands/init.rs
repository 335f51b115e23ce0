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

/// Other names the exports analysts have use for each canonical field (lower case).
const SYNONYMS: &[(&str, &[&str])] = &[
    ("client_id", &["clientid", "ym:s:clientid", "user_pseudo_id", "metrica clientid", "_ym_uid", "ym_uid", "cid", "client id"]),
    ("started_at", &["date_time", "datetime", "ym:s:datetime", "event_timestamp", "visit_time", "дата визита", "время визита"]),
    ("visit_id", &["ym:s:visitid", "visitid", "id визита", "визит"]),
    ("user_id", &["ym:s:userid", "userid"]),
    ("utm_source", &["ym:s:utmsource", "source", "источник"]),
    ("utm_medium", &["ym:s:utmmedium", "medium", "канал"]),
    ("utm_campaign", &["ym:s:utmcampaign", "campaign", "кампания"]),
    ("utm_content", &["ym:s:utmcontent"]),
    ("utm_term", &["ym:s:utmterm"]),
    ("referrer", &["ym:s:referer", "referer", "page_referrer", "реферер"]),
    ("landing_page", &["ym:s:starturl", "page_location", "starturl", "посадочная страница"]),
    ("device", &["ym:s:devicecategory", "device_category"]),
    ("call_id", &["id звонка", "callid", "call id"]),
    ("called_at", &["дата звонка", "дата и время", "call_time", "call_date", "время звонка"]),
    ("caller_phone", &["номер клиента", "номер абонента", "callerphone", "caller_number", "caller phone", "телефон клиента", "phone"]),
    ("duration_s", &["длительность", "длительность разговора", "длительность, сек", "duration"]),
    ("status", &["статус", "статус звонка", "этап сделки", "stage", "статус заказа"]),
    ("is_target", &["целевой", "целевой звонок", "target"]),
    ("order_id", &["номер заказа", "id", "order id", "id сделки", "номер интернет-заказа"]),
    ("created_at", &["дата создания", "created", "дата заказа", "date_created"]),
    ("revenue", &["сумма", "бюджет", "amount", "total", "сумма заказа"]),
    ("phone", &["телефон", "рабочий телефон (контакт)", "телефон покупателя", "phone number", "мобильный телефон"]),
    ("email", &["e-mail", "рабочий email (контакт)", "почта", "email (контакт)"]),
    ("crm_customer_id", &["id клиента", "id контакта", "customer_id", "contact_id"]),
    ("order_channel", &["канал заказа", "источник сделки"]),
    ("receipt_id", &["номер чека", "чек", "receipt", "check_id"]),
    ("purchased_at", &["дата чека", "дата", "date"]),
    ("amount", &["сумма документа", "сумма", "revenue", "total"]),
    ("store_id", &["магазин", "store"]),
    ("loyalty_card", &["карта лояльности", "дисконтная карта", "card", "номер карты"]),
    ("cost", &["расход", "стоимость", "spend"]),
    ("date", &["дата", "day"]),
    ("occurred_at", &["sent_at", "дата отправки", "timestamp"]),
];

/// The column of `table` that feeds `field`: its canonical name, or a known synonym.
fn find_column(headers: &[String], field: &str, taken: &[usize]) -> Option<usize> {
    let free = |i: &usize| !taken.contains(i);
    let lower: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    if let Some(i) = (0..headers.len()).filter(free).find(|&i| lower[i] == field) {
        return Some(i);
    }
    let names = SYNONYMS.iter().find(|(f, _)| *f == field).map_or(&[][..], |(_, n)| *n);
    names.iter().find_map(|n| (0..headers.len()).filter(free).find(|&i| lower[i] == *n))
}

/// Canonical fields and the header columns they were found in.
type Found = Vec<(&'static str, usize)>;

/// The best kind for a file and its mapping (field, column index), by how many required and
/// optional fields its columns name.
fn guess(headers: &[String]) -> Option<(SourceKind, Found)> {
    let mut best: Option<((bool, usize, usize), SourceKind, Found)> = None;
    for kind in SourceKind::ALL {
        let mut taken = Vec::new();
        let mut map = Vec::new();
        // Required fields pick first, so an optional field never steals their column.
        let fields = crate::io::schema::fields(kind);
        for f in fields.iter().filter(|f| f.required).chain(fields.iter().filter(|f| !f.required)) {
            if let Some(i) = find_column(headers, f.name, &taken) {
                taken.push(i);
                map.push((f.name, i));
            }
        }
        let req = fields.iter().filter(|f| f.required).count();
        let hit = fields.iter().filter(|f| f.required && map.iter().any(|(n, _)| *n == f.name)).count();
        let score = (hit == req, hit, map.len());
        if hit > 0 && best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, kind, map));
        }
    }
    best.map(|(_, k, m)| (k, m))
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
        let Some((kind, map)) = guess(&table.headers) else {
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
        let missing: Vec<&str> = fields.iter().filter(|f| f.required && !map.iter().any(|(n, _)| *n == f.name)).map(|f| f.name).collect();
        if !missing.is_empty() {
            out.push_str(&format!("# required, no column found: {} — map them before running a report\n", missing.join(", ")));
        }
        let unused: Vec<String> =
            (0..table.headers.len()).filter(|i| !map.iter().any(|(_, j)| j == i)).map(|i| quote(&table.headers[i])).collect();
        if !unused.is_empty() {
            out.push_str(&format!("# columns not used: {}\n", unused.join(", ")));
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
