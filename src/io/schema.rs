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
pub fn find_column(headers: &[String], field: &str, taken: &[usize]) -> Option<usize> {
    let free = |i: &usize| !taken.contains(i);
    let lower: Vec<String> = headers.iter().map(|h| h.trim().to_lowercase()).collect();
    if let Some(i) = (0..headers.len()).filter(free).find(|&i| lower[i] == field) {
        return Some(i);
    }
    let names = SYNONYMS.iter().find(|(f, _)| *f == field).map_or(&[][..], |(_, n)| *n);
    names.iter().find_map(|n| (0..headers.len()).filter(free).find(|&i| lower[i] == *n))
}

/// Canonical fields and the header columns they were found in.
pub type Found = Vec<(&'static str, usize)>;

/// The columns of `headers` that feed `kind`'s fields (field, column index), by canonical name
/// or known synonym. Required fields pick first, so an optional field never steals their column.
pub fn map_columns(kind: SourceKind, headers: &[String]) -> Found {
    let mut taken = Vec::new();
    let mut map = Vec::new();
    let fields = fields(kind);
    for f in fields.iter().filter(|f| f.required).chain(fields.iter().filter(|f| !f.required)) {
        if let Some(i) = find_column(headers, f.name, &taken) {
            taken.push(i);
            map.push((f.name, i));
        }
    }
    map
}

/// What `init --from` drafts and `inspect` shows for a file no source reads.
#[derive(Debug)]
pub struct Guess {
    pub kind: SourceKind,
    /// Fields fed by a column.
    pub columns: Found,
    /// Fields given a fixed value (`[sources.constants]`): the kinds of a links file's columns.
    pub constants: Vec<(&'static str, &'static str)>,
}

/// Identifier fields a links file may pair, in the order they are tried.
const LINKED: [&str; 7] = ["client_id", "user_id", "phone", "email", "loyalty_card", "crm_customer_id", "order_id"];

/// The best kind for a file and its mapping, by how many required and optional fields its
/// columns name. A file that no kind's required fields fit, but which names two identifiers (a
/// shop's accounts: login and phone; a loyalty programme's cards and phones), is identity links
/// between the first two of them, left to right.
pub fn guess(headers: &[String]) -> Option<Guess> {
    let mut best: Option<((bool, usize, usize), SourceKind, Found)> = None;
    for kind in SourceKind::ALL {
        let map = map_columns(kind, headers);
        let fields = fields(kind);
        let req = fields.iter().filter(|f| f.required).count();
        let hit = fields.iter().filter(|f| f.required && map.iter().any(|(n, _)| *n == f.name)).count();
        let score = (hit == req, hit, map.len());
        if hit > 0 && best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, kind, map));
        }
    }
    if !best.as_ref().is_some_and(|((complete, _, _), _, _)| *complete) {
        let mut taken = Vec::new();
        let mut ids = Vec::new();
        for field in LINKED {
            if let Some(i) = find_column(headers, field, &taken) {
                taken.push(i);
                ids.push((field, i));
            }
        }
        ids.sort_by_key(|&(_, i)| i);
        if let [(kind_a, a), (kind_b, b), ..] = ids[..] {
            return Some(Guess {
                kind: SourceKind::Links,
                columns: vec![("id_a", a), ("id_b", b)],
                constants: vec![("kind_a", kind_a), ("kind_b", kind_b)],
            });
        }
    }
    best.map(|(_, kind, columns)| Guess { kind, columns, constants: Vec::new() })
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
    fn two_identifiers_and_no_event_are_links() {
        let h = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let accounts = guess(&h(&["user_id", "phone", "registered_at"])).unwrap();
        assert_eq!(accounts.kind, SourceKind::Links);
        assert_eq!(accounts.columns, vec![("id_a", 0), ("id_b", 1)]);
        assert_eq!(accounts.constants, vec![("kind_a", "user_id"), ("kind_b", "phone")]);
        let cards = guess(&h(&["Номер карты", "Телефон", "Дата регистрации"])).unwrap();
        assert_eq!((cards.kind, cards.constants), (SourceKind::Links, vec![("kind_a", "loyalty_card"), ("kind_b", "phone")]));
        // A call log names a phone and a client id too, but its required fields come first.
        let calls = guess(&h(&["called_at", "caller_phone", "client_id"])).unwrap();
        assert_eq!(calls.kind, SourceKind::Calls);
        // One identifier is not a link.
        assert_eq!(guess(&h(&["phone", "registered_at"])).map(|g| g.kind), Some(SourceKind::Calls));
    }

    #[test]
    fn every_kind_has_required_fields() {
        for k in SourceKind::ALL {
            assert!(fields(k).iter().any(|f| f.required), "{k}");
        }
    }
}
