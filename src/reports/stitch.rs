//! Stitching statistics for `touchpath stitch`: how well offline and CRM records match web
//! customers, how customers spread over sources, the largest groups, and refused identifiers.

use crate::config::SourceKind;
use crate::identity::{hash_id, IdKind, Refused};
use crate::paths::PathSet;
use rayon::prelude::*;

pub struct MatchRate {
    pub what: &'static str,
    pub total: u64,
    pub matched: u64,
}

pub struct Group {
    pub customer: String,
    pub identifiers: u32,
    pub touches: u64,
    pub conversions: u64,
}

pub struct StitchStats {
    /// Customers with at least one touch or conversion.
    pub customers: usize,
    /// Groups of identifiers with no touch and no conversion: known from identity links (a
    /// loyalty member who never bought in the period) or from rows that are not touches or
    /// conversions (a cancelled order, a call that was not a target call), but nothing to
    /// attribute.
    pub links_only: usize,
    pub customers_with_touches: usize,
    pub match_rates: Vec<MatchRate>,
    /// Source kind → customers with at least one record from it.
    pub per_source: Vec<(&'static str, u64)>,
    pub largest: Vec<Group>,
    pub refused: Vec<Refused>,
}

pub fn stitch_stats(set: &PathSet, top: usize) -> StitchStats {
    let n = set.stitching.customers();
    let mut has_touch = vec![false; n];
    let mut touches = vec![0u64; n];
    for t in &set.touches {
        has_touch[t.customer as usize] = true;
        touches[t.customer as usize] += 1;
    }
    let mut conversions = vec![0u64; n];
    let mut rates =
        vec![MatchRate { what: "orders (online)", total: 0, matched: 0 }, MatchRate { what: "receipts (offline)", total: 0, matched: 0 }];
    for c in &set.conversions {
        conversions[c.customer as usize] += 1;
        let r = &mut rates[usize::from(c.offline)];
        r.total += 1;
        r.matched += u64::from(has_touch[c.customer as usize]);
    }
    // Customers per source kind.
    let kinds = &set.data.summary.files;
    let mut per_kind: Vec<(&'static str, Vec<bool>)> = SourceKind::ALL.iter().map(|k| (k.name(), vec![false; n])).collect();
    let kind_index = |file: u16| -> Option<usize> {
        let k = kinds.get(file as usize)?.kind.as_str();
        SourceKind::ALL.iter().position(|x| x.name() == k)
    };
    // Timelines hold each touch once; a touch dropped as a duplicate has a twin of the same
    // kind on the same customer, so the flags are the same.
    for t in &set.touches {
        if let Some(k) = kind_index(set.tags(t).file) {
            per_kind[k].1[t.customer as usize] = true;
        }
    }
    for c in &set.data.conversions {
        if let Some(k) = kind_index(c.file) {
            per_kind[k].1[set.stitching.customer_of_record[c.record as usize] as usize] = true;
        }
    }
    let active = (0..n).filter(|&c| per_kind.iter().any(|(_, v)| v[c])).count();
    let per_source =
        per_kind.into_iter().map(|(name, v)| (name, v.iter().filter(|&&b| b).count() as u64)).filter(|(_, c)| *c > 0).collect();
    set.stitching.find_keys(&set.data.graph);
    let keys: Vec<Option<u64>> = (0..n as u32).into_par_iter().map(|c| set.stitching.key(&set.data.graph, c)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        set.stitching.identifiers()[b]
            .cmp(&set.stitching.identifiers()[a])
            .then(touches[b].cmp(&touches[a]))
            .then_with(|| keys[a].cmp(&keys[b]))
    });
    let largest = order
        .into_iter()
        .take(top)
        .filter(|&c| set.stitching.identifiers()[c] > 1)
        .map(|c| Group {
            customer: set.customer_key(c as u32, None, ""),
            identifiers: set.stitching.identifiers()[c],
            touches: touches[c],
            conversions: conversions[c],
        })
        .collect();
    StitchStats {
        customers: active,
        links_only: n - active,
        customers_with_touches: set.customers_with_touches,
        match_rates: rates,
        per_source,
        largest,
        refused: set.stitching.refused.clone(),
    }
}

/// The customer map for `stitch --export`: customer, identifier kind, salted hash of the value.
/// Raw identifiers never leave the tool.
pub fn customer_map(set: &PathSet, salt: &str) -> Vec<(String, &'static str, String)> {
    let g = &set.data.graph;
    set.stitching.find_keys(g);
    let mut rows = Vec::new();
    for node in 1..g.node_count() as u32 {
        let c = set.stitching.customer_of_node[node as usize];
        let kind = g.kind(node);
        if c == u32::MAX || kind == IdKind::ReceiptId {
            continue;
        }
        rows.push((set.customer_key(c, None, salt), kind.name(), hash_id(salt, &g.value(node))));
    }
    rows.sort();
    rows
}
