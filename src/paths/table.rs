//! Aggregated path tables as input (`path,conversions,conversion_value,nulls`, the format of
//! GA/Metrica path exports and ChannelAttribution): each distinct path becomes one weighted
//! journey, so every model that needs no touch times runs on it.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};

use super::{PConversion, PTouch, Path, PathSet};
use crate::identity::{IdGraph, Stitching};
use crate::intern::Interner;
use crate::normalize::{value, Dataset, TagTable, TouchKind, TouchTags};
use crate::summary::{FileSummary, Reject, RunSummary};

const PATH: &[&str] = &["path", "channel_path", "paths", "путь"];
const CONV: &[&str] = &["conversions", "total_conversions", "conv", "conversion", "total_conversion"];
const VALUE: &[&str] = &["conversion_value", "total_conversion_value", "value", "revenue"];
const NULLS: &[&str] = &["nulls", "total_null", "null", "non_conversions", "total_nulls"];

/// A distinct row: whether it is the touchless store receipts, and its channels.
type Row = (bool, Vec<String>);

fn find(headers: &[String], names: &[&str]) -> Option<usize> {
    headers.iter().position(|h| names.contains(&h.trim().to_lowercase().as_str()))
}

/// Reads a path table; `sep` splits channels (spaces around it are trimmed).
pub fn load(name: &str, bytes: &[u8], sep: &str) -> Result<PathSet> {
    if sep.trim().is_empty() {
        bail!("the path separator cannot be empty");
    }
    let raw = crate::io::csv::gunzip_if_needed(bytes)?;
    let (text, _) = crate::io::csv::decode(&raw, crate::config::Encoding::Auto)?;
    let delimiter = crate::io::csv::sniff_delimiter(&text);
    let mut rdr = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| anyhow!("{name}: cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let path_col = find(&headers, PATH).ok_or_else(|| {
        anyhow!("{name}: no `path` column; columns found: {} (expected path,conversions,conversion_value,nulls)", headers.join(", "))
    })?;
    let (conv_col, value_col, null_col) = (find(&headers, CONV), find(&headers, VALUE), find(&headers, NULLS));
    if conv_col.is_none() && null_col.is_none() {
        bail!("{name}: neither a `conversions` nor a `nulls` column; columns found: {}", headers.join(", "));
    }
    let mut summary = FileSummary { file: name.to_string(), kind: "paths".into(), ..Default::default() };
    let mut rejects = Vec::new();
    // Merged by path text, so duplicates add up and the result does not depend on row order.
    let mut merged: BTreeMap<Row, (f64, f64, f64, u64)> = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| anyhow!("{name}: {e}"))?;
        summary.rows_read += 1;
        let line = rec.position().map_or(0, |p| p.line());
        let mut reject = |column: &str, reason: String, value: &str| {
            summary.reject(&format!("`{column}`: {}", reason.split(':').next().unwrap_or(&reason)));
            rejects.push(Reject { file: name.to_string(), line, column: column.to_string(), reason, value: value.to_string() });
        };
        let cell = |c: Option<usize>| c.and_then(|i| rec.get(i)).map(str::trim).unwrap_or("");
        let text = cell(Some(path_col));
        // Conversions without any touch, as `touchpath paths` writes them: online orders, and
        // store receipts, which keep their own bucket when the table is read back.
        let offline = text == crate::channels::OFFLINE_NO_TOUCH;
        let touchless = offline || text.is_empty() || text == crate::reports::journeys::NO_TOUCH;
        let channels: Vec<String> =
            if touchless { Vec::new() } else { text.split(sep).map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect() };
        if channels.is_empty() && !touchless {
            reject(&headers[path_col], "a path of separators alone names no channel".into(), text);
            continue;
        }
        let mut nums = [0.0f64; 3];
        let mut bad = false;
        for (slot, col) in nums.iter_mut().zip([conv_col, value_col, null_col]) {
            let v = cell(col);
            if v.is_empty() {
                continue;
            }
            match value::number(v) {
                Some(x) if x >= 0.0 => *slot = x,
                _ => {
                    reject(&headers[col.unwrap_or(0)], format!("`{v}` is not a non-negative number"), v);
                    bad = true;
                    break;
                }
            }
        }
        if bad {
            continue;
        }
        summary.used += 1;
        let e = merged.entry((offline, channels)).or_insert((0.0, 0.0, 0.0, line));
        e.0 += nums[0];
        e.1 += nums[1];
        e.2 += nums[2];
    }

    let mut strings = Interner::new();
    let mut tags = TagTable::default();
    let mut touches = Vec::new();
    let mut conversions = Vec::new();
    let mut conv_paths = Vec::new();
    let mut null_paths = Vec::new();
    let customers = merged.len();
    for (row, ((offline, channels), (conv, val, nulls, line))) in merged.into_iter().enumerate() {
        let start = touches.len() as u32;
        for (i, ch) in channels.iter().enumerate() {
            let sym = strings.intern(ch);
            let tags = tags.intern(TouchTags { kind: TouchKind::Visit, file: 0, channel: sym, source: 0, medium: 0, campaign: 0 });
            touches.push(PTouch { ts: i as i64, customer: row as u32, tags });
        }
        let end = touches.len() as u32;
        if conv > 0.0 {
            let id = strings.intern(&match (offline, channels.is_empty()) {
                (true, _) => crate::channels::OFFLINE_NO_TOUCH.to_string(),
                (false, true) => crate::reports::journeys::NO_TOUCH.to_string(),
                (false, false) => channels.join(" > "),
            });
            conv_paths.push(Path {
                conversion: Some(conversions.len() as u32),
                customer: row as u32,
                start,
                end,
                floor: start,
                nulls: 0.0,
            });
            conversions.push(PConversion { id, ts: 0, revenue: val, offline, customer: row as u32, line, count: conv });
        }
        if nulls > 0.0 && end > start {
            null_paths.push(Path { conversion: None, customer: row as u32, start, end, floor: start, nulls });
        }
    }
    let converting = conv_paths.len();
    conv_paths.extend(null_paths);
    let ranks = strings.ranks();
    let data = Dataset {
        strings,
        graph: IdGraph::default(),
        touches: Vec::new(),
        tags: tags.into_list(),
        conversions: Vec::new(),
        summary: RunSummary { files: vec![summary], rejects, notes: Vec::new() },
        has_offline_source: false,
        costs: Vec::new(),
        has_costs: false,
    };
    let stitching = Stitching::keyless(customers);
    Ok(PathSet {
        data,
        stitching,
        touches,
        conversions,
        paths: conv_paths,
        converting,
        lookback: 0,
        customers_with_touches: 0,
        ranks,
        timed: false,
        journeys: crate::paths::Journeys::All,
        calls: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_merges_rows() {
        let t = b"path,conversions,conversion_value,nulls\nA > B,2,30,5\n A>B ,1,10,0\nB,0,0,4\n > ,1,1,1\nC,x,1,1\n";
        let set = load("p.csv", t, ">").unwrap();
        assert_eq!(set.converting, 1);
        assert_eq!(set.conversions[0].count, 3.0);
        assert_eq!(set.conversions[0].revenue, 40.0);
        assert_eq!(set.paths.len(), 3, "A>B converting, A>B nulls, B nulls");
        let f = &set.data.summary.files[0];
        assert_eq!((f.rows_read, f.used, f.rejected_total()), (5, 3, 2));
        assert_eq!(set.data.summary.rejects[0].reason, "a path of separators alone names no channel");
        assert!(!set.timed);
        assert!(load("p.csv", b"a,b\n1,2\n", ">").is_err());
    }

    #[test]
    fn touchless_rows_keep_their_kind() {
        let t = b"path,conversions,conversion_value,nulls\n(no touch),2,20,0\n\"(offline, no online touch)\",3,30,0\n,1,5,0\n";
        let set = load("p.csv", t, ">").unwrap();
        let got: Vec<(bool, f64, f64)> = set.conversions.iter().map(|c| (c.offline, c.count, c.revenue)).collect();
        assert_eq!(got, [(false, 3.0, 25.0), (true, 3.0, 30.0)], "an empty path is an online touchless row");
        assert!(set.paths.iter().all(|p| p.is_empty()));
        let f = &set.data.summary.files[0];
        assert_eq!((f.rows_read, f.used, f.rejected_total()), (3, 3, 0));
    }
}
