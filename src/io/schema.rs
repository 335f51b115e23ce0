//! The canonical fields of each input kind: the vocabulary a config's column mapping speaks.

use crate::config::SourceKind;

/// One canonical field of an input kind.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub required: bool,
}

const fn req(name: &'static str) -> Field {
    Field { name, required: true }
}
const fn opt(name: &'static str) -> Field {
    Field { name, required: false }
}

const VISITS: &[Field] = &[
    req("client_id"),
    req("started_at"),
    opt("visit_id"),
    opt("user_id"),
    opt("utm_source"),
    opt("utm_medium"),
    opt("utm_campaign"),
    opt("utm_content"),
    opt("utm_term"),
    opt("referrer"),
    opt("landing_page"),
    opt("phone"),
    opt("email"),
    opt("device"),
];

const CALLS: &[Field] = &[
    req("called_at"),
    req("caller_phone"),
    opt("call_id"),
    opt("client_id"),
    opt("utm_source"),
    opt("utm_medium"),
    opt("utm_campaign"),
    opt("utm_content"),
    opt("utm_term"),
    opt("channel"),
    opt("duration_s"),
    opt("status"),
    opt("is_target"),
];

const ORDERS: &[Field] = &[
    req("order_id"),
    req("created_at"),
    req("revenue"),
    opt("status"),
    opt("client_id"),
    opt("user_id"),
    opt("phone"),
    opt("email"),
    opt("crm_customer_id"),
    opt("order_channel"),
];

const RECEIPTS: &[Field] = &[
    req("receipt_id"),
    req("purchased_at"),
    req("amount"),
    opt("store_id"),
    opt("loyalty_card"),
    opt("phone"),
    opt("email"),
    opt("order_id"),
    opt("crm_customer_id"),
];

const LINKS: &[Field] = &[req("id_a"), req("kind_a"), req("id_b"), req("kind_b")];

const TOUCHES: &[Field] = &[
    req("occurred_at"),
    opt("channel"),
    opt("touch_type"),
    opt("utm_source"),
    opt("utm_medium"),
    opt("utm_campaign"),
    opt("utm_content"),
    opt("utm_term"),
    opt("client_id"),
    opt("user_id"),
    opt("phone"),
    opt("email"),
    opt("loyalty_card"),
    opt("crm_customer_id"),
];

const COSTS: &[Field] = &[req("date"), req("cost"), opt("source"), opt("medium"), opt("campaign"), opt("channel"), opt("currency")];

pub fn fields(kind: SourceKind) -> &'static [Field] {
    match kind {
        SourceKind::Visits => VISITS,
        SourceKind::Calls => CALLS,
        SourceKind::Orders => ORDERS,
        SourceKind::Receipts => RECEIPTS,
        SourceKind::Links => LINKS,
        SourceKind::Touches => TOUCHES,
        SourceKind::Costs => COSTS,
    }
}

pub fn is_field(kind: SourceKind, name: &str) -> bool {
    fields(kind).iter().any(|f| f.name == name)
}

/// Edit distance, for "did you mean" suggestions on a missing column.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The found column closest to `wanted`, when it is close enough to be a plausible typo.
pub fn closest<'a>(wanted: &str, found: &'a [String]) -> Option<&'a str> {
    let w = wanted.to_lowercase();
    found
        .iter()
        .map(|f| (levenshtein(&w, &f.to_lowercase()), f))
        .filter(|(d, f)| *d <= (w.chars().count().max(f.chars().count()) / 2).max(2))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, f)| f.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let found = vec!["order_id".to_string(), "created".to_string(), "revenu".to_string()];
        assert_eq!(closest("revenue", &found), Some("revenu"));
        assert_eq!(closest("created_at", &found), Some("created"));
        assert_eq!(closest("zzzzzzzzzz", &found), None);
    }

    #[test]
    fn every_kind_has_required_fields() {
        for k in SourceKind::ALL {
            assert!(fields(k).iter().any(|f| f.required), "{k}");
        }
    }
}
