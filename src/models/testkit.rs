//! Builds tiny path sets by hand for model tests, bypassing file loading.

use crate::config::Config;
use crate::identity::{IdGraph, IdKind};
use crate::intern::Interner;
use crate::normalize::{Conversion, Dataset, TagTable, Touch, TouchKind, TouchTags};
use crate::paths::{assemble, stitch_customers, Journeys, PathSet};
use crate::summary::{FileSummary, RunSummary};

pub const DAY: i64 = 86_400;

/// One customer: touches as (channel, time) and conversions as (time, revenue, offline).
pub struct Journey<'a> {
    pub customer: &'a str,
    pub touches: Vec<(&'a str, i64)>,
    pub conversions: Vec<(i64, f64, bool)>,
}

pub fn journey<'a>(customer: &'a str, touches: &[(&'a str, i64)], conversions: &[(i64, f64, bool)]) -> Journey<'a> {
    Journey { customer, touches: touches.to_vec(), conversions: conversions.to_vec() }
}

pub fn config(extra: &str) -> Config {
    Config::from_toml(extra, "test", None, None).unwrap()
}

pub fn pathset(journeys: &[Journey], cfg: &Config) -> PathSet {
    pathset_with(journeys, cfg, Journeys::All)
}

/// [`pathset`] with the journeys to build named.
pub fn pathset_with(journeys: &[Journey], cfg: &Config, built: Journeys) -> PathSet {
    let mut strings = Interner::new();
    let mut graph = IdGraph::default();
    let mut touches = Vec::new();
    let mut tags = TagTable::default();
    let mut conversions = Vec::new();
    let mut n = 0;
    for j in journeys {
        let node = graph.node(IdKind::ClientId, j.customer);
        for &(ch, ts) in &j.touches {
            let record = graph.add_record(&[node]);
            let channel = strings.intern(ch);
            let source = strings.intern(&ch.to_lowercase());
            let tags = tags.intern(TouchTags { kind: TouchKind::Visit, channel, source, medium: 0, campaign: 0, file: 0 });
            touches.push(Touch { ts, record, tags });
        }
        for &(ts, revenue, offline) in &j.conversions {
            n += 1;
            let record = graph.add_record(&[node]);
            let id = strings.intern(&format!("{}-{n}", j.customer));
            conversions.push(Conversion { id, ts, revenue, offline, record, fulfils: 0, file: 0, line: n });
        }
    }
    let data = Dataset {
        strings,
        graph,
        touches,
        tags: tags.into_list(),
        conversions,
        summary: RunSummary { files: vec![FileSummary::default()], ..Default::default() },
        has_offline_source: true,
        costs: Vec::new(),
        has_costs: false,
    };
    let stitching = stitch_customers(&data, cfg);
    assemble(data, stitching, cfg, built)
}

/// Credits of the i-th conversion (canonical order) by channel, summed.
pub fn credits(set: &PathSet, model: &dyn super::Model, i: usize) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    model.credit(set, &set.paths[i], &mut out);
    let mut by: std::collections::BTreeMap<String, f64> = Default::default();
    for c in out {
        let name = match c.target {
            super::Target::Touch(t) => set.label(set.tags(&set.touches[t as usize]).channel).to_string(),
            super::Target::Bucket(b) => b.to_string(),
            super::Target::Label(_) => unreachable!("heuristic models credit touches"),
        };
        *by.entry(name).or_default() += c.weight;
    }
    by.into_iter().collect()
}

pub fn assert_credits(got: &[(String, f64)], want: &[(&str, f64)]) {
    assert_eq!(got.len(), want.len(), "got {got:?}, want {want:?}");
    for ((g, gv), (w, wv)) in got.iter().zip(want) {
        assert_eq!(g, w, "got {got:?}, want {want:?}");
        assert!((gv - wv).abs() < 1e-12, "{g}: got {gv}, want {wv} (all: {got:?})");
    }
}
