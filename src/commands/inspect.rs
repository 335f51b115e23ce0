//! `touchpath inspect FILE`: what the tool sees in an export before a report is run on it — the
//! format, encoding and delimiter it detects, each column's guessed type and sample values, and
//! the canonical field each column maps to under the current config. Phones and emails among the
//! samples are shown as salted hashes, like everywhere else.

use std::path::Path;

use anyhow::{Context, Result};

use super::{emit, format, table_config, usage};
use crate::cli::InspectArgs;
use crate::config::{Config, Encoding, SourceKind, SourceSpec};
use crate::io::schema;
use crate::normalize::{time, value};
use crate::output::{Cell, Column, Style, Table};

/// Values looked at per column to guess its type.
const SCAN: usize = 2_000;

pub fn run(cfg_path: Option<&Path>, a: InspectArgs) -> Result<()> {
    let fmt = format(&a.out)?;
    let cfg = table_config(cfg_path)?;
    let spec = source_of(&cfg, &a.file);
    let kind = match (&a.kind, spec) {
        (Some(k), _) => Some(
            SourceKind::parse(k.trim())
                .ok_or_else(|| usage(format!("--kind `{k}`: use visits, calls, orders, receipts, links, touches or costs")))?,
        ),
        (None, Some(s)) => Some(s.kind),
        (None, None) => None,
    };
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let name = a.file.display().to_string();
    let parquet = bytes.starts_with(b"PAR1");
    let gzip = bytes.starts_with(&[0x1f, 0x8b]);
    let table = if parquet {
        crate::io::parquet::load(&name, kind.unwrap_or(SourceKind::Visits), &bytes)?
    } else {
        let (delimiter, encoding) = spec.map_or((None, Encoding::Auto), |s| (s.delimiter, s.encoding));
        crate::io::csv::load(&name, kind.unwrap_or(SourceKind::Visits), &bytes, delimiter, encoding)?
    };
    // A file no source reads is matched as `init --from` would draft it: names and synonyms.
    let guessed = if kind.is_none() { schema::guess(&table.headers) } else { None };
    let kind = kind.or(guessed.as_ref().map(|g| g.kind));
    let by_name = match (&guessed, kind) {
        (Some(g), _) => g.columns.clone(),
        (None, Some(k)) if spec.is_none() => schema::map_columns(k, &table.headers),
        _ => Vec::new(),
    };
    let constants = guessed.as_ref().map_or(&[][..], |g| &g.constants[..]);
    let format_name = if parquet {
        "Parquet"
    } else if gzip {
        "CSV (gzip)"
    } else {
        "CSV"
    };
    let delimiter = match table.delimiter {
        Some(b'\t') => "tab".to_string(),
        Some(d) => format!("`{}`", d as char),
        None => "—".to_string(),
    };
    let mapped_by = match (spec, kind) {
        (Some(_), _) => format!("mapped by {}", cfg.origin),
        (None, Some(k)) => format!("no source of the config reads it: matched by name as {k}"),
        (None, None) => "kind unknown: give --kind".to_string(),
    };
    let mut t = Table::new(
        &format!(
            "{name}: {format_name}, encoding {}, delimiter {delimiter}, {} rows ({} unreadable), kind {} ({mapped_by})",
            table.encoding,
            table.rows_read(),
            table.rejects().count(),
            kind.map_or("?", SourceKind::name),
        ),
        vec![
            Column::new("column", Style::Text),
            Column::new("type", Style::Text),
            Column::new("filled", Style::Percent),
            Column::new("samples", Style::Text),
            Column::new("maps to", Style::Text),
        ],
    );
    for (i, header) in table.headers.iter().enumerate() {
        let values: Vec<&str> = table.column(i).filter_map(|v| value::clean(Some(v))).take(SCAN).collect();
        let filled = if table.height() > 0 {
            Cell::Num(table.column(i).filter(|v| value::clean(Some(v)).is_some()).count() as f64 / table.height() as f64)
        } else {
            Cell::Missing
        };
        let guess = guess_type(&values);
        let mut samples: Vec<String> = Vec::new();
        for v in &values {
            let shown = crate::identity::scrub(v, &cfg.salt).into_owned();
            let shown = if guess == "email" || guess == "phone" { format!("#{}", crate::identity::hash_id(&cfg.salt, v)) } else { shown };
            if !samples.contains(&shown) {
                samples.push(crate::io::csv::truncate(&shown, 40));
            }
            if samples.len() == 3 {
                break;
            }
        }
        t.rows.push(vec![
            Cell::Text(header.clone()),
            Cell::Text(guess.to_string()),
            filled,
            Cell::Text(samples.join(" | ")),
            Cell::Text(with_kind(maps_to(i, header, kind, spec, &by_name), constants)),
        ]);
    }
    if let Some(k) = kind {
        let missing: Vec<&str> = schema::fields(k)
            .iter()
            // A field the config gives a constant (`[sources.constants]`) needs no column.
            .filter(|f| f.required && !spec.is_some_and(|s| s.constants.contains_key(f.name)))
            .filter(|f| !constants.iter().any(|(n, _)| *n == f.name))
            .filter(|f| !table.headers.iter().enumerate().any(|(i, h)| maps_to(i, h, Some(k), spec, &by_name) == f.name))
            .map(|f| f.name)
            .collect();
        if !missing.is_empty() {
            t.title.push_str(&format!("; required fields without a column: {}", missing.join(", ")));
        }
    }
    emit(&[t], fmt, &a.out)
}

/// A guessed links file's identifier column, with the kind it is drafted with (`id_a` with
/// `kind_a`).
fn with_kind(field: String, constants: &[(&str, &str)]) -> String {
    let kind = field.strip_prefix("id_").and_then(|side| constants.iter().find(|(n, _)| n.strip_prefix("kind_") == Some(side)));
    match kind {
        Some((name, value)) => format!("{field} ({name} = {value})"),
        None => field,
    }
}

/// The config's source reading this file, if any.
fn source_of<'a>(cfg: &'a Config, file: &Path) -> Option<&'a SourceSpec> {
    let want = std::fs::canonicalize(file).ok()?;
    cfg.sources.iter().find(|s| match &s.location {
        crate::config::Location::File(p) => std::fs::canonicalize(p).ok().as_ref() == Some(&want),
        crate::config::Location::Embedded { .. } => false,
    })
}

/// The canonical field column `i` feeds: by the source's mapping, else by its own name; for a
/// file no source reads, as matched by name and synonym (`by_name`).
fn maps_to(i: usize, header: &str, kind: Option<SourceKind>, spec: Option<&SourceSpec>, by_name: &schema::Found) -> String {
    let Some(kind) = kind else {
        return String::new();
    };
    let Some(s) = spec else {
        return by_name.iter().find(|(_, j)| *j == i).map(|(f, _)| f.to_string()).unwrap_or_default();
    };
    if let Some((field, _)) = s.columns.iter().find(|(_, col)| col.as_str() == header) {
        return field.clone();
    }
    // A canonical name that the mapping points elsewhere does not feed that field.
    if s.columns.contains_key(header) {
        return String::new();
    }
    schema::fields(kind).iter().find(|f| f.name.eq_ignore_ascii_case(header)).map(|f| f.name.to_string()).unwrap_or_default()
}

/// The narrowest type that 95% of the scanned values fit; the rest are counted, since exports
/// carry the odd broken value and the tool rejects those rows rather than the column.
fn guess_type(values: &[&str]) -> String {
    if values.is_empty() {
        return "empty".into();
    }
    let is_email = |v: &str| v.contains('@') && value::email(v).is_some();
    let is_int = |v: &str| v.parse::<i64>().is_ok();
    // Seconds or milliseconds from 2000 to 2031: in-store card numbers (EAN-13 from 2000000000000)
    // read as milliseconds would be later.
    const UNIX: std::ops::RangeInclusive<i64> = 946_684_800..=1_956_528_000;
    let is_unix = |v: &str| v.parse::<i64>().is_ok_and(|x| UNIX.contains(&x) || x >= 1_000_000_000_000 && UNIX.contains(&(x / 1000)));
    // Bare digits are a phone only as 8/7 and ten more digits (a Unix time has ten); anything
    // with a `+` or separators is one when it reads as a number of 10 to 15 digits.
    let is_phone = |v: &str| {
        let digits = v.bytes().filter(u8::is_ascii_digit).count();
        let bare = v.bytes().all(|b| b.is_ascii_digit());
        v.bytes().all(|b| b.is_ascii_digit() || b" +-()".contains(&b))
            && (10..=15).contains(&digits)
            && (!bare || (digits == 11 && (v.starts_with('7') || v.starts_with('8'))))
            && value::phone(v, "7").is_some()
    };
    let is_number = |v: &str| value::number(v).is_some();
    let is_time = |v: &str| time::parse_auto(v).is_some();
    let is_url = |v: &str| v.starts_with("http://") || v.starts_with("https://");
    type Test<'t> = &'t dyn Fn(&str) -> bool;
    let candidates: [(Test, &str); 7] = [
        (&is_email, "email"),
        (&is_phone, "phone"),
        (&is_unix, "integer (Unix time?)"),
        (&is_int, "integer"),
        (&is_number, "decimal"),
        (&is_time, "date-time"),
        (&is_url, "URL"),
    ];
    for (fits, name) in candidates {
        let n = values.iter().filter(|v| fits(v)).count();
        if n * 100 >= values.len() * 95 {
            let mut label = match name {
                "decimal" if values.iter().any(|v| v.contains(',')) => "decimal (comma)".to_string(),
                "date-time" => format!("date-time ({})", date_pattern(values.iter().find(|v| fits(v)).unwrap_or(&values[0]))),
                other => other.to_string(),
            };
            if n < values.len() {
                label.push_str(&format!(", {} value(s) do not fit", values.len() - n));
            }
            return label;
        }
    }
    "text".into()
}

fn date_pattern(v: &str) -> &'static str {
    let b = v.as_bytes();
    match (b.get(2), b.get(4), v.len()) {
        (Some(b'.'), _, 10) => "dd.mm.yyyy",
        (Some(b'.'), _, 16) => "dd.mm.yyyy HH:MM",
        (Some(b'.'), _, 19) => "dd.mm.yyyy HH:MM:SS",
        (Some(b'.'), _, 8) => "dd.mm.yy",
        (_, Some(b'-'), _) if v.contains('T') && (v.ends_with('Z') || v[10..].contains(['+', '-'])) => "ISO 8601 with offset",
        (_, Some(b'-'), 10) => "yyyy-mm-dd",
        (_, Some(b'-'), _) => "ISO 8601",
        _ => "recognised",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_guessed_from_values() {
        assert_eq!(guess_type(&["1", "22"]), "integer");
        assert_eq!(guess_type(&["89151234567", "79161234567"]), "phone");
        assert_eq!(guess_type(&["+7 (915) 123-45-67", "8 915 123 45 67"]), "phone");
        assert_eq!(guess_type(&["1 000,50", "250"]), "decimal (comma)");
        assert_eq!(guess_type(&["01.09.2026 10:00:00"]), "date-time (dd.mm.yyyy HH:MM:SS)");
        assert_eq!(guess_type(&["2026-09-01T10:00:00+03:00"]), "date-time (ISO 8601 with offset)");
        assert_eq!(guess_type(&["ann@mail.ru"]), "email");
        assert_eq!(guess_type(&["https://shop.test/"]), "URL");
        assert_eq!(guess_type(&["yandex", "google"]), "text");
        assert_eq!(guess_type(&[]), "empty");
        assert_eq!(guess_type(&["1790000000", "1790000000123"]), "integer (Unix time?)");
        assert_eq!(guess_type(&["2000000000000", "2000000000003"]), "integer", "in-store card numbers");
        let mostly: Vec<&str> = std::iter::repeat_n("1 000,50", 40).chain(["12,5o"]).collect();
        assert_eq!(guess_type(&mostly), "decimal (comma), 1 value(s) do not fit");
    }

    #[test]
    fn kinds_are_guessed_from_headers() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let kind = |v: &[&str]| schema::guess(&h(v)).map(|g| g.kind);
        assert_eq!(kind(&["order_id", "created_at", "revenue", "phone"]), Some(SourceKind::Orders));
        assert_eq!(kind(&["client_id", "started_at", "utm_source"]), Some(SourceKind::Visits));
        assert_eq!(kind(&["foo", "bar"]), None);
        // Synonyms count, as `init --from` reads them: a Russian CRM export is orders.
        let crm = h(&["Номер заказа", "Дата создания", "Сумма", "Телефон"]);
        assert_eq!(schema::guess(&crm).map(|g| (g.kind, g.columns.len())), Some((SourceKind::Orders, 4)));
    }
}
