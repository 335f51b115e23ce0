//! Identity stitching: every record links the identifiers it carries (a call links a phone and a
//! client id, an order its id, phone, e-mail and client id), and a customer is a connected group
//! of that graph, found by union-find over interned identifiers.
//!
//! Over-merging guard: an identifier that would join more than `max_customers_per_identifier`
//! otherwise separate customers (a shop's own phone typed on every receipt, a test e-mail) is
//! refused for joining and listed in the summary.

use rayon::slice::ParallelSliceMut as _;
use rustc_hash::FxHashMap;
use sha2::{Digest, Sha256};

/// Kinds of identifier, in the order used to pick a customer's display key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum IdKind {
    CrmId = b'a',
    UserId = b'b',
    Email = b'c',
    Phone = b'd',
    LoyaltyCard = b'e',
    ClientId = b'f',
    OrderId = b'g',
    /// Internal: joins duplicate rows of one receipt. Never shown.
    ReceiptId = b'h',
}

impl IdKind {
    pub const PUBLIC: [IdKind; 7] =
        [IdKind::ClientId, IdKind::UserId, IdKind::Phone, IdKind::Email, IdKind::LoyaltyCard, IdKind::CrmId, IdKind::OrderId];

    pub fn name(self) -> &'static str {
        match self {
            IdKind::CrmId => "crm_customer_id",
            IdKind::UserId => "user_id",
            IdKind::Email => "email",
            IdKind::Phone => "phone",
            IdKind::LoyaltyCard => "loyalty_card",
            IdKind::ClientId => "client_id",
            IdKind::OrderId => "order_id",
            IdKind::ReceiptId => "receipt_id",
        }
    }

    /// Accepts the canonical names and a few common spellings.
    pub fn parse(s: &str) -> Option<IdKind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "client_id" | "clientid" | "cookie" | "client" => IdKind::ClientId,
            "user_id" | "userid" | "user" => IdKind::UserId,
            "phone" | "caller_phone" | "tel" => IdKind::Phone,
            "email" | "e-mail" | "mail" => IdKind::Email,
            "loyalty_card" | "card" | "loyalty" => IdKind::LoyaltyCard,
            "crm_customer_id" | "crm_id" | "crm" => IdKind::CrmId,
            "order_id" | "order" => IdKind::OrderId,
            _ => return None,
        })
    }

    fn from_tag(b: u8) -> IdKind {
        match b {
            b'a' => IdKind::CrmId,
            b'b' => IdKind::UserId,
            b'c' => IdKind::Email,
            b'd' => IdKind::Phone,
            b'e' => IdKind::LoyaltyCard,
            b'f' => IdKind::ClientId,
            b'g' => IdKind::OrderId,
            _ => IdKind::ReceiptId,
        }
    }

    /// Identifiers of a person rather than of one purchase. Only these count towards the
    /// over-merging limit: a loyal customer's phone on fifty receipts joins one person, not fifty.
    pub fn is_persistent(self) -> bool {
        !matches!(self, IdKind::OrderId | IdKind::ReceiptId)
    }

    /// Phones and e-mails are personal data: they are only ever shown hashed.
    pub fn is_personal(self) -> bool {
        matches!(self, IdKind::Phone | IdKind::Email)
    }
}

/// Shards of the identifier table: enough that two threads interning at once rarely meet.
const SHARDS: usize = 64;

fn hash_key(kind: IdKind, value: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write_u8(kind as u8);
    h.write(value.as_bytes());
    h.finish()
}

fn shard_of(h: u64) -> usize {
    // The hash table itself uses the low bits (bucket) and the top seven (tag): pick the shard
    // from the middle so neither is starved.
    ((h >> 32) as usize) % SHARDS
}

/// One shard of interned identifiers: keys (kind tag + value) back to back in one buffer.
#[derive(Default)]
struct Shard {
    table: hashbrown::HashTable<u32>,
    hashes: Vec<u64>,
    starts: Vec<usize>,
    buf: Vec<u8>,
    /// The graph-wide id of each key.
    ids: Vec<u32>,
}

impl Shard {
    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.starts[i - 1] };
        &self.buf[start..self.starts[i]]
    }

    fn find(&self, h: u64, kind: IdKind, value: &str) -> Option<u32> {
        self.table
            .find(h, |&i| {
                if self.hashes[i as usize] != h {
                    return false;
                }
                let k = self.key(i as usize);
                k.first() == Some(&(kind as u8)) && &k[1..] == value.as_bytes()
            })
            .map(|&i| self.ids[i as usize])
    }

    fn intern(&mut self, h: u64, kind: IdKind, value: &str, next_id: impl FnOnce() -> u32) -> u32 {
        if let Some(id) = self.find(h, kind, value) {
            return id;
        }
        let i = self.ids.len() as u32;
        self.buf.push(kind as u8);
        self.buf.extend_from_slice(value.as_bytes());
        self.starts.push(self.buf.len());
        self.hashes.push(h);
        let id = next_id();
        self.ids.push(id);
        let hashes = &self.hashes;
        self.table.insert_unique(h, i, |&j| hashes[j as usize]);
        id
    }
}

/// The identifier table while exports are read on several threads at once. Ids are dense but
/// depend on which thread got there first, so nothing may be ordered by them.
pub struct SharedNodes {
    shards: Vec<std::sync::Mutex<Shard>>,
    next: std::sync::atomic::AtomicU32,
}

impl Default for SharedNodes {
    fn default() -> Self {
        SharedNodes {
            shards: (0..SHARDS).map(|_| std::sync::Mutex::new(Shard::default())).collect(),
            // Id 0 is "no identifier".
            next: std::sync::atomic::AtomicU32::new(1),
        }
    }
}

impl SharedNodes {
    pub fn intern(&self, kind: IdKind, value: &str) -> u32 {
        let h = hash_key(kind, value);
        let mut shard = self.shards[shard_of(h)].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        shard.intern(h, kind, value, || self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// Records, each the list of identifiers it carries.
#[derive(Clone, Debug)]
pub struct Records {
    offsets: Vec<u32>,
    members: Vec<u32>,
}

impl Default for Records {
    fn default() -> Self {
        Records { offsets: vec![0], members: Vec::new() }
    }
}

impl Records {
    /// Adds a record carrying `nodes`; returns its index. A record may carry no identifier.
    pub fn add(&mut self, nodes: &[u32]) -> u32 {
        let idx = self.offsets.len() as u32 - 1;
        for &n in nodes {
            if !self.members[self.offsets[idx as usize] as usize..].contains(&n) {
                self.members.push(n);
            }
        }
        self.offsets.push(self.members.len() as u32);
        idx
    }

    /// Appends another list; returns the index its first record gets.
    pub fn append(&mut self, other: &Records) -> u32 {
        let base = self.len() as u32;
        let shift = self.members.len() as u32;
        self.members.extend_from_slice(&other.members);
        self.offsets.extend(other.offsets[1..].iter().map(|&o| o + shift));
        base
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, r: u32) -> &[u32] {
        &self.members[self.offsets[r as usize] as usize..self.offsets[r as usize + 1] as usize]
    }
}

/// Identifiers (interned with their kind) and the records that link them.
pub struct IdGraph {
    shards: Vec<Shard>,
    next: u32,
    /// Shard and position of every id, built on first look-up.
    locate: std::sync::OnceLock<Vec<(u32, u32)>>,
    records: Records,
}

impl Default for IdGraph {
    fn default() -> Self {
        IdGraph::from_parts(SharedNodes::default(), Records::default())
    }
}

impl IdGraph {
    pub fn from_parts(nodes: SharedNodes, records: Records) -> IdGraph {
        let shards = nodes.shards.into_iter().map(|m| m.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)).collect();
        IdGraph { shards, next: nodes.next.into_inner(), locate: std::sync::OnceLock::new(), records }
    }

    pub fn node(&mut self, kind: IdKind, value: &str) -> u32 {
        let h = hash_key(kind, value);
        let next = &mut self.next;
        let id = self.shards[shard_of(h)].intern(h, kind, value, || {
            *next += 1;
            *next - 1
        });
        self.locate.take();
        id
    }

    pub fn find_node(&self, kind: IdKind, value: &str) -> Option<u32> {
        let h = hash_key(kind, value);
        self.shards[shard_of(h)].find(h, kind, value)
    }

    /// Adds a record carrying `nodes`; returns its index. A record may carry no identifier.
    pub fn add_record(&mut self, nodes: &[u32]) -> u32 {
        self.records.add(nodes)
    }

    pub fn records(&self) -> usize {
        self.records.len()
    }

    pub fn record(&self, r: u32) -> &[u32] {
        self.records.get(r)
    }

    /// Ids run from 1 to `node_count() - 1`; 0 is "no identifier".
    pub fn node_count(&self) -> usize {
        self.next as usize
    }

    /// The node's key as stored (kind tag + value): sorts by kind, then value.
    fn key_bytes(&self, node: u32) -> &[u8] {
        let locate = self.locate.get_or_init(|| {
            let mut at = vec![(0u32, 0u32); self.next as usize];
            for (si, shard) in self.shards.iter().enumerate() {
                for (i, &id) in shard.ids.iter().enumerate() {
                    at[id as usize] = (si as u32, i as u32);
                }
            }
            at
        });
        match (node, locate.get(node as usize)) {
            (1.., Some(&(s, i))) => self.shards[s as usize].key(i as usize),
            _ => b"",
        }
    }

    pub fn kind(&self, node: u32) -> IdKind {
        IdKind::from_tag(self.key_bytes(node).first().copied().unwrap_or(0))
    }

    pub fn value(&self, node: u32) -> &str {
        self.key(node).get(1..).unwrap_or("")
    }

    fn key(&self, node: u32) -> &str {
        // Keys are a tag byte and a `&str` value, so they are valid UTF-8.
        std::str::from_utf8(self.key_bytes(node)).unwrap_or("")
    }
}

struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind { parent: (0..n as u32).collect() }
    }
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            // The smaller root wins so the structure does not depend on the order of unions.
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi as usize] = lo;
        }
    }
}

/// An identifier refused for joining, with how many customers it would have joined.
#[derive(Clone, Debug)]
pub struct Refused {
    pub kind: IdKind,
    pub value: String,
    pub customers: usize,
}

/// The outcome of stitching.
pub struct Stitching {
    /// Customer index of every record.
    pub customer_of_record: Vec<u32>,
    /// Customer index of every identifier; `u32::MAX` for refused ones.
    pub customer_of_node: Vec<u32>,
    /// Stable display key of each customer: salted hash of its smallest identifier; empty for a
    /// customer known by no usable identifier.
    pub customer_keys: Vec<String>,
    /// Identifiers per customer, by kind (for `stitch` statistics).
    pub identifiers: Vec<u32>,
    pub refused: Vec<Refused>,
}

impl Stitching {
    pub fn customers(&self) -> usize {
        self.customer_keys.len()
    }
}

/// Salted SHA-256 of a value, hex-encoded, truncated to 16 characters for display.
pub fn hash_id(salt: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    let d = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(16);
    for b in d.iter().take(8) {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// Replaces what looks like an email address or a phone number in free text (a rejected value,
/// a reason quoting it) by its salted hash, so messages and reject files never carry them raw.
pub fn scrub<'a>(text: &'a str, salt: &str) -> std::borrow::Cow<'a, str> {
    static PATTERN: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = PATTERN.get_or_init(|| regex::Regex::new(r"[^\s;,<>()`'\x22]+@[^\s;,<>()`'\x22]+|\+?\d[\d\s()\-]{7,}\d").ok());
    match re {
        Some(re) if re.is_match(text) => re.replace_all(text, |c: &regex::Captures| {
            let m = &c[0];
            let digits = m.bytes().filter(u8::is_ascii_digit).count();
            // A phone has 10 to 15 digits; a date-time (2026-10-31 14:05) or a long numeric id
            // is left alone.
            let date_like = m.len() >= 10 && m.as_bytes()[4] == b'-' && m.as_bytes()[..4].iter().all(u8::is_ascii_digit);
            if m.contains('@') || ((10..=15).contains(&digits) && !date_like) {
                format!("#{}", hash_id(salt, m))
            } else {
                m.to_string()
            }
        }),
        _ => std::borrow::Cow::Borrowed(text),
    }
}

pub fn stitch(g: &IdGraph, max_customers: usize, salt: &str) -> Stitching {
    let n = g.node_count();
    // 1. Candidates: identifiers that co-occur with more distinct persistent identifiers than
    //    the limit. Only they can join more customers than the limit, so only they are examined.
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for r in 0..g.records() as u32 {
        let m = g.record(r);
        if m.len() < 2 {
            continue;
        }
        for (i, &a) in m.iter().enumerate() {
            for &b in &m[i + 1..] {
                pairs.push((a, b));
                pairs.push((b, a));
            }
        }
    }
    pairs.par_sort_unstable();
    pairs.dedup();
    let persistent: Vec<bool> = (0..n as u32).map(|x| x == 0 || g.kind(x).is_persistent()).collect();
    let mut degree = vec![0u32; n];
    for &(a, b) in &pairs {
        if persistent[b as usize] {
            degree[a as usize] += 1;
        }
    }
    let candidate: Vec<bool> = degree.iter().map(|&d| d as usize > max_customers).collect();

    // 2. Groups without the candidates.
    let mut uf = UnionFind::new(n);
    for &(a, b) in &pairs {
        if !candidate[a as usize] && !candidate[b as usize] {
            uf.union(a, b);
        }
    }
    // 3. A candidate whose persistent neighbours lie in more groups than the limit is refused;
    //    the others join.
    let mut refused_flag = vec![false; n];
    let mut refused = Vec::new();
    let mut start = 0;
    while start < pairs.len() {
        let a = pairs[start].0;
        let mut end = start;
        while end < pairs.len() && pairs[end].0 == a {
            end += 1;
        }
        if candidate[a as usize] {
            let mut roots: Vec<u32> = pairs[start..end]
                .iter()
                .filter(|(_, b)| !candidate[*b as usize] && persistent[*b as usize])
                .map(|&(_, b)| uf.find(b))
                .collect();
            roots.sort_unstable();
            roots.dedup();
            if roots.len() > max_customers {
                refused_flag[a as usize] = true;
                let kind = g.kind(a);
                refused.push(Refused {
                    kind,
                    value: if kind.is_personal() { format!("#{}", hash_id(salt, g.value(a))) } else { g.value(a).to_string() },
                    customers: roots.len(),
                });
            }
        }
        start = end;
    }
    for &(a, b) in &pairs {
        if !refused_flag[a as usize] && !refused_flag[b as usize] {
            uf.union(a, b);
        }
    }
    refused.sort_by(|x, y| y.customers.cmp(&x.customers).then_with(|| x.value.cmp(&y.value)));

    // 4. Customers: one per group reached by a record; a record whose identifiers are all
    //    refused (or that has none) is a customer of its own.
    let mut root_customer: FxHashMap<u32, u32> = FxHashMap::default();
    let mut customer_of_record = Vec::with_capacity(g.records());
    let mut min_key: Vec<Option<u32>> = Vec::new();
    for r in 0..g.records() as u32 {
        let usable = g.record(r).iter().copied().find(|&x| !refused_flag[x as usize]);
        let c = match usable {
            Some(node) => {
                let root = uf.find(node);
                *root_customer.entry(root).or_insert_with(|| {
                    min_key.push(None);
                    (min_key.len() - 1) as u32
                })
            }
            None => {
                min_key.push(None);
                (min_key.len() - 1) as u32
            }
        };
        customer_of_record.push(c);
    }
    // Display keys come from content (the smallest identifier), never from input order.
    let mut identifiers = vec![0u32; min_key.len()];
    let mut customer_of_node = vec![u32::MAX; n];
    for node in 1..n as u32 {
        if refused_flag[node as usize] {
            continue;
        }
        let root = uf.find(node);
        if let Some(&c) = root_customer.get(&root) {
            customer_of_node[node as usize] = c;
            identifiers[c as usize] += 1;
            let better = match min_key[c as usize] {
                None => true,
                Some(cur) => g.key(node) < g.key(cur),
            };
            if better {
                min_key[c as usize] = Some(node);
            }
        }
    }
    // Anonymous customers get an empty key here: only the records' own content (a receipt id)
    // can name them without depending on input order, and that is known to the caller.
    let customer_keys = min_key.iter().map(|k| k.map(|node| hash_id(salt, g.key(node))).unwrap_or_default()).collect();
    Stitching { customer_of_record, customer_of_node, customer_keys, identifiers, refused }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_records_make_one_customer() {
        let mut g = IdGraph::default();
        let c1 = g.node(IdKind::ClientId, "c1");
        let c2 = g.node(IdKind::ClientId, "c2");
        let p = g.node(IdKind::Phone, "79151234567");
        let other = g.node(IdKind::ClientId, "c3");
        let r1 = g.add_record(&[c1]);
        let r2 = g.add_record(&[p, c1]);
        let r3 = g.add_record(&[c2, p]);
        let r4 = g.add_record(&[other]);
        let s = stitch(&g, 20, "");
        assert_eq!(s.customer_of_record[r1 as usize], s.customer_of_record[r3 as usize]);
        assert_eq!(s.customer_of_record[r2 as usize], s.customer_of_record[r1 as usize]);
        assert_ne!(s.customer_of_record[r4 as usize], s.customer_of_record[r1 as usize]);
        assert_eq!(s.customers(), 2);
    }

    #[test]
    fn hub_identifier_is_refused() {
        let mut g = IdGraph::default();
        let shop = g.node(IdKind::Phone, "74950000000");
        let mut recs = Vec::new();
        for i in 0..5 {
            let card = g.node(IdKind::LoyaltyCard, &format!("card{i}"));
            recs.push(g.add_record(&[card, shop]));
        }
        let only_shop = g.add_record(&[shop]);
        let s = stitch(&g, 3, "salt");
        assert_eq!(s.refused.len(), 1);
        assert_eq!(s.refused[0].customers, 5);
        assert!(s.refused[0].value.starts_with('#'), "phones are shown hashed");
        let mut cs: Vec<u32> = recs.iter().map(|&r| s.customer_of_record[r as usize]).collect();
        cs.sort();
        cs.dedup();
        assert_eq!(cs.len(), 5);
        assert!(!cs.contains(&s.customer_of_record[only_shop as usize]));
        // Under the limit, the same phone joins them.
        let s = stitch(&g, 5, "salt");
        assert!(s.refused.is_empty());
    }

    #[test]
    fn keys_do_not_depend_on_insertion_order() {
        let build = |rev: bool| {
            let mut g = IdGraph::default();
            let mut items = vec![("a", "b"), ("c", "d")];
            if rev {
                items.reverse();
            }
            for (x, y) in items {
                let nx = g.node(IdKind::ClientId, x);
                let ny = g.node(IdKind::Email, y);
                g.add_record(&[nx, ny]);
            }
            let mut k = stitch(&g, 20, "s").customer_keys;
            k.sort();
            k
        };
        assert_eq!(build(false), build(true));
    }
}

#[cfg(test)]
mod scrub_tests {
    use super::*;

    #[test]
    fn phones_and_emails_in_text_become_hashes() {
        let s = scrub("`8 (915) 123-45-67` is not a phone number, nor is Ann@Mail.ru", "salt");
        assert!(!s.contains("915") && !s.contains("Mail.ru"), "{s}");
        assert_eq!(s.matches('#').count(), 2, "{s}");
        assert_eq!(scrub("`12,5o` is not a number", "salt"), "`12,5o` is not a number");
        assert_eq!(scrub("31.09.2026 10:00", "salt"), "31.09.2026 10:00");
        let expected = "expected e.g. 31.10.2026 14:05, 2026-10-31 14:05:00 or Unix seconds";
        assert_eq!(scrub(expected, "salt"), expected);
        assert_eq!(scrub("client 1732423623615127710", "salt"), "client 1732423623615127710");
        assert!(!scrub("+79151234567", "s").contains("915"));
    }
}
