//! `touchpath channels`: the channel rules in the order they are tried, and `--explain` to show
//! which rule a visit's tags match. The explanation runs the visit through the real normalizer,
//! so what it says is exactly what a report would do.

use std::path::Path;

use anyhow::{anyhow, Result};

use super::{emit, format, table_config};
use crate::channels::{Classifier, Tags};
use crate::cli::ChannelsArgs;
use crate::config::Config;
use crate::output::{Cell, Column, Style, Table};

pub fn run(cfg_path: Option<&Path>, a: ChannelsArgs) -> Result<()> {
    let fmt = format(&a.out)?;
    let cfg = if a.demo { crate::io::demo::config()? } else { table_config(cfg_path)? };
    let classifier = Classifier::new(&cfg.channel_rules, cfg.use_default_channel_rules, &cfg.site_domains)?;
    let table = match &a.explain {
        None => rules_table(&classifier, &cfg),
        Some(text) => explain(text, &cfg, &classifier)?,
    };
    emit(&[table], fmt, &a.out)
}

fn rules_table(c: &Classifier, cfg: &Config) -> Table {
    let mut t = Table::new(
        &format!("Channel rules of {} (first match wins; patterns are case-insensitive regexes, empty = any)", cfg.origin),
        ["rule", "channel", "source", "medium", "campaign", "referrer"].iter().map(|n| Column::new(n, Style::Text)).collect(),
    );
    for r in c.rules() {
        t.rows.push(r.into_iter().map(Cell::Text).collect());
    }
    t
}

/// The fields of `--explain`: a query string, a URL (its query is the landing page's), or both
/// with `referrer=`.
fn visit_fields(text: &str) -> Vec<(String, String)> {
    let t = text.trim();
    let mut fields: Vec<(String, String)> = Vec::new();
    if t.contains("://") && !t.starts_with("referrer=") {
        fields.push(("landing_page".into(), t.to_string()));
        return fields;
    }
    for part in t.trim_start_matches('?').split('&') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let v = crate::normalize::url::percent_decode(v).into_owned();
        match k.trim() {
            k @ ("utm_source" | "utm_medium" | "utm_campaign" | "utm_content" | "utm_term" | "referrer" | "landing_page") => {
                fields.push((k.to_string(), v))
            }
            // Click ids without tags are read from the landing page, as in a real visit.
            k @ ("yclid" | "gclid") => fields.push(("landing_page".into(), format!("https://landing.invalid/?{k}={v}"))),
            _ => {}
        }
    }
    fields
}

fn explain(text: &str, cfg: &Config, classifier: &Classifier) -> Result<Table> {
    let fields = visit_fields(text);
    if fields.is_empty() {
        return Err(super::usage(format!(
            "--explain `{text}`: give UTM tags (utm_source=…&utm_medium=…), a landing page URL, or referrer=URL"
        )));
    }
    let mut w = ::csv::Writer::from_writer(Vec::new());
    let mut header = vec!["client_id".to_string(), "started_at".to_string()];
    header.extend(fields.iter().map(|(k, _)| k.clone()));
    let mut row = vec!["explain".to_string(), "2026-01-01 00:00:00".to_string()];
    row.extend(fields.iter().map(|(_, v)| v.clone()));
    w.write_record(&header)?;
    w.write_record(&row)?;
    let bytes: &'static [u8] = Box::leak(w.into_inner().map_err(|e| anyhow!("{e}"))?.into_boxed_slice());
    // A config is only valid with something to attribute: an empty orders file keeps it so.
    let lookup = move |name: &str| Some(if name == "orders.csv" { b"order_id,created_at,revenue\n".as_slice() } else { bytes });
    let one = Config::from_toml(
        "[[sources]]\nkind = \"visits\"\npath = \"explain.csv\"\n[[sources]]\nkind = \"orders\"\npath = \"orders.csv\"\n",
        "--explain",
        None,
        Some(&lookup),
    )?;
    let mut probe = cfg.clone();
    probe.sources = one.sources;
    let tables = probe.sources.iter().map(crate::io::load).collect::<Result<Vec<_>>>()?;
    let data = crate::normalize::normalize(&probe, &tables)?;
    let touch = data.touches.first().ok_or_else(|| anyhow!("--explain: the visit could not be read"))?;
    let touch = data.tags.get(touch.tags as usize).ok_or_else(|| anyhow!("internal error: a touch without its tags"))?;
    let s = |sym| data.strings.resolve(sym).to_string();
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    let landing_host = get("landing_page").and_then(crate::normalize::url::host);
    let referrer = get("referrer")
        .and_then(crate::normalize::url::host)
        .filter(|h| !classifier.is_internal(h, landing_host.as_deref()))
        .map(|h| h.into_owned())
        .unwrap_or_default();
    let tags = Tags { source: s(touch.source), medium: s(touch.medium), campaign: s(touch.campaign), referrer: referrer.clone() };
    let (rule, channel) = classifier.explain(&tags);
    let read_from = if get("utm_source").is_some() || get("utm_medium").is_some() || get("utm_campaign").is_some() {
        "the UTM tags"
    } else if get("landing_page").is_some_and(|l| l.contains("utm_")) {
        "the landing page's query string"
    } else if get("landing_page").is_some_and(|l| l.contains("yclid=") || l.contains("gclid=")) {
        "the click id in the landing page (yclid: Yandex Direct, gclid: Google Ads)"
    } else if !referrer.is_empty() {
        "the referrer"
    } else {
        "nothing: no tags and no external referrer, so Direct"
    };
    let mut t =
        Table::new(&format!("How `{text}` is classified"), vec![Column::new("what", Style::Text), Column::new("value", Style::Text)]);
    for (k, v) in [
        ("source", tags.source.clone()),
        ("medium", tags.medium.clone()),
        ("campaign", tags.campaign.clone()),
        ("referrer host", referrer),
        ("read from", read_from.to_string()),
        ("matched rule", rule.unwrap_or("none: no rule matched").to_string()),
        ("channel", s(touch.channel)),
    ] {
        t.rows.push(vec![Cell::Text(k.to_string()), Cell::Text(v)]);
    }
    debug_assert_eq!(channel, s(touch.channel));
    Ok(t)
}
