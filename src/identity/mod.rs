//! Identity stitching: every record links the identifiers it carries (a call links a phone and a
//! client id, an order its id, phone, e-mail and client id), and a customer is a connected group
//! of that graph, found by union-find over interned identifiers.
//!
//! Over-merging guard: an identifier that would join more than `max_customers_per_identifier`
//! otherwise separate customers (a shop's own phone typed on every receipt, a test e-mail) is
//! refused for joining and listed in the summary.

use rayon::prelude::*;
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
        const NAMES: [(&str, IdKind); 22] = [
            ("client_id", IdKind::ClientId),
            ("clientid", IdKind::ClientId),
            ("cookie", IdKind::ClientId),
            ("client", IdKind::ClientId),
            ("user_id", IdKind::UserId),
            ("userid", IdKind::UserId),
            ("user", IdKind::UserId),
            ("phone", IdKind::Phone),
            ("caller_phone", IdKind::Phone),
            ("tel", IdKind::Phone),
            ("email", IdKind::Email),
            ("e-mail", IdKind::Email),
            ("mail", IdKind::Email),
            ("loyalty_card", IdKind::LoyaltyCard),
            ("card", IdKind::LoyaltyCard),
            ("loyalty", IdKind::LoyaltyCard),
            ("crm_customer_id", IdKind::CrmId),
            ("crm_id", IdKind::CrmId),
            ("crm", IdKind::CrmId),
            ("order_id", IdKind::OrderId),
            ("order", IdKind::OrderId),
            ("orderid", IdKind::OrderId),
        ];
        // Called once per row of a links file: no allocation.
        let s = s.trim();
        NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)).map(|&(_, k)| k)
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

/// Where one interned key lives. The hash and the id sit in the table itself so that a
/// look-up touches the table and the key bytes and nothing else: at tens of millions of
/// identifiers every other array read is a cache miss.
#[derive(Clone, Copy)]
struct Slot {
    hash: u64,
    /// Offset of the key in the shard's buffer: a little-endian `u32` length, then the kind
    /// tag and the value.
    start: u32,
    id: u32,
}

/// One shard of interned identifiers: keys back to back in one buffer.
#[derive(Default)]
struct Shard {
    table: hashbrown::HashTable<Slot>,
    buf: Vec<u8>,
    /// Ids in the order their keys sit in `buf`, so whole-table passes read memory in order.
    ids: Vec<u32>,
}

impl Shard {
    /// Keys with their ids, in buffer order.
    fn entries(&self) -> impl Iterator<Item = (u32, u32, &[u8])> + '_ {
        let mut at = 0usize;
        self.ids.iter().map(move |&id| {
            let start = at as u32;
            let k = self.key(start);
            at += 4 + k.len();
            (id, start, k)
        })
    }

    fn key(&self, start: u32) -> &[u8] {
        let at = start as usize;
        let len = u32::from_le_bytes([self.buf[at], self.buf[at + 1], self.buf[at + 2], self.buf[at + 3]]) as usize;
        &self.buf[at + 4..at + 4 + len]
    }

    fn find(&self, h: u64, kind: IdKind, value: &str) -> Option<u32> {
        self.table
            .find(h, |s| {
                if s.hash != h {
                    return false;
                }
                let k = self.key(s.start);
                k.len() == value.len() + 1 && k[0] == kind as u8 && &k[1..] == value.as_bytes()
            })
            .map(|s| s.id)
    }

    /// `None` when the shard is full.
    fn intern(&mut self, h: u64, kind: IdKind, value: &str, next_id: impl FnOnce() -> u32) -> Option<u32> {
        if let Some(id) = self.find(h, kind, value) {
            return Some(id);
        }
        self.insert(h, kind as u8, value.as_bytes(), next_id)
    }

    /// Interns a key as stored in another shard (tag and value together).
    fn intern_key(&mut self, h: u64, key: &[u8], next_id: impl FnOnce() -> u32) -> Option<u32> {
        let found = self.table.find(h, |s| s.hash == h && self.key(s.start) == key).map(|s| s.id);
        match (found, key.split_first()) {
            (Some(id), _) => Some(id),
            (None, Some((&tag, value))) => self.insert(h, tag, value, next_id),
            (None, None) => None,
        }
    }

    fn insert(&mut self, h: u64, tag: u8, value: &[u8], next_id: impl FnOnce() -> u32) -> Option<u32> {
        // A shard's buffer is addressed with 32 bits: 4 GiB of identifiers in one shard of 64
        // is far past what memory allows for the rest of a run, so it is an error, not a case.
        let len = u32::try_from(value.len() + 1).ok()?;
        let start = u32::try_from(self.buf.len()).ok().filter(|s| s.checked_add(len + 4).is_some())?;
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.push(tag);
        self.buf.extend_from_slice(value);
        let id = next_id();
        self.ids.push(id);
        self.table.insert_unique(h, Slot { hash: h, start, id }, |s| s.hash);
        Some(id)
    }
}

/// The identifiers of one batch of rows, numbered from 0 in the batch, so that normalizing
/// takes no lock per row; [`SharedNodes::resolve`] gives them their run-wide ids afterwards.
#[derive(Default)]
pub struct LocalIds {
    shard: Shard,
    count: u32,
    /// Hash and key offset of each batch id, so resolving walks them by shard without
    /// scanning and sorting the table.
    keys: Vec<(u64, u32)>,
}

impl LocalIds {
    /// Room for `n` identifiers: a batch's table then never grows (and rehashes) row by row.
    pub fn with_capacity(n: usize) -> LocalIds {
        let shard = Shard { table: hashbrown::HashTable::with_capacity(n), buf: Vec::with_capacity(n * 24), ids: Vec::with_capacity(n) };
        LocalIds { shard, count: 0, keys: Vec::with_capacity(n) }
    }

    pub fn intern(&mut self, kind: IdKind, value: &str) -> u32 {
        let h = hash_key(kind, value);
        let (count, start) = (&mut self.count, self.shard.buf.len() as u32);
        let id = self.shard.intern(h, kind, value, || {
            *count += 1;
            *count - 1
        });
        if self.keys.len() < self.count as usize {
            self.keys.push((h, start));
        }
        // A batch is a few megabytes: its own shard cannot fill.
        id.unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The identifier table while exports are read on several threads at once. Ids are dense but
/// depend on which thread got there first, so nothing may be ordered by them.
pub struct SharedNodes {
    shards: Vec<std::sync::Mutex<Shard>>,
    next: std::sync::atomic::AtomicU32,
    full: std::sync::atomic::AtomicBool,
}

impl Default for SharedNodes {
    fn default() -> Self {
        SharedNodes {
            shards: (0..SHARDS).map(|_| std::sync::Mutex::new(Shard::default())).collect(),
            // Id 0 is "no identifier".
            next: std::sync::atomic::AtomicU32::new(1),
            full: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl SharedNodes {
    /// The run-wide id of each of a batch's identifiers, by batch id. Each shard is locked once
    /// per batch rather than once per row.
    pub fn resolve(&self, local: &LocalIds) -> Vec<u32> {
        // The batch's ids grouped by shard: a counting sort, two passes over a short array.
        let mut bounds = [0usize; SHARDS + 1];
        for &(h, _) in &local.keys {
            bounds[shard_of(h) + 1] += 1;
        }
        for i in 0..SHARDS {
            bounds[i + 1] += bounds[i];
        }
        let mut at = bounds;
        let mut order = vec![0u32; local.keys.len()];
        for (id, &(h, _)) in local.keys.iter().enumerate() {
            order[at[shard_of(h)]] = id as u32;
            at[shard_of(h)] += 1;
        }
        let mut map = vec![0u32; local.len()];
        for (s, run) in bounds.windows(2).enumerate().map(|(s, w)| (s, &order[w[0]..w[1]])) {
            if run.is_empty() {
                continue;
            }
            let mut shard = self.shards[s].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for &id in run {
                let (h, start) = local.keys[id as usize];
                match shard.intern_key(h, local.shard.key(start), || self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                    Some(g) => map[id as usize] = g,
                    None => self.full.store(true, std::sync::atomic::Ordering::Relaxed),
                }
            }
        }
        map
    }

    /// Whether an identifier could not be stored (see [`IdGraph::from_parts`]).
    pub fn overflowed(&self) -> bool {
        self.full.load(std::sync::atomic::Ordering::Relaxed)
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

    /// Identifiers carried, counted once per record.
    pub fn members(&self) -> usize {
        self.members.len()
    }

    /// Room for `records` more records carrying `members` identifiers in all.
    pub fn reserve(&mut self, records: usize, members: usize) {
        self.offsets.reserve_exact(records);
        self.members.reserve_exact(members);
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Renumbers identifiers: `map[old] = new`.
    pub fn remap(&mut self, map: &[u32]) {
        for m in &mut self.members {
            *m = map[*m as usize];
        }
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
    locate: std::sync::OnceLock<Vec<Loc>>,
    records: Records,
}

impl Default for IdGraph {
    fn default() -> Self {
        IdGraph {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            next: 1,
            locate: std::sync::OnceLock::new(),
            records: Records::default(),
        }
    }
}

impl IdGraph {
    /// Fails when the table overflowed while it was filled.
    pub fn from_parts(nodes: SharedNodes, records: Records) -> anyhow::Result<IdGraph> {
        if nodes.overflowed() {
            anyhow::bail!("more identifiers than one run can hold (over 4 GiB in one of {SHARDS} shards): split the exports by period");
        }
        let shards = nodes.shards.into_iter().map(|m| m.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)).collect();
        Ok(IdGraph { shards, next: nodes.next.into_inner(), locate: std::sync::OnceLock::new(), records })
    }

    pub fn node(&mut self, kind: IdKind, value: &str) -> u32 {
        let h = hash_key(kind, value);
        let next = &mut self.next;
        let id = self.shards[shard_of(h)].intern(h, kind, value, || {
            *next += 1;
            *next - 1
        });
        self.locate.take();
        // Only tests and small tables build a graph one node at a time.
        id.unwrap_or(0)
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
        match (node, self.locations().get(node as usize)) {
            (1.., Some(l)) => self.shards[l.shard as usize].key(l.start),
            _ => b"",
        }
    }

    /// Where every id's key is, with its kind tag so that asking an id's kind reads 8 bytes.
    fn locations(&self) -> &[Loc] {
        self.locate.get_or_init(|| {
            use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
            // Shards are read on every core at once; each writes the slots of its own ids, in
            // random order, so the slots are atomics (a relaxed store costs what a plain one does).
            let at: Vec<AtomicU64> = (0..self.next as usize).into_par_iter().map(|_| AtomicU64::new(0)).collect();
            self.shards.par_iter().enumerate().for_each(|(si, shard)| {
                for (id, start, key) in shard.entries() {
                    let tag = key.first().copied().unwrap_or(0);
                    at[id as usize].store(((si as u64) << 40) | ((tag as u64) << 32) | start as u64, Relaxed);
                }
            });
            at.into_par_iter()
                .map(|a| {
                    let v = a.into_inner();
                    Loc { shard: (v >> 40) as u8, tag: (v >> 32) as u8, start: v as u32 }
                })
                .collect()
        })
    }

    pub fn kind(&self, node: u32) -> IdKind {
        IdKind::from_tag(self.locations().get(node as usize).map_or(0, |l| l.tag))
    }

    pub fn value(&self, node: u32) -> &str {
        self.key(node).get(1..).unwrap_or("")
    }

    fn key(&self, node: u32) -> &str {
        // Keys are a tag byte and a `&str` value, so they are valid UTF-8.
        std::str::from_utf8(self.key_bytes(node)).unwrap_or("")
    }
}

#[derive(Clone, Copy)]
struct Loc {
    shard: u8,
    tag: u8,
    start: u32,
}

/// Joins the identifiers of one record that `keep` accepts.
fn join_all(uf: &mut UnionFind, members: &[u32], keep: impl Fn(u32) -> bool) {
    let mut kept = members.iter().copied().filter(|&x| keep(x));
    if let Some(first) = kept.next() {
        for x in kept {
            uf.union(first, x);
        }
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
    /// Each customer's smallest identifier (`u32::MAX` for a customer known by none), whose
    /// salted hash is its stable key (see [`Stitching::key`]). Hashing every customer up front
    /// costs more than the rest of a run's key work: most keys are never looked at.
    key_nodes: Vec<u32>,
    salt: String,
    /// Identifiers per customer, by kind (for `stitch` statistics).
    pub identifiers: Vec<u32>,
    pub refused: Vec<Refused>,
}

impl Stitching {
    /// The outcome for customers known only by number (a path table): none has a key.
    pub fn keyless(customers: usize) -> Stitching {
        Stitching {
            customer_of_record: Vec::new(),
            customer_of_node: Vec::new(),
            key_nodes: vec![u32::MAX; customers],
            salt: String::new(),
            identifiers: vec![0; customers],
            refused: Vec::new(),
        }
    }

    pub fn customers(&self) -> usize {
        self.key_nodes.len()
    }

    /// Stable key of a customer: salted hash of its smallest identifier (see [`hash_u64`]);
    /// `None` for a customer known by no usable identifier. Ordered as the hex keys shown.
    /// `g` is the graph this stitching was made from.
    pub fn key(&self, g: &IdGraph, customer: u32) -> Option<u64> {
        let node = *self.key_nodes.get(customer as usize)?;
        (node != u32::MAX).then(|| hash_u64(&self.salt, g.key_bytes(node)))
    }
}

/// Salted SHA-256 of a value, its first 8 bytes as a number: what [`hash_id`] shows in hex,
/// and orders the same way.
pub fn hash_u64(salt: &str, value: &[u8]) -> u64 {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0u8]);
    h.update(value);
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first)
}

/// Salted SHA-256 of a value, hex-encoded, truncated to 16 characters for display.
pub fn hash_id(salt: &str, value: &str) -> String {
    hex_key(hash_u64(salt, value.as_bytes()))
}

/// A hashed key as shown: 16 lowercase hex digits.
pub fn hex_key(k: u64) -> String {
    format!("{k:016x}")
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
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    let n = g.node_count();
    let locs = g.locations();
    let records = g.records() as u32;
    let persistent: Vec<bool> =
        (0..n).into_par_iter().map(|x| x == 0 || IdKind::from_tag(locs.get(x).map_or(0, |l| l.tag)).is_persistent()).collect();
    // 1. Candidates: identifiers that co-occur with more distinct persistent identifiers than
    //    the limit. Only they can join more customers than the limit, so only they are examined.
    //    Co-occurrences counted with repeats bound the distinct count from above, so only the
    //    identifiers above the limit by that count have their neighbours listed and sorted:
    //    usually a small share of the pairs every record would give.
    let seen: Vec<AtomicU32> = (0..n).into_par_iter().map(|_| AtomicU32::new(0)).collect();
    let limit = u32::try_from(max_customers).unwrap_or(u32::MAX);
    (0..records).into_par_iter().with_min_len(1 << 14).for_each(|r| {
        let m = g.record(r);
        if m.len() > 1 {
            for &x in m {
                // Counting stops past the limit, so a hub cannot overflow its counter.
                if seen[x as usize].load(Relaxed) <= limit {
                    seen[x as usize].fetch_add(m.len() as u32 - 1, Relaxed);
                }
            }
        }
    });
    let maybe = |x: u32| seen[x as usize].load(Relaxed) > limit;
    let mut near: Vec<(u32, u32)> = (0..records)
        .into_par_iter()
        .with_min_len(1 << 14)
        .flat_map_iter(|r| {
            // A record of one identifier has no neighbours to list.
            let m = g.record(r);
            let m = if m.len() > 1 { m } else { &[] };
            m.iter().filter(|&&a| maybe(a)).flat_map(move |&a| m.iter().filter(move |&&b| b != a).map(move |&b| (a, b)))
        })
        .collect();
    drop(seen);
    near.par_sort_unstable();
    near.dedup();
    // The listed neighbours are sorted, so each identifier's are one run.
    let mut candidate = vec![false; n];
    let over: Vec<u32> = near
        .par_chunk_by(|x, y| x.0 == y.0)
        .filter(|run| run.len() > max_customers && run.iter().filter(|(_, b)| persistent[*b as usize]).count() > max_customers)
        .map(|run| run[0].0)
        .collect();
    let any_candidate = !over.is_empty();
    for a in over {
        candidate[a as usize] = true;
    }

    // 2. Groups without the candidates: a record's other identifiers are all joined.
    let mut uf = UnionFind::new(n);
    for r in 0..records {
        join_all(&mut uf, g.record(r), |x| !candidate[x as usize]);
    }
    // 3. A candidate whose persistent neighbours lie in more groups than the limit is refused;
    //    the others join.
    let mut refused_flag = vec![false; n];
    let mut refused = Vec::new();
    for run in near.chunk_by(|x, y| x.0 == y.0) {
        let a = run[0].0;
        if !candidate[a as usize] {
            continue;
        }
        let mut roots: Vec<u32> =
            run.iter().filter(|(_, b)| !candidate[*b as usize] && persistent[*b as usize]).map(|&(_, b)| uf.find(b)).collect();
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
    drop(near);
    // A candidate that is not refused joins every identifier it shares a record with, except
    // refused ones; the record's other identifiers were joined in step 2.
    if any_candidate {
        for r in 0..records {
            let m = g.record(r);
            if m.iter().any(|&x| candidate[x as usize] && !refused_flag[x as usize]) {
                join_all(&mut uf, m, |x| !refused_flag[x as usize]);
            }
        }
    }
    refused.sort_by(|x, y| y.customers.cmp(&x.customers).then_with(|| x.value.cmp(&y.value)));
    // Every parent has a smaller index than its child (the smaller root always wins), so one
    // pass in index order finds every root.
    let mut root = uf.parent;
    for x in 0..n {
        root[x] = root[root[x] as usize];
    }

    // 4. Customers: one per group reached by a record, numbered in record order; a record whose
    //    identifiers are all refused (or that has none) is a customer of its own.
    let mut customer_of_root = vec![u32::MAX; n];
    let mut customers = 0u32;
    let customer_of_record: Vec<u32> = (0..records)
        .map(|r| {
            let usable = g.record(r).iter().copied().find(|&x| !refused_flag[x as usize]);
            let slot = match usable {
                Some(node) => &mut customer_of_root[root[node as usize] as usize],
                None => {
                    customers += 1;
                    return customers - 1;
                }
            };
            if *slot == u32::MAX {
                *slot = customers;
                customers += 1;
            }
            *slot
        })
        .collect();
    let mut identifiers = vec![0u32; customers as usize];
    let customer_of_node: Vec<u32> = (0..n)
        .map(|node| {
            if node == 0 || refused_flag[node] {
                return u32::MAX;
            }
            let c = customer_of_root[root[node] as usize];
            if c != u32::MAX {
                identifiers[c as usize] += 1;
            }
            c
        })
        .collect();
    drop(root);
    drop(customer_of_root);

    // Display keys come from content (the smallest identifier), never from input order. Keys are
    // compared on their first 16 bytes, read on every core at once (each is a random read); the
    // full comparison is only for keys that share them. Ids are visited in order, and customers
    // are numbered in record order, so the pass over them reads memory nearly in order.
    let prefixes: Vec<u128> = (0..n)
        .into_par_iter()
        .with_min_len(1 << 12)
        .map(|id| {
            if customer_of_node[id] == u32::MAX {
                return 0;
            }
            let k = g.key_bytes(id as u32);
            let mut p = [0u8; 16];
            let take = k.len().min(16);
            p[..take].copy_from_slice(&k[..take]);
            u128::from_be_bytes(p)
        })
        .collect();
    // The best so far sits with its prefix, so each step reads one place at random, not two.
    let mut best = vec![(0u128, u32::MAX); customers as usize];
    for (id, &c) in customer_of_node.iter().enumerate() {
        if c == u32::MAX {
            continue;
        }
        let (p, b) = (prefixes[id], &mut best[c as usize]);
        let better = b.1 == u32::MAX || p < b.0 || (p == b.0 && g.key_bytes(id as u32) < g.key_bytes(b.1));
        if better {
            *b = (p, id as u32);
        }
    }
    drop(prefixes);
    // Anonymous customers get no key here: only the records' own content (a receipt id) can
    // name them without depending on input order, and that is known to the caller.
    let key_nodes = best.into_iter().map(|(_, b)| b).collect();
    Stitching { customer_of_record, customer_of_node, key_nodes, salt: salt.to_string(), identifiers, refused }
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
    fn refusal_keeps_the_rest_of_a_record_joined() {
        // A hub on six receipts of different people, one of which also carries the buyer's
        // card and e-mail: the hub is refused, the card and e-mail still join each other.
        let mut g = IdGraph::default();
        let hub = g.node(IdKind::Phone, "74950000000");
        let mut recs = Vec::new();
        for i in 0..6 {
            let card = g.node(IdKind::LoyaltyCard, &format!("card{i}"));
            recs.push(g.add_record(&[card, hub]));
        }
        let mail = g.node(IdKind::Email, "a@example.ru");
        let card0 = g.find_node(IdKind::LoyaltyCard, "card0").unwrap();
        let both = g.add_record(&[mail, hub, card0]);
        let s = stitch(&g, 3, "salt");
        assert_eq!(s.refused.len(), 1);
        assert_eq!(s.customer_of_node[hub as usize], u32::MAX);
        assert_eq!(s.customer_of_record[both as usize], s.customer_of_record[recs[0] as usize]);
        assert_ne!(s.customer_of_record[recs[0] as usize], s.customer_of_record[recs[1] as usize]);
        assert_eq!(s.customers(), 6);
    }

    #[test]
    fn a_busy_identifier_of_one_person_joins() {
        // A phone on many records that all belong to one person (logins linked one to the
        // next) is a candidate by its neighbour count but joins: its neighbours are one group.
        let mut g = IdGraph::default();
        let phone = g.node(IdKind::Phone, "79161234567");
        let mut recs = Vec::new();
        let mut prev = None;
        for i in 0..8 {
            let order = g.node(IdKind::OrderId, &format!("o{i}"));
            let user = g.node(IdKind::UserId, &format!("u{i}"));
            if let Some(p) = prev {
                g.add_record(&[p, user]);
            }
            prev = Some(user);
            recs.push(g.add_record(&[order, phone, user]));
        }
        let s = stitch(&g, 3, "salt");
        assert!(s.refused.is_empty());
        assert_eq!(s.customers(), 1);
        assert!(recs.iter().all(|&r| s.customer_of_record[r as usize] == 0));
        assert_eq!(s.customer_of_node[phone as usize], 0, "the phone itself joins the person");
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
            let s = stitch(&g, 20, "s");
            let mut k: Vec<Option<u64>> = (0..s.customers() as u32).map(|c| s.key(&g, c)).collect();
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
