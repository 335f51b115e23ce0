//! Identity stitching: every record links the identifiers it carries (a call links a phone and a
//! client id, an order its id, phone, e-mail and client id), and a customer is a connected group
//! of that graph, found by union-find over interned identifiers.
//!
//! Over-merging guard: an identifier that would join more than `max_customers_per_identifier`
//! otherwise separate customers (a shop's own phone typed on every receipt, a test e-mail) is
//! refused for joining and listed in the summary.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

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
        // Called once per row of a links file: no allocation, and the canonical names (what
        // nearly every row holds) without the scan of every spelling.
        let s = s.trim();
        IdKind::PUBLIC
            .into_iter()
            .find(|k| k.name() == s)
            .or_else(|| NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(s)).map(|&(_, k)| k))
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

/// A key as one word and a few bits of meta (kind tag, length, which packing), when it fits
/// exactly: two keys pack equal only if they are equal. Digits (up to 19) are read as a number,
/// with their count keeping leading zeros; other keys of up to 8 bytes are their bytes; a longer
/// one that ends in digits after at most 7 other bytes (CRM ids `C10000008`, logins `u10000003`,
/// orders `ORD-100001`) is those bytes above the number, when the number fits below them. Keys
/// that pack are sorted as words by the run's resolution: a key that does not is hashed, and its
/// bytes are compared wherever hashes meet, reading them from wherever they lie.
fn pack(tag: u8, value: &[u8]) -> Option<(u64, u32)> {
    let meta = |packing: u32| (tag as u32) << 16 | packing << 8 | value.len() as u32;
    if let Some(n) = digits(value) {
        return Some((n, meta(DIGITS)));
    }
    if value.len() <= 8 {
        let mut word = [0u8; 8];
        word[..value.len()].copy_from_slice(value);
        return Some((u64::from_be_bytes(word), meta(BYTES)));
    }
    if value.len() > MAX_PACKED {
        return None;
    }
    // The prefix is what precedes the last run of digits, so that a key splits one way only.
    let head = value.iter().rposition(|b| !b.is_ascii_digit())? + 1;
    if head > 7 || head == value.len() {
        return None;
    }
    let n = digits(&value[head..])?;
    let low = 64 - 8 * head as u32;
    if n >> low != 0 {
        return None;
    }
    let mut word = [0u8; 8];
    word[8 - head..].copy_from_slice(&value[..head]);
    Some((u64::from_be_bytes(word) << low | n, meta(PREFIXED | (head as u32) << 4)))
}

/// How a key packs (see [`pack`]), in the meta's second byte; a prefixed key's prefix length
/// is in its high half.
const BYTES: u32 = 0;
const DIGITS: u32 = 1;
const PREFIXED: u32 = 2;

/// The longest key that packs: with its kind tag, it spells back into 20 bytes.
const MAX_PACKED: usize = 19;

/// The key [`pack`] packed, spelled back: its kind tag and its value, byte for byte, and how
/// many bytes that is.
fn spell(word: u64, meta: u32) -> ([u8; 20], usize) {
    let (packing, len) = ((meta >> 8) & 0xff, ((meta & 0xff) as usize).min(MAX_PACKED));
    let mut out = [0u8; 20];
    out[0] = (meta >> 16) as u8;
    let write_digits = |out: &mut [u8], mut n: u64| {
        for d in out.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    match packing & 0xf {
        DIGITS => write_digits(&mut out[1..=len], word),
        PREFIXED => {
            let head = ((packing >> 4) as usize).clamp(1, 7).min(len);
            let low = 64 - 8 * head as u32;
            write_digits(&mut out[1 + head..=len], word & ((1u64 << low) - 1));
            out[1..=head].copy_from_slice(&(word >> low).to_be_bytes()[8 - head..]);
        }
        _ => {
            let len = len.min(8);
            out[1..=len].copy_from_slice(&word.to_be_bytes()[..len]);
        }
    }
    (out, 1 + len)
}

/// A key as [`IdGraph`] hands it out: kind tag, then value.
enum KeyText<'a> {
    Spelled([u8; 20], usize),
    Stored(&'a [u8]),
}

impl std::ops::Deref for KeyText<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            KeyText::Spelled(b, n) => &b[..*n],
            KeyText::Stored(s) => s,
        }
    }
}

/// The number 1 to 19 ASCII digits write (at most 10^19 - 1, below 2^64); `None` for anything
/// else. Client ids and phones are 10 to 19 digits: read eight at a time.
fn digits(value: &[u8]) -> Option<u64> {
    if !(1..=19).contains(&value.len()) {
        return None;
    }
    let head = value.len() % 8;
    let mut n = 0u64;
    for &d in &value[..head] {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (d - b'0') as u64;
    }
    for chunk in value[head..].chunks_exact(8) {
        n = n * 100_000_000 + eight_digits(chunk.try_into().ok()?)?;
    }
    Some(n)
}

/// Eight ASCII digits, the first the most significant, as their number; `None` if any byte is
/// not a digit. Each step adds neighbouring lanes: digits into pairs, pairs into fours, fours
/// into the eight; no lane carries into the next.
fn eight_digits(b: [u8; 8]) -> Option<u64> {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    let w = u64::from_le_bytes(b);
    // A digit is 0x30..=0x39: its high half is 3, and adding 6 leaves it 3. A byte that wraps
    // when 6 is added fails the first test itself.
    if w & HIGH != ZEROS || w.wrapping_add(0x0606_0606_0606_0606) & HIGH != ZEROS {
        return None;
    }
    let v = w - ZEROS;
    let v = (v * 10 + (v >> 8)) & 0x00ff_00ff_00ff_00ff;
    let v = (v * 100 + (v >> 16)) & 0x0000_ffff_0000_ffff;
    Some((v & 0xffff) * 10_000 + (v >> 32))
}

/// In sorted `entries`, within each run of `same` ones, every entry that is not the first of
/// its key: `seen_again(its id, the id of its key's first entry)`, entries being of one key
/// unless `differ` tells them apart. Runs are split between cores whole.
fn runs<E: Sync>(
    entries: &[E],
    same: impl Fn(&E, &E) -> bool + Sync,
    id: impl Fn(&E) -> u32 + Sync,
    differ: impl Fn(&E, &E) -> bool + Sync,
    seen_again: impl Fn(u32, u32) + Sync,
) {
    let pieces = 64.min(entries.len().max(1));
    let mut cuts: Vec<usize> = (0..=pieces).map(|i| i * entries.len() / pieces).collect();
    for c in cuts.iter_mut().skip(1) {
        while *c < entries.len() && *c > 0 && same(&entries[*c], &entries[*c - 1]) {
            *c += 1;
        }
    }
    cuts.dedup();
    cuts.par_windows(2).for_each(|w| {
        let run_of = &entries[w[0]..w[1]];
        let mut heads: Vec<&E> = Vec::new();
        for (i, e) in run_of.iter().enumerate() {
            if i == 0 || !same(e, &run_of[i - 1]) {
                heads.clear();
                heads.push(e);
                continue;
            }
            match heads.iter().find(|h| !differ(h, e)) {
                Some(h) => seen_again(id(e), id(h)),
                None => heads.push(e),
            }
        }
    });
}

fn hash_key(kind: IdKind, value: &str) -> u64 {
    hash_tagged(kind as u8, value.as_bytes())
}

/// The hash of a key as stored (kind tag, then value): a batch hashes while it interns, and the
/// run's resolution hashes the stored bytes again rather than keep 8 more bytes per identifier.
fn hash_tagged(tag: u8, value: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write_u8(tag);
    h.write(value);
    h.finish()
}

/// Appends a key to a buffer of keys laid back to back, each a little-endian `u32` length, then
/// the kind tag and the value; returns where it starts. `None` past 4 GiB, which 32-bit offsets
/// cannot address.
fn push_key(buf: &mut Vec<u8>, tag: u8, value: &[u8]) -> Option<u32> {
    let len = u32::try_from(value.len() + 1).ok()?;
    let start = u32::try_from(buf.len()).ok().filter(|s| s.checked_add(len).and_then(|e| e.checked_add(4)).is_some())?;
    buf.extend_from_slice(&len.to_le_bytes());
    buf.push(tag);
    buf.extend_from_slice(value);
    Some(start)
}

/// The key (tag and value) starting at `start` of a buffer written by [`push_key`].
fn key_at(buf: &[u8], start: u32) -> &[u8] {
    let at = start as usize;
    let len = match buf.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]) as usize,
        _ => return b"",
    };
    buf.get(at + 4..at + 4 + len).unwrap_or(b"")
}

/// At most this many identifiers read in one run: while ids are numbered, the top bit of a
/// first appearance's mark tells its id from a position (see [`IdGraph::from_batches`]).
pub const MAX_IDS: u64 = 1 << 31;
const FIRST: u32 = 1 << 31;

/// `n` items `wrap(zero)` in the memory of `list`, which is no longer needed: memory of this
/// size allocated afresh is faulted in page by page as it is first written (seconds at 50M
/// visits), while the list's pages are resident already. Collecting a mapped list into items
/// of the same size and alignment reuses its allocation; it grows only if `n` is larger.
fn in_memory_of<T: Clone, U>(mut list: Vec<T>, n: usize, zero: T, wrap: impl FnMut(T) -> U) -> Vec<U> {
    list.clear();
    list.resize(n, zero);
    list.into_iter().map(wrap).collect()
}

/// The identifiers of one batch of rows, numbered from 0 in the batch, so that normalizing
/// takes no lock and reads no run-wide table per row; [`IdGraph::from_batches`] gives them
/// their run-wide ids once every batch is read.
///
/// Every identifier a row carries takes the next id, even one seen earlier in the batch: the
/// run's resolution sorts all the keys anyway and gives equal keys one id. A look-up table per
/// batch cost more than the extra keys the resolution sorts (M: loading 0.9 s faster,
/// resolution 0.3 s slower). Within a record equal keys take one id, as a record lists each
/// identifier once, and so does a key of the record before: an export that lists a visitor's
/// rows together (a session log ordered by client) then gives the resolution a key per visitor
/// rather than per row, for a few comparisons per key on files that do not.
///
/// A key that packs into a word (see [`pack`]: client ids, phones, cards, short logins) is
/// kept as that word alone, as the resolution sorts it: its bytes are written again only for
/// the run's distinct keys, not for every occurrence.
#[derive(Default)]
pub struct LocalIds {
    /// Packed keys: `[word, meta << 32 | id]`, in id order.
    exact: Vec<[u64; 2]>,
    /// The other keys, back to back (see [`push_key`]), and their ids, in id order.
    buf: Vec<u8>,
    stored: Vec<u32>,
    count: u32,
    /// The current record's keys, with their ids.
    record: Vec<(Held, u32)>,
    /// The keys of the record before (the last one that carried any): exports often list a
    /// visitor's rows one after another (a session log ordered by client, an order's lines), and
    /// a key read again on the next row keeps its id, so the run sorts it once rather than once a row.
    prev: Vec<(Held, u32)>,
    /// A key could not be stored (over 4 GiB of identifiers in one batch).
    full: bool,
}

/// A key of the current record: packed, or where it starts in the batch's buffer.
#[derive(Clone, Copy)]
enum Held {
    Word(u64, u32),
    At(u32),
}

impl LocalIds {
    /// Room for `n` identifiers.
    pub fn with_capacity(n: usize) -> LocalIds {
        LocalIds { exact: Vec::with_capacity(n), ..Default::default() }
    }

    pub fn intern(&mut self, kind: IdKind, value: &str) -> u32 {
        let (tag, bytes) = (kind as u8, value.as_bytes());
        let packed = pack(tag, bytes);
        let buf = &self.buf;
        let same = |held: &Held| match (*held, packed) {
            (Held::Word(w, m), Some((word, meta))) => w == word && m == meta,
            (Held::At(start), None) => {
                let k = key_at(buf, start);
                k.len() == bytes.len() + 1 && k[0] == tag && &k[1..] == bytes
            }
            _ => false,
        };
        if let Some(&(_, id)) = self.record.iter().find(|(held, _)| same(held)) {
            return id;
        }
        if let Some(&(held, id)) = self.prev.iter().find(|(held, _)| same(held)) {
            self.record.push((held, id));
            return id;
        }
        let id = self.count;
        let held = match packed {
            Some((word, meta)) => {
                self.exact.push([word, (meta as u64) << 32 | id as u64]);
                Held::Word(word, meta)
            }
            None => {
                let Some(start) = push_key(&mut self.buf, tag, bytes) else {
                    // Reported when the batch's keys are resolved.
                    self.full = true;
                    return 0;
                };
                self.stored.push(id);
                Held::At(start)
            }
        };
        self.count += 1;
        self.record.push((held, id));
        id
    }

    /// The current record is complete (or was given up): the next key starts the next one.
    pub fn end_record(&mut self) {
        if !self.record.is_empty() {
            std::mem::swap(&mut self.record, &mut self.prev);
            self.record.clear();
        }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The batch's keys, waiting for the run's resolution.
    pub fn into_keys(self) -> BatchKeys {
        BatchKeys { exact: self.exact, buf: self.buf, stored: self.stored, count: self.count, full: self.full }
    }
}

/// The keys of one batch (see [`LocalIds`]), waiting for the run's resolution.
#[derive(Default)]
pub struct BatchKeys {
    exact: Vec<[u64; 2]>,
    buf: Vec<u8>,
    stored: Vec<u32>,
    count: u32,
    full: bool,
}

impl BatchKeys {
    /// How many identifiers the batch holds.
    pub fn len(&self) -> u32 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Each key kept as bytes: its id, start in the buffer, kind tag and value, in id order.
    fn stored(&self) -> impl Iterator<Item = (u32, u32, u8, &[u8])> + '_ {
        let mut at = 0usize;
        self.stored.iter().map_while(move |&id| {
            let k = key_at(&self.buf, at as u32);
            let (&tag, value) = k.split_first()?;
            let start = at as u32;
            at += 4 + k.len();
            Some((id, start, tag, value))
        })
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
        // Most records (a visit, an order) carry one identifier: nothing to compare it with.
        if let [n] = nodes {
            self.members.push(*n);
        } else {
            for &n in nodes {
                if !self.members[self.offsets[idx as usize] as usize..].contains(&n) {
                    self.members.push(n);
                }
            }
        }
        self.offsets.push(self.members.len() as u32);
        idx
    }

    /// Appends another list, adding `id_base` to its identifiers; returns the index its first
    /// record gets.
    pub fn append(&mut self, other: &Records, id_base: u32) -> u32 {
        let base = self.len() as u32;
        let shift = self.members.len() as u32;
        self.members.extend(other.members.iter().map(|&m| m + id_base));
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

    /// Room for `records` records, each carrying an identifier or two (most carry one), so that
    /// a batch's lists do not grow by doubling row by row.
    pub fn with_capacity(records: usize) -> Records {
        let mut r = Records::default();
        r.reserve(records, records + records / 4);
        r
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
        self.members.par_iter_mut().with_min_len(1 << 16).for_each(|m| *m = map.get(*m as usize).copied().unwrap_or(0));
    }

    pub fn get(&self, r: u32) -> &[u32] {
        &self.members[self.offsets[r as usize] as usize..self.offsets[r as usize + 1] as usize]
    }
}

/// Identifiers (interned with their kind) and the records that link them.
pub struct IdGraph {
    /// Buffers of keys (see [`push_key`]): one per batch read, or one for a graph built node by
    /// node.
    bufs: Vec<Vec<u8>>,
    /// Where each id's key is; id 0 is "no identifier".
    locs: Vec<Loc>,
    /// Ids by key, built on first look-up: only graphs built node by node use it.
    index: std::sync::OnceLock<hashbrown::HashTable<u32>>,
    records: Records,
    /// The id map's memory, kept for [`stitch`]'s counters (4 bytes per identifier, no more
    /// than the map): memory freed here is handed back before stitching asks for as much,
    /// which then faults it in afresh, page by page.
    spare: std::sync::Mutex<Vec<u32>>,
}

impl Default for IdGraph {
    fn default() -> Self {
        IdGraph {
            bufs: Vec::new(),
            locs: vec![Loc::NONE],
            index: std::sync::OnceLock::new(),
            records: Records::default(),
            spare: Default::default(),
        }
    }
}

impl IdGraph {
    /// Gives every batch's identifiers their run-wide ids and renumbers the records, which carry
    /// batch `b`'s id `i` as `base_b + i`, `base_b` being 1 plus the sizes of the batches before.
    ///
    /// A run-wide hash table looked up from every batch costs a cache miss or two per identifier
    /// at tens of millions of them. Sorting the keys instead reads memory in order. Most keys
    /// (client ids, phones, cards, short logins) fit in a word exactly (see [`pack`]), so equal
    /// words are equal keys; the others are sorted by hash, and keys are compared only where
    /// hashes are equal, nearly always the same key read again. Ids are given in order of first
    /// appearance, so they do not depend on thread timing.
    pub fn from_batches(batches: Vec<BatchKeys>, records: Records) -> anyhow::Result<IdGraph> {
        Self::resolve(batches, records, hash_tagged)
    }

    /// [`IdGraph::from_batches`] with the hash given, so that tests can make every key collide.
    fn resolve(batches: Vec<BatchKeys>, mut records: Records, hash: impl Fn(u8, &[u8]) -> u64 + Sync) -> anyhow::Result<IdGraph> {
        let mut bases = Vec::with_capacity(batches.len());
        let mut next = 1u64;
        for b in &batches {
            if b.full {
                anyhow::bail!("over 4 GiB of identifiers in one block of an export: split the file");
            }
            bases.push(next as u32);
            next += b.count as u64;
            if next > MAX_IDS {
                anyhow::bail!("more identifiers than one run can hold (over 2 billion): split the exports by period");
            }
        }
        if batches.len() >= Loc::MAX_BUFS {
            anyhow::bail!("more blocks than one run can hold: split the exports by period");
        }
        let total = next as usize;
        // 1. Every key as a word that is the key itself, or else as its hash, with its
        //    provisional id (and, for a hash, where the key is), filled in place on every core.
        let n_exact = batches.iter().map(|b| b.exact.len()).sum::<usize>();
        let n_hashed = batches.iter().map(|b| b.stored.len()).sum::<usize>();
        let (mut exact, mut hashed) = (vec![[0u64; 2]; n_exact], vec![[0u64; 2]; n_hashed]);
        let mut parts = Vec::with_capacity(batches.len());
        let (mut rest_e, mut rest_h) = (exact.as_mut_slice(), hashed.as_mut_slice());
        for (b, &base) in batches.iter().zip(&bases) {
            let (e, tail_e) = rest_e.split_at_mut(b.exact.len());
            let (h, tail_h) = rest_h.split_at_mut(b.stored.len());
            parts.push((e, h, b, base as u64));
            (rest_e, rest_h) = (tail_e, tail_h);
        }
        parts.into_par_iter().for_each(|(e, h, b, base)| {
            // A batch id is below 2^32 - base: adding the base leaves the meta above it alone.
            for (slot, k) in e.iter_mut().zip(&b.exact) {
                *slot = [k[0], k[1] + base];
            }
            for (slot, (id, start, tag, value)) in h.iter_mut().zip(b.stored()) {
                *slot = [hash(tag, value), (base + id as u64) << 32 | start as u64];
            }
        });
        crate::log::step("keys listed");
        // As one 128-bit number each, a comparison is two instructions rather than a loop over words.
        let wide = |e: &[u64; 2]| (u128::from(e[0]) << 64) | u128::from(e[1]);
        let (_, _) = rayon::join(|| exact.par_sort_unstable_by_key(wide), || hashed.par_sort_unstable_by_key(wide));
        crate::log::step("keys sorted");
        // 2. Each key's first appearance (its lowest id, first in its run) stands for the
        //    others: `first_of[p]` is it for a key seen again at `p`, 0 at a first appearance.
        //    Written in place from every core (each `p` once) rather than listed and sorted.
        let first_of: Vec<AtomicU32> = (0..total).into_par_iter().map(|_| AtomicU32::new(0)).collect();
        let seen_again = |p: u32, first: u32| first_of[p as usize].store(first, Relaxed);
        runs(&exact, |a, b| a[0] == b[0] && a[1] >> 32 == b[1] >> 32, |e| e[1] as u32, |_, _| false, seen_again);
        let batch_of = |p: u32| bases.partition_point(|&b| b <= p) - 1;
        let key = |e: &[u64; 2]| key_at(&batches[batch_of((e[1] >> 32) as u32)].buf, e[1] as u32);
        runs(&hashed, |a, b| a[0] == b[0], |e| (e[1] >> 32) as u32, |a, b| key(a) != key(b), seen_again);
        drop(hashed);
        crate::log::step("first appearances");
        // 3. Ids in order of first appearance: a batch's new keys take the next ids after the
        //    new keys of the batches before it, so batches are numbered side by side. A first
        //    appearance's mark becomes its id, flagged so that it is not read as a position:
        //    the marks become the map in their own memory (a map allocated afresh is faulted in
        //    page by page, 4 bytes per identifier read).
        let of_batch = |b: usize| &first_of[bases[b] as usize..bases[b] as usize + batches[b].count as usize];
        let fresh: Vec<usize> =
            (0..batches.len()).into_par_iter().map(|b| of_batch(b).iter().filter(|f| f.load(Relaxed) == 0).count()).collect();
        // The locations take the sorted list's memory (same size per item, and at least as many
        // items when most keys pack).
        let mut locs: Vec<Loc> = in_memory_of(exact, 1 + fresh.iter().sum::<usize>(), [0, 0], Loc);
        let mut parts = Vec::with_capacity(batches.len());
        let (mut rest_l, mut next) = (&mut locs[1..], 1u32);
        for (b, &n) in fresh.iter().enumerate() {
            let (l, tail_l) = rest_l.split_at_mut(n);
            parts.push((b, l, next));
            rest_l = tail_l;
            next += n as u32;
        }
        parts.into_par_iter().for_each(|(b, l, first_id)| {
            let (seen, batch) = (of_batch(b), &batches[b]);
            let mut fresh_ids = l.iter_mut().zip(first_id..);
            let (mut exact, mut kept) = (batch.exact.iter().peekable(), batch.stored());
            for i in 0..batch.count {
                let mark = &seen[i as usize];
                // Every id is a packed key or a stored one, each list in id order.
                let loc = match exact.next_if(|e| e[1] as u32 == i) {
                    Some(&[word, low]) => {
                        if mark.load(Relaxed) != 0 {
                            continue;
                        }
                        Loc::packed(word, (low >> 32) as u32)
                    }
                    None => match kept.next() {
                        Some((_, start, tag, _)) if mark.load(Relaxed) == 0 => Loc::stored(b, tag, start),
                        _ => continue,
                    },
                };
                if let Some((slot, id)) = fresh_ids.next() {
                    *slot = loc;
                    mark.store(id | FIRST, Relaxed);
                }
            }
        });
        // A key seen again takes the id of its first appearance, numbered above. Each position
        // is written by one thread only, and a first appearance's id reads the same with or
        // without its flag, so the passes need no order between threads.
        first_of.par_iter().with_min_len(1 << 14).for_each(|f| {
            let v = f.load(Relaxed);
            let id = if v & FIRST != 0 || v == 0 { v } else { first_of[v as usize].load(Relaxed) };
            f.store(id & !FIRST, Relaxed);
        });
        let map: Vec<u32> = first_of.into_iter().map(AtomicU32::into_inner).collect();
        crate::log::step("ids numbered");
        records.remap(&map);
        crate::log::step("records renumbered");
        let bufs = batches.into_iter().map(|b| b.buf).collect();
        Ok(IdGraph { bufs, locs, index: std::sync::OnceLock::new(), records, spare: std::sync::Mutex::new(map) })
    }

    pub fn node(&mut self, kind: IdKind, value: &str) -> u32 {
        if let Some(id) = self.find_node(kind, value) {
            return id;
        }
        if self.bufs.is_empty() {
            self.bufs.push(Vec::new());
        }
        let b = self.bufs.len() - 1;
        // Only tests and small tables build a graph one node at a time.
        let Some(start) = push_key(&mut self.bufs[b], kind as u8, value.as_bytes()) else {
            return 0;
        };
        let id = self.locs.len() as u32;
        self.locs.push(Loc::stored(b, kind as u8, start));
        let (bufs, locs) = (&self.bufs, &self.locs);
        if let Some(index) = self.index.get_mut() {
            index.insert_unique(hash_key(kind, value), id, |&i| hash_of(bufs, locs, i));
        }
        id
    }

    pub fn find_node(&self, kind: IdKind, value: &str) -> Option<u32> {
        let index = self.index.get_or_init(|| {
            let mut t = hashbrown::HashTable::with_capacity(self.locs.len());
            for id in 1..self.locs.len() as u32 {
                t.insert_unique(hash_of(&self.bufs, &self.locs, id), id, |&i| hash_of(&self.bufs, &self.locs, i));
            }
            t
        });
        let h = hash_key(kind, value);
        index
            .find(h, |&i| {
                let k = self.key_bytes(i);
                k.len() == value.len() + 1 && k[0] == kind as u8 && &k[1..] == value.as_bytes()
            })
            .copied()
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
        self.locs.len()
    }

    /// The node's key (kind tag + value): sorts by kind, then value.
    fn key_bytes(&self, node: u32) -> KeyText<'_> {
        key_of(&self.bufs, &self.locs, node)
    }

    pub fn kind(&self, node: u32) -> IdKind {
        IdKind::from_tag(self.locs.get(node as usize).map_or(0, |l| l.tag()))
    }

    pub fn value(&self, node: u32) -> std::borrow::Cow<'_, str> {
        // Keys are a tag byte and a `&str` value (spelled back byte for byte), so valid UTF-8.
        fn text(key: &[u8]) -> &str {
            std::str::from_utf8(key.get(1..).unwrap_or(b"")).unwrap_or("")
        }
        match self.key_bytes(node) {
            KeyText::Stored(k) => text(k).into(),
            spelled => text(&spelled).to_string().into(),
        }
    }
}

fn key_of<'a>(bufs: &'a [Vec<u8>], locs: &[Loc], node: u32) -> KeyText<'a> {
    match (node, locs.get(node as usize)) {
        (1.., Some(l)) => match l.unpacked() {
            Some((word, meta)) => {
                let (b, n) = spell(word, meta);
                KeyText::Spelled(b, n)
            }
            None => KeyText::Stored(bufs.get(l.buf()).map_or(&b""[..], |b| key_at(b, l.start()))),
        },
        _ => KeyText::Stored(b""),
    }
}

fn hash_of(bufs: &[Vec<u8>], locs: &[Loc], node: u32) -> u64 {
    match key_of(bufs, locs, node).split_first() {
        Some((&tag, value)) => hash_tagged(tag, value),
        None => 0,
    }
}

/// Where an id's key is: the key itself when it packs (see [`pack`]: `[word, PACKED | meta]`),
/// spelled out only when asked for (most never are); else its buffer (24 bits),
/// kind tag (8) and offset in the buffer (32) in the first word.
#[derive(Clone, Copy)]
struct Loc([u64; 2]);

impl Loc {
    const MAX_BUFS: usize = 1 << 24;
    const PACKED: u64 = 1 << 63;
    const NONE: Loc = Loc([0, 0]);

    fn stored(buf: usize, tag: u8, start: u32) -> Loc {
        Loc([((buf as u64) << 40) | ((tag as u64) << 32) | start as u64, 0])
    }

    fn packed(word: u64, meta: u32) -> Loc {
        Loc([word, Loc::PACKED | meta as u64])
    }

    /// The packed key's word and meta, if it packs.
    fn unpacked(self) -> Option<(u64, u32)> {
        (self.0[1] & Loc::PACKED != 0).then_some((self.0[0], self.0[1] as u32))
    }

    fn buf(self) -> usize {
        (self.0[0] >> 40) as usize
    }

    fn tag(self) -> u8 {
        match self.unpacked() {
            Some((_, meta)) => (meta >> 16) as u8,
            None => (self.0[0] >> 32) as u8,
        }
    }

    fn start(self) -> u32 {
        self.0[0] as u32
    }
}

/// Numbers the items `picked` accepts in slice order from `start`, on every core: each becomes
/// `set(item, Some(its number))`, every other `set(item, None)`. Returns the next number.
fn number_in_order(
    items: &mut [u32],
    start: u32,
    picked: impl Fn(u32) -> bool + Sync,
    set: impl Fn(u32, Option<u32>) -> u32 + Sync,
) -> u32 {
    let piece = items.len().div_ceil(64).max(1 << 14);
    let counts: Vec<u32> = items.par_chunks(piece).map(|c| c.iter().filter(|&&x| picked(x)).count() as u32).collect();
    let mut firsts = Vec::with_capacity(counts.len());
    let mut next = start;
    for c in counts {
        firsts.push(next);
        next += c;
    }
    items.par_chunks_mut(piece).zip(firsts).for_each(|(chunk, mut k)| {
        for x in chunk {
            *x = if picked(*x) {
                k += 1;
                set(*x, Some(k - 1))
            } else {
                set(*x, None)
            };
        }
    });
    next
}

/// Joins the identifiers of one record that `keep` accepts.
fn join_all(members: &[u32], keep: impl Fn(u32) -> bool, mut union: impl FnMut(u32, u32)) {
    let mut kept = members.iter().copied().filter(|&x| keep(x));
    if let Some(first) = kept.next() {
        for x in kept {
            union(first, x);
        }
    }
}

/// A union-find every core joins into at once. A root is only ever linked under a smaller root,
/// by compare-and-swap, so each set's root is its smallest member whatever order the unions
/// come in: the outcome does not depend on the thread count.
struct UnionFind {
    parent: Vec<AtomicU32>,
}

impl UnionFind {
    /// Singletons in `memory`'s allocation: one already faulted in costs nothing to reuse, a
    /// fresh one faults in every page (at tens of millions of identifiers, seconds).
    fn in_memory(memory: Vec<AtomicU32>) -> Self {
        memory.par_iter().enumerate().with_min_len(1 << 14).for_each(|(i, p)| p.store(i as u32, Relaxed));
        UnionFind { parent: memory }
    }

    fn find(&self, mut x: u32) -> u32 {
        loop {
            let p = self.parent[x as usize].load(Relaxed);
            if p == x {
                return x;
            }
            let gp = self.parent[p as usize].load(Relaxed);
            // Path halving. A node that is not a root never becomes one again, and every
            // ancestor is in its set and smaller than it: writing one over its parent keeps
            // both true, whatever another core wrote there meanwhile.
            if gp != p {
                self.parent[x as usize].store(gp, Relaxed);
            }
            x = gp;
        }
    }

    fn union(&self, a: u32, b: u32) {
        let (mut a, mut b) = (a, b);
        loop {
            let (ra, rb) = (self.find(a), self.find(b));
            if ra == rb {
                return;
            }
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            // `hi` may have been linked elsewhere since it was found a root: then try again
            // from where it went.
            if self.parent[hi as usize].compare_exchange(hi, lo, Relaxed, Relaxed).is_ok() {
                return;
            }
            (a, b) = (lo, hi);
        }
    }

    /// Every node's root, in the parents' memory. Parents are smaller than their children, so
    /// one pass in index order, each node taking its parent's root, finds them all.
    fn into_roots(self) -> Vec<u32> {
        let mut root: Vec<u32> = self.parent.into_iter().map(AtomicU32::into_inner).collect();
        for x in 0..root.len() {
            root[x] = root[root[x] as usize];
        }
        root
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
    customers: usize,
    /// Each customer's smallest identifier (`u32::MAX` for a customer known by none), whose
    /// salted hash is its stable key (see [`Stitching::key`]). Found when a key is first asked
    /// for: a report of channels shows none and breaks no tie by one. Hashing every customer up
    /// front would cost more again: most keys are never looked at.
    key_nodes: std::sync::OnceLock<Vec<u32>>,
    salt: String,
    /// Identifiers per customer (for `stitch` statistics), counted when first asked for.
    identifiers: std::sync::OnceLock<Vec<u32>>,
    pub refused: Vec<Refused>,
}

impl Stitching {
    /// The outcome for customers known only by number (a path table): none has a key.
    pub fn keyless(customers: usize) -> Stitching {
        Stitching {
            customer_of_record: Vec::new(),
            customer_of_node: Vec::new(),
            customers,
            key_nodes: std::sync::OnceLock::from(vec![u32::MAX; customers]),
            salt: String::new(),
            identifiers: std::sync::OnceLock::from(vec![0; customers]),
            refused: Vec::new(),
        }
    }

    pub fn customers(&self) -> usize {
        self.customers
    }

    /// How many identifiers each customer has.
    pub fn identifiers(&self) -> &[u32] {
        self.identifiers.get_or_init(|| {
            let mut n = vec![0u32; self.customers];
            for &c in &self.customer_of_node {
                if let Some(x) = n.get_mut(c as usize) {
                    *x += 1;
                }
            }
            n
        })
    }

    /// Finds every customer's key identifier on every core; callers about to ask for many keys
    /// from parallel loops call it first. Without it the first [`Stitching::key`] finds them
    /// on one core: a rayon worker that started the search on every core could take up another
    /// key look-up while it waits, and wait on itself.
    pub fn find_keys(&self, g: &IdGraph) {
        self.key_nodes.get_or_init(|| key_nodes(g, &self.customer_of_node, self.customers, true));
    }

    /// Stable key of a customer: salted hash of its smallest identifier (see [`hash_u64`]);
    /// `None` for a customer known by no usable identifier. Ordered as the hex keys shown.
    /// `g` is the graph this stitching was made from.
    pub fn key(&self, g: &IdGraph, customer: u32) -> Option<u64> {
        let nodes = self.key_nodes.get_or_init(|| key_nodes(g, &self.customer_of_node, self.customers, false));
        let node = *nodes.get(customer as usize)?;
        (node != u32::MAX).then(|| hash_u64(&self.salt, &g.key_bytes(node)))
    }
}

/// Each customer's smallest identifier, from content (never from input order). Each
/// customer's best so far is one word, lowered by compare-and-swap: the minimum of a set does
/// not depend on the order it is taken in, and identifiers are distinct keys, so there are no
/// ties and the result is the same on any number of threads. One word per customer rather than
/// a key prefix per identifier keeps the fresh memory (each page dear to fault in) small.
fn key_nodes(g: &IdGraph, customer_of_node: &[u32], customers: usize, parallel: bool) -> Vec<u32> {
    let best: Vec<AtomicU32> = if parallel {
        (0..customers).into_par_iter().map(|_| AtomicU32::new(u32::MAX)).collect()
    } else {
        (0..customers).map(|_| AtomicU32::new(u32::MAX)).collect()
    };
    let lower = |(id, &c): (usize, &u32)| {
        if c == u32::MAX {
            return;
        }
        let (slot, key) = (&best[c as usize], g.key_bytes(id as u32));
        let mut cur = slot.load(Relaxed);
        while cur == u32::MAX || *key < *g.key_bytes(cur) {
            match slot.compare_exchange_weak(cur, id as u32, Relaxed, Relaxed) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
    };
    if parallel {
        customer_of_node.par_iter().enumerate().with_min_len(1 << 12).for_each(lower);
    } else {
        customer_of_node.iter().enumerate().for_each(lower);
    }
    best.into_iter().map(AtomicU32::into_inner).collect()
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
            // Digits on either side of a decimal point are a number (`143087.13700000002`),
            // not a phone: the regex cannot look around its match, so the bytes beside it are read.
            let (start, end) = c.get(0).map_or((0, 0), |x| (x.start(), x.end()));
            let b = text.as_bytes();
            let point_digit = |p: usize, q: usize| matches!(b.get(p), Some(b'.' | b',')) && b.get(q).is_some_and(u8::is_ascii_digit);
            if (start >= 2 && point_digit(start - 1, start - 2)) || point_digit(end, end + 1) {
                return m.to_string();
            }
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
    let locs = &g.locs;
    let records = g.records() as u32;
    let persistent: Vec<bool> =
        (0..n).into_par_iter().map(|x| x == 0 || IdKind::from_tag(locs.get(x).map_or(0, |l| l.tag())).is_persistent()).collect();
    // 1. Candidates: identifiers that co-occur with more distinct identifiers than the limit.
    //    Only they can join more customers than the limit, so only they are examined.
    //    Co-occurrences counted with repeats bound the distinct count from above, so only the
    //    identifiers above the limit by that count have their neighbours listed and sorted:
    //    usually a small share of the pairs every record would give.
    let spare = g.spare.lock().map(|mut m| std::mem::take(&mut *m)).unwrap_or_default();
    let seen: Vec<AtomicU32> = in_memory_of(spare, n, 0, AtomicU32::new);
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
    near.par_sort_unstable();
    near.dedup();
    // The listed neighbours are sorted, so each identifier's are one run.
    let mut candidate = vec![false; n];
    let over: Vec<u32> = near.par_chunk_by(|x, y| x.0 == y.0).filter(|run| run.len() > max_customers).map(|run| run[0].0).collect();
    let any_candidate = !over.is_empty();
    for a in over {
        candidate[a as usize] = true;
    }

    crate::log::step("hubs counted");
    // 2. Groups without the candidates: a record's other identifiers are all joined, on every
    //    core, in the counters' memory.
    let uf = UnionFind::in_memory(seen);
    (0..records).into_par_iter().with_min_len(1 << 14).for_each(|r| {
        let m = g.record(r);
        if m.len() > 1 {
            join_all(m, |x| !candidate[x as usize], |a, b| uf.union(a, b));
        }
    });
    crate::log::step("groups joined");
    // 3. A candidate whose neighbours lie in more customers than the limit is refused; the
    //    others join. A neighbour's group is a customer when it holds an identifier of a person:
    //    an order or receipt id counts through the client id or card beside it (a till phone
    //    on click-and-collect receipts, each with its order id, reaches every buyer that way),
    //    and not alone (a loyal buyer's phone on many orders that carry nothing else is still
    //    one person's phone).
    let reached_by_id: Vec<u32> = near
        .par_iter()
        .filter(|&&(a, b)| candidate[a as usize] && !candidate[b as usize] && !persistent[b as usize])
        .map(|&(_, b)| uf.find(b))
        .collect();
    let mut person = vec![false; if reached_by_id.is_empty() { 0 } else { n }];
    if !reached_by_id.is_empty() {
        let mut wanted = vec![false; n];
        for r in reached_by_id {
            wanted[r as usize] = true;
        }
        let found: Vec<u32> = (1..n as u32)
            .into_par_iter()
            .with_min_len(1 << 14)
            .filter(|&x| persistent[x as usize] && !candidate[x as usize])
            .map(|x| uf.find(x))
            .filter(|&r| wanted[r as usize])
            .collect();
        for r in found {
            person[r as usize] = true;
        }
    }
    let is_customer = |b: u32, root: u32| persistent[b as usize] || person.get(root as usize).is_some_and(|&p| p);
    let mut refused_flag = vec![false; n];
    let mut refused = Vec::new();
    for run in near.chunk_by(|x, y| x.0 == y.0) {
        let a = run[0].0;
        if !candidate[a as usize] {
            continue;
        }
        let mut roots: Vec<u32> = run
            .iter()
            .filter(|(_, b)| !candidate[*b as usize])
            .map(|&(_, b)| (b, uf.find(b)))
            .filter(|&(b, root)| is_customer(b, root))
            .map(|(_, root)| root)
            .collect();
        roots.sort_unstable();
        roots.dedup();
        if roots.len() > max_customers {
            refused_flag[a as usize] = true;
            let kind = g.kind(a);
            refused.push(Refused {
                kind,
                value: if kind.is_personal() { format!("#{}", hash_id(salt, &g.value(a))) } else { g.value(a).to_string() },
                customers: roots.len(),
            });
        }
    }
    drop(near);
    // A candidate that is not refused joins every identifier it shares a record with, except
    // refused ones; the record's other identifiers were joined in step 2. On every core, as
    // in step 2: a set's root is its smallest member whatever order the unions come in.
    if any_candidate {
        (0..records).into_par_iter().with_min_len(1 << 14).for_each(|r| {
            let m = g.record(r);
            if m.iter().any(|&x| candidate[x as usize] && !refused_flag[x as usize]) {
                join_all(m, |x| !refused_flag[x as usize], |a, b| uf.union(a, b));
            }
        });
    }
    refused.sort_by(|x, y| y.customers.cmp(&x.customers).then_with(|| x.value.cmp(&y.value)));
    let root = uf.into_roots();

    crate::log::step("hubs settled");
    // 4. Customers: one per group reached by a record, numbered in the order of the groups'
    //    roots (identifiers, numbered by first appearance), then one per record whose
    //    identifiers are all refused (or that has none), in record order. Every step is a pass
    //    on both cores: numbering by first record instead took a pass in record order, one
    //    random read per record on one core. What a report shows never depends on these
    //    numbers (it would then depend on the order of the rows).
    let mut customer_of_record: Vec<u32> = (0..records)
        .into_par_iter()
        .with_min_len(1 << 12)
        .map(|r| g.record(r).iter().find(|&&x| !refused_flag[x as usize]).map_or(u32::MAX, |&node| root[node as usize]))
        .collect();
    let reached: Vec<AtomicU32> = (0..n).into_par_iter().map(|_| AtomicU32::new(0)).collect();
    customer_of_record.par_iter().with_min_len(1 << 12).filter(|&&c| c != u32::MAX).for_each(|&c| reached[c as usize].store(1, Relaxed));
    let mut customer_of_root: Vec<u32> = reached.into_iter().map(AtomicU32::into_inner).collect();
    let groups = number_in_order(&mut customer_of_root, 0, |m| m == 1, |_, k| k.unwrap_or(u32::MAX));
    let customers =
        number_in_order(&mut customer_of_record, groups, |c| c == u32::MAX, |c, k| k.unwrap_or_else(|| customer_of_root[c as usize]));
    // Each identifier's root becomes its customer in the roots' own memory: a root is read
    // only through `customer_of_root`, never through another identifier's slot.
    let mut customer_of_node = root;
    customer_of_node.par_iter_mut().enumerate().with_min_len(1 << 12).for_each(|(node, r)| {
        *r = if node == 0 || refused_flag[node] { u32::MAX } else { customer_of_root[*r as usize] };
    });
    drop(customer_of_root);
    crate::log::step("customers numbered");

    // Anonymous customers get no key: only the records' own content (a receipt id) can name
    // them without depending on input order, and that is known to the caller.
    Stitching {
        customer_of_record,
        customer_of_node,
        customers: customers as usize,
        key_nodes: std::sync::OnceLock::new(),
        salt: salt.to_string(),
        identifiers: std::sync::OnceLock::new(),
        refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_kinds_parse_by_any_spelling_and_case() {
        for k in IdKind::PUBLIC {
            assert_eq!(IdKind::parse(k.name()), Some(k));
            assert_eq!(IdKind::parse(&format!(" {} ", k.name().to_uppercase())), Some(k));
        }
        assert_eq!(IdKind::parse("E-Mail"), Some(IdKind::Email));
        assert_eq!(IdKind::parse("ClientID"), Some(IdKind::ClientId));
        assert_eq!(IdKind::parse("tel"), Some(IdKind::Phone));
        assert_eq!(IdKind::parse("receipt_id"), None, "internal");
        assert_eq!(IdKind::parse("passport"), None);
    }

    /// Batches of keys and records as the loader merges them: batch ids shifted by the sizes
    /// of the batches before.
    fn batches(rows: &[&[&[(IdKind, &str)]]]) -> (Vec<BatchKeys>, Records) {
        let (mut keys, mut records, mut count) = (Vec::new(), Records::default(), 0u32);
        for batch in rows {
            let (mut ids, mut recs) = (LocalIds::with_capacity(4), Records::default());
            for row in batch.iter() {
                let nodes: Vec<u32> = row.iter().map(|&(k, v)| ids.intern(k, v)).collect();
                recs.add(&nodes);
                ids.end_record();
            }
            let ids = ids.into_keys();
            records.append(&recs, count + 1);
            count += ids.len();
            keys.push(ids);
        }
        (keys, records)
    }

    fn resolved(g: &IdGraph) -> Vec<Vec<String>> {
        (0..g.records() as u32).map(|r| g.record(r).iter().map(|&n| format!("{}:{}", g.kind(n).name(), g.value(n))).collect()).collect()
    }

    #[test]
    fn thousands_of_ids_in_several_batches_are_numbered_by_first_appearance() {
        // Enough provisional ids to cross words and cache lines of the first-appearance bitmap,
        // keys repeated within and across batches, packed and stored alike.
        let texts: Vec<Vec<Vec<(IdKind, String)>>> = (0..3u64)
            .map(|b| {
                (0..900u64)
                    .map(|i| {
                        let k = (b * 900 + i) * 7919 % 1700;
                        let v = if k % 3 == 0 { format!("long-key-{k}@example.com") } else { format!("{k}") };
                        vec![(if k % 3 == 0 { IdKind::Email } else { IdKind::ClientId }, v)]
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<Vec<Vec<(IdKind, &str)>>> =
            texts.iter().map(|b| b.iter().map(|r| r.iter().map(|(k, v)| (*k, v.as_str())).collect()).collect()).collect();
        let rows: Vec<Vec<&[(IdKind, &str)]>> = refs.iter().map(|b| b.iter().map(|r| r.as_slice()).collect()).collect();
        let rows: Vec<&[&[(IdKind, &str)]]> = rows.iter().map(|b| b.as_slice()).collect();
        let (keys, records) = batches(&rows);
        let g = IdGraph::from_batches(keys, records).unwrap();
        let mut first: Vec<String> = Vec::new();
        let mut expect = Vec::new();
        for (k, v) in texts.iter().flatten().flatten() {
            let key = format!("{}:{v}", k.name());
            let id = match first.iter().position(|f| *f == key) {
                Some(i) => i + 1,
                None => {
                    first.push(key);
                    first.len()
                }
            };
            expect.push(vec![id as u32]);
        }
        let ids: Vec<Vec<u32>> = (0..g.records() as u32).map(|r| g.record(r).to_vec()).collect();
        assert_eq!(ids, expect);
        assert_eq!(g.node_count(), first.len() + 1);
        assert_eq!(resolved(&g).into_iter().flatten().collect::<Vec<_>>().len(), 2700);
    }

    #[test]
    fn batch_ids_resolve_to_one_id_per_key_in_order_of_first_appearance() {
        use IdKind::*;
        let rows: &[&[&[(IdKind, &str)]]] = &[
            &[&[(ClientId, "c1"), (Phone, "79151234567")], &[(ClientId, "c2")]],
            &[&[(Phone, "79151234567"), (ClientId, "c3")], &[]],
            &[&[(ClientId, "c2"), (Email, "c2")], &[(ClientId, "c1")]],
        ];
        let expect = vec![
            vec!["client_id:c1", "phone:79151234567"],
            vec!["client_id:c2"],
            vec!["phone:79151234567", "client_id:c3"],
            vec![],
            vec!["client_id:c2", "email:c2"],
            vec!["client_id:c1"],
        ];
        let (keys, records) = batches(rows);
        let g = IdGraph::from_batches(keys, records).unwrap();
        assert_eq!(g.node_count(), 6, "five distinct keys and the empty id 0");
        assert_eq!(resolved(&g), expect);
        assert_eq!(g.record(4), &[3, 5], "ids follow first appearance: c1, phone, c2, c3, email");
        // Keys too long to pack are sorted by hash. Every such key collides here: equal hashes
        // must still be told apart by their keys.
        let long: &[&[&[(IdKind, &str)]]] = &[
            &[&[(Email, "first@example.com"), (OrderId, "ORD-0000001")], &[(Email, "second@example.com")]],
            &[&[(OrderId, "ORD-0000001"), (Email, "third@example.com")], &[(UserId, "first@example.com")]],
            &[&[(Email, "second@example.com"), (Email, "first@example.com")]],
        ];
        let (keys, records) = batches(long);
        let g = IdGraph::resolve(keys, records, |_, _| 42).unwrap();
        assert_eq!(g.node_count(), 6, "five distinct keys and the empty id 0");
        assert_eq!(g.record(4), &[3, 1], "ids follow first appearance");
        let (keys, records) = batches(long);
        assert_eq!(resolved(&g), resolved(&IdGraph::from_batches(keys, records).unwrap()));
        // Packed keys keep leading zeros, and digits and other bytes of one value stay apart.
        let packed: &[&[&[(IdKind, &str)]]] = &[
            &[&[(ClientId, "0123")], &[(ClientId, "123")], &[(ClientId, "00123")]],
            &[&[(ClientId, "123")], &[(LoyaltyCard, "123")], &[(ClientId, "12345678")], &[(ClientId, "1234567x")]],
            &[&[(ClientId, "9999999999999999999")], &[(ClientId, "12345678")], &[(ClientId, "0123")]],
        ];
        let (keys, records) = batches(packed);
        let g = IdGraph::resolve(keys, records, |_, _| 42).unwrap();
        let ids: Vec<&[u32]> = (0..g.records() as u32).map(|r| g.record(r)).collect();
        assert_eq!(ids, [&[1], &[2], &[3], &[2], &[4], &[5], &[6], &[7], &[5], &[1]]);
        assert_eq!(g.value(7), "9999999999999999999");
        // A key repeated within a record, or on the record after (a record without keys in
        // between), keeps its batch id; one seen further back takes a new batch id (no look-up
        // table). All resolve to one id, each record listing it once.
        let p = (Phone, "79151234567");
        let repeated: &[&[&[(IdKind, &str)]]] = &[
            &[&[p, (ClientId, "c1"), p], &[(ClientId, "c1")], &[p], &[], &[p], &[(Email, "a@b.c")], &[(ClientId, "c1")]],
            &[&[(ClientId, "c1"), (ClientId, "c1")]],
        ];
        let (keys, records) = batches(repeated);
        assert_eq!(keys.iter().map(|k| k.len()).collect::<Vec<_>>(), [5, 1], "p, c1, p again, a@b.c, c1 again; c1");
        let g = IdGraph::from_batches(keys, records).unwrap();
        assert_eq!(g.node_count(), 4, "three distinct keys and the empty id 0");
        let ids: Vec<&[u32]> = (0..g.records() as u32).map(|r| g.record(r)).collect();
        assert_eq!(ids, [&[1, 2][..], &[2], &[1], &[], &[1], &[3], &[2], &[2]]);
        // A graph read from batches is looked up and grown like one built node by node.
        let (keys, records) = batches(rows);
        let mut g = IdGraph::from_batches(keys, records).unwrap();
        assert_eq!(g.find_node(ClientId, "c3"), Some(4));
        assert_eq!(g.find_node(Email, "c1"), None);
        assert_eq!(g.node(Phone, "79151234567"), 2);
        assert_eq!(g.node(Email, "c1"), 6);
        assert_eq!(g.find_node(Email, "c1"), Some(6));
        assert_eq!((g.kind(6), &*g.value(6)), (Email, "c1"));
    }

    proptest::proptest! {
        /// Whatever the rows and however they repeat keys (on the next row, further back, in
        /// another batch, twice in one row), the resolution numbers keys by first appearance
        /// and each record lists its keys once: what a run-wide look-up per key would give.
        #[test]
        fn batches_resolve_as_one_lookup_per_key_does(
            rows in proptest::collection::vec(
                proptest::collection::vec((0usize..3, proptest::sample::select(vec!["1", "2", "x@y.z", "a-very-long-login-name", "u10000003", "ORD-100001", ""])), 0..4),
                1..40,
            ),
            cuts in proptest::collection::vec(0usize..40, 0..4),
        ) {
            let kinds = [IdKind::ClientId, IdKind::Email, IdKind::UserId];
            let rows: Vec<Vec<(IdKind, &str)>> = rows.iter().map(|r| r.iter().map(|&(k, v)| (kinds[k], v)).collect()).collect();
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c < rows.len()).chain([0, rows.len()]).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let refs: Vec<&[(IdKind, &str)]> = rows.iter().map(|r| r.as_slice()).collect();
            let split: Vec<&[&[(IdKind, &str)]]> = cuts.windows(2).map(|w| &refs[w[0]..w[1]]).collect();
            let (keys, records) = batches(&split);
            let g = IdGraph::from_batches(keys, records).unwrap();
            let mut first: Vec<(IdKind, &str)> = Vec::new();
            let expect: Vec<Vec<u32>> = rows
                .iter()
                .map(|r| {
                    let mut ids: Vec<u32> = Vec::new();
                    for key in r {
                        let id = match first.iter().position(|f| f == key) {
                            Some(i) => i as u32 + 1,
                            None => {
                                first.push(*key);
                                first.len() as u32
                            }
                        };
                        if !ids.contains(&id) {
                            ids.push(id);
                        }
                    }
                    ids
                })
                .collect();
            let got: Vec<Vec<u32>> = (0..g.records() as u32).map(|r| g.record(r).to_vec()).collect();
            proptest::prop_assert_eq!(got, expect);
            proptest::prop_assert_eq!(g.node_count(), first.len() + 1);
            for (i, (k, v)) in first.iter().enumerate() {
                proptest::prop_assert_eq!((g.kind(i as u32 + 1), &*g.value(i as u32 + 1)), (*k, *v));
            }
        }

        /// Eight bytes at once read as the digits one at a time read: bytes just outside
        /// `0`..=`9`, and bytes that carry into the next lane when 6 is added.
        #[test]
        fn eight_digits_at_once_read_as_one_at_a_time(
            b in proptest::array::uniform8(proptest::sample::select(b"0123456789/:\x00\x06\x29\x3a\x3f\x40\x99\xf9\xfa\xff".to_vec())),
        ) {
            let one_at_a_time = b.iter().try_fold(0u64, |n, &d| d.is_ascii_digit().then(|| n * 10 + (d - b'0') as u64));
            proptest::prop_assert_eq!(eight_digits(b), one_at_a_time);
        }

        /// Two keys pack to the same word and meta only when they are the same key, every key of
        /// up to 8 bytes or 19 digits packs, and so does one of at most 19 bytes whose last
        /// digits follow at most 7 other bytes and fit below them; a packed key spells back as
        /// it was.
        #[test]
        fn packing_is_exact(
            a in proptest::prop_oneof!["[0-9]{0,21}", "[0-9aя\\x00]{0,10}", "[a-zя\\-]{1,8}[0-9]{1,19}", "[0-9a]{0,4}[0-9]{14,17}"],
            b in proptest::prop_oneof!["[0-9]{0,21}", "[0-9aя\\x00]{0,10}", "[a-zя\\-]{1,8}[0-9]{1,19}", "[0-9a]{0,4}[0-9]{14,17}"],
            ta in 0u8..2,
            tb in 0u8..2,
        ) {
            let number = |s: &str| (!s.is_empty() && s.len() <= 19 && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse::<u64>().ok()).flatten();
            let prefixed = |s: &str| {
                let head = s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
                let n = number(&s[head..]);
                s.len() <= 19 && (1..=7).contains(&head) && n.is_some_and(|n| (n as u128) < 1u128 << (64 - 8 * head))
            };
            let fits = |s: &str| s.len() <= 8 || number(s).is_some() || prefixed(s);
            let (x, y) = (pack(b'a' + ta, a.as_bytes()), pack(b'a' + tb, b.as_bytes()));
            proptest::prop_assert_eq!(x.is_some(), fits(&a));
            proptest::prop_assert_eq!(digits(a.as_bytes()), number(&a), "{:?}", a);
            if let (Some(n), Some(x)) = (number(&a), x) {
                proptest::prop_assert_eq!(x.0, n, "digits pack as their number");
            }
            if let Some((word, meta)) = x {
                let (spelled, n) = spell(word, meta);
                proptest::prop_assert_eq!(&spelled[..n], &[&[b'a' + ta], a.as_bytes()].concat()[..], "a packed key spells back");
            }
            proptest::prop_assert_eq!(y.is_some(), fits(&b));
            if let (Some(x), Some(y)) = (x, y) {
                proptest::prop_assert_eq!(x == y, (ta, &a) == (tb, &b));
            }
        }
    }

    #[test]
    fn the_identifiers_exports_carry_most_pack_into_a_word() {
        let packs = |v: &str| pack(IdKind::CrmId as u8, v.as_bytes()).map(|(w, m)| spell(w, m));
        for v in [
            "1732423623615127710",
            "79151234567",
            "2000000000000",
            "C0000003",
            "u10000003",
            "C10000008",
            "ORD-100001",
            "SKU-0012345",
            "AB-0012345",
            "ABC-012345",
        ] {
            let (spelled, n) = packs(v).unwrap_or_else(|| panic!("{v} does not pack"));
            assert_eq!(&spelled[1..n], v.as_bytes());
        }
        // A prefix of more than 7 bytes, a number too large for the bytes below the prefix, a
        // key that does not end in digits: kept as bytes.
        for v in ["ORD-2026-000001", "u123456789012345678", "client3@inbox.ru", "a-very-long-login"] {
            assert!(packs(v).is_none(), "{v}");
        }
        // The same length and the same number (each spells back exactly, above): where the
        // prefix ends and how many digits the number was written with tell them apart.
        assert_ne!(pack(b'a', b"AB-0012345"), pack(b'a', b"ABC-012345"));
    }

    #[test]
    fn numbering_in_order_on_every_core_numbers_as_one_pass_does() {
        // Enough items for many pieces, picked in an irregular pattern.
        let items: Vec<u32> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 29) % 3).collect();
        let mut numbered = items.clone();
        let next = number_in_order(&mut numbered, 7, |x| x == 1, |x, k| k.unwrap_or(100 + x));
        let mut k = 7;
        let expect: Vec<u32> = items
            .iter()
            .map(|&x| {
                if x == 1 {
                    k += 1;
                    k - 1
                } else {
                    100 + x
                }
            })
            .collect();
        assert_eq!(numbered, expect);
        assert_eq!(next, k);
        assert!(k > 7 + 50_000, "the pattern picks many items");
    }

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
    fn a_hub_reaching_buyers_through_their_order_ids_is_refused() {
        // Click and collect: each buyer's order carries a client id; the store receipt that
        // fulfils it carries the order id and the shop's phone, typed at the till. The phone
        // reaches five buyers through order ids alone, and a sixth through a card: refused.
        let mut g = IdGraph::default();
        let shop = g.node(IdKind::Phone, "74950000000");
        let mut receipts = Vec::new();
        for i in 0..5 {
            let (order, client) = (g.node(IdKind::OrderId, &format!("o{i}")), g.node(IdKind::ClientId, &format!("c{i}")));
            g.add_record(&[order, client]);
            receipts.push(g.add_record(&[order, shop]));
        }
        let card = g.node(IdKind::LoyaltyCard, "k1");
        let walk_in = g.add_record(&[card, shop]);
        let s = stitch(&g, 3, "salt");
        assert_eq!(s.refused.len(), 1);
        assert_eq!(s.refused[0].customers, 6);
        assert_eq!(s.customers(), 6);
        assert_ne!(s.customer_of_record[walk_in as usize], s.customer_of_record[receipts[4] as usize]);
        // Orders that carry nothing but their id are not buyers of their own: one person's
        // phone on many such orders joins them (the limit counts people, not purchases).
        let mut g = IdGraph::default();
        let phone = g.node(IdKind::Phone, "79161234567");
        let orders: Vec<u32> = (0..8).map(|i| g.node(IdKind::OrderId, &format!("p{i}"))).collect();
        let recs: Vec<u32> = orders.iter().map(|&o| g.add_record(&[o, phone])).collect();
        let s = stitch(&g, 3, "salt");
        assert!(s.refused.is_empty());
        assert_eq!(s.customers(), 1);
        assert!(recs.iter().all(|&r| s.customer_of_record[r as usize] == 0));
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
    fn stitching_on_many_threads_is_stitching_on_one() {
        // Enough records that the joins are split between threads, linking identifiers at
        // random, so that sets of many sizes grow from several ends at once.
        let mut g = IdGraph::default();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let n = 40_000usize;
        let ids: Vec<u32> = (0..n).map(|i| g.node(IdKind::ClientId, &format!("c{i}"))).collect();
        let (mut pairs, mut used) = (Vec::new(), std::collections::BTreeSet::new());
        for _ in 0..100_000 {
            let a = ids[next() as usize % n];
            used.insert(a);
            if next() % 3 == 0 {
                g.add_record(&[a]);
            } else {
                let b = ids[next() as usize % n];
                used.insert(b);
                g.add_record(&[a, b]);
                pairs.push((a, b));
            }
        }
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| stitch(&g, 1_000_000, "s"))
        };
        let (one, four) = (on(1), on(4));
        // Compared whole, not printed: a failure would otherwise dump 140 000 numbers.
        assert!(one.customer_of_record == four.customer_of_record, "records' customers differ between 1 and 4 threads");
        assert!(one.customer_of_node == four.customer_of_node, "identifiers' customers differ between 1 and 4 threads");
        // The customers are the connected groups: checked against a plain one-thread union.
        let mut parent: Vec<usize> = (0..g.node_count()).collect();
        fn root(p: &mut [usize], mut x: usize) -> usize {
            while p[x] != x {
                p[x] = p[p[x]];
                x = p[x];
            }
            x
        }
        for &(a, b) in &pairs {
            let (ra, rb) = (root(&mut parent, a as usize), root(&mut parent, b as usize));
            parent[ra.max(rb)] = ra.min(rb);
        }
        let mut customer_of_group = std::collections::HashMap::new();
        // An identifier no record carries is no customer's.
        for &x in &used {
            let c = four.customer_of_node[x as usize];
            assert_eq!(*customer_of_group.entry(root(&mut parent, x as usize)).or_insert(c), c, "one group, one customer");
        }
        let customers: std::collections::HashSet<u32> = customer_of_group.values().copied().collect();
        assert_eq!(customers.len(), customer_of_group.len(), "one customer, one group");
        assert!(customers.len() > 100 && customers.len() < n / 2, "groups of many sizes: {}", customers.len());
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
        // Decimals, long on either side of the point, are numbers.
        for number in ["143087.13700000002", "1.1234567891234", "12345678901,5", "revenue 0.33333333333333331"] {
            assert_eq!(scrub(number, "salt"), number);
        }
        assert!(!scrub("phone 89151234567.", "s").contains("915"), "a full stop ends a sentence, not a number");
        assert!(!scrub("+79151234567", "s").contains("915"));
    }
}
