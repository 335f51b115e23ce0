//! String interning: every distinct label (channel, source, identifier value) is stored once and
//! referred to by a dense integer, so the per-path loops compare integers, not strings.

use std::hash::BuildHasher;

use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

/// A dense id of an interned string.
pub type Sym = u32;

/// Interns strings to dense ids in first-seen order. Ids depend on input order, so nothing that
/// reaches an output may be ordered by id: use [`Interner::ranks`] for a content-based order.
///
/// The strings sit one after another in one text, found through a table of ids: a run interns
/// every order and receipt id (millions), and a string apiece, with a second copy as the map's
/// key, cost two allocations per id on the thread that merges every batch. Each id's hash sits
/// beside it in the table, so that growing the table moves entries without reading (and hashing
/// again) strings scattered through the text.
#[derive(Debug, Clone)]
pub struct Interner {
    text: String,
    /// String `id` is `text[ends[id]..ends[id + 1]]`.
    ends: Vec<usize>,
    table: hashbrown::HashTable<(u64, Sym)>,
}

impl Default for Interner {
    fn default() -> Self {
        Interner::new()
    }
}

fn hash(s: &str) -> u64 {
    FxBuildHasher.hash_one(s)
}

/// String `id` of a text and its ends.
fn at<'a>(text: &'a str, ends: &[usize], id: Sym) -> &'a str {
    match ends.get(id as usize..id as usize + 2) {
        Some(&[a, b]) => text.get(a..b).unwrap_or(""),
        _ => "",
    }
}

impl Interner {
    pub fn new() -> Self {
        // Id 0 is the empty string, so "no value" needs no Option.
        let mut i = Interner { text: String::new(), ends: vec![0, 0], table: hashbrown::HashTable::new() };
        i.table.insert_unique(hash(""), (hash(""), 0), |e| e.0);
        i
    }

    pub fn intern(&mut self, s: &str) -> Sym {
        let h = hash(s);
        let (text, ends) = (&self.text, &self.ends);
        let slot = match self.table.entry(h, |&(eh, id)| eh == h && at(text, ends, id) == s, |e| e.0) {
            hashbrown::hash_table::Entry::Occupied(o) => return o.get().1,
            hashbrown::hash_table::Entry::Vacant(v) => v,
        };
        let id = (self.ends.len() - 1) as Sym;
        self.text.push_str(s);
        self.ends.push(self.text.len());
        slot.insert((h, id));
        id
    }

    /// Room for `n` more strings of `bytes` bytes in all, so that a run's table does not grow
    /// by doubling (each growth is a fresh table, its pages faulted in again).
    pub fn reserve(&mut self, n: usize, bytes: usize) {
        self.table.reserve(n, |e| e.0);
        self.ends.reserve(n);
        self.text.reserve(bytes);
    }

    /// The bytes of all the strings.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    pub fn get(&self, s: &str) -> Option<Sym> {
        let h = hash(s);
        self.table.find(h, |&(eh, id)| eh == h && self.resolve(id) == s).map(|e| e.1)
    }

    pub fn resolve(&self, id: Sym) -> &str {
        at(&self.text, &self.ends, id)
    }

    /// Every string in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len() as Sym).map(|id| self.resolve(id))
    }

    pub fn len(&self) -> usize {
        self.ends.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The byte-order rank of every id: comparing ranks compares the strings.
    pub fn ranks(&self) -> Vec<u32> {
        // Sorted on each string's first 16 bytes as one number, read once per string (zero
        // padded, which orders as the bytes do: a shorter string that is a prefix of a longer
        // one comes first either way); only strings that share those bytes are compared in
        // full. Comparing through the ids alone read two strings at random per comparison.
        let head = |id: u32| {
            let s = self.resolve(id).as_bytes();
            let mut b = [0u8; 16];
            let n = s.len().min(16);
            b[..n].copy_from_slice(&s[..n]);
            u128::from_be_bytes(b)
        };
        let mut order: Vec<(u128, u32)> = (0..self.len() as u32).into_par_iter().map(|id| (head(id), id)).collect();
        // Strings are distinct, so an unstable sort has one outcome.
        order.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| self.resolve(a.1).as_bytes().cmp(self.resolve(b.1).as_bytes())));
        let mut rank = vec![0u32; order.len()];
        for (r, &(_, id)) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        rank
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_ranks_by_content() {
        let mut i = Interner::new();
        let b = i.intern("b");
        let a = i.intern("a");
        assert_eq!(i.intern("b"), b);
        assert_eq!(i.resolve(a), "a");
        let r = i.ranks();
        assert!(r[a as usize] < r[b as usize]);
        assert_eq!(r[0], 0);
    }

    /// Ranks follow byte order, whatever the strings share: a 16-byte head, a prefix, a zero
    /// byte, multi-byte characters.
    #[test]
    fn ranks_follow_byte_order_beyond_the_first_sixteen_bytes() {
        let words = [
            "ORD-000000000123-b",
            "ORD-000000000123-a",
            "ORD-000000000123",
            "ORD-00000000012",
            "ab",
            "ab\0",
            "ab\0c",
            "a",
            "Яндекс",
            "Яндекс.Директ",
            "z",
            "ORD-000000000124",
        ];
        let mut i = Interner::new();
        let ids: Vec<Sym> = words.iter().map(|w| i.intern(w)).collect();
        let r = i.ranks();
        let mut by_rank: Vec<(u32, &str)> = ids.iter().zip(words).map(|(&id, w)| (r[id as usize], w)).collect();
        by_rank.sort();
        let mut sorted = words.to_vec();
        sorted.sort();
        assert_eq!(by_rank.into_iter().map(|x| x.1).collect::<Vec<_>>(), sorted);
    }

    #[test]
    fn many_strings_keep_their_ids_through_growth() {
        let mut i = Interner::default();
        assert_eq!((i.len(), i.intern("")), (1, 0));
        let words: Vec<String> = (0..50_000).map(|n| format!("заказ-{n}")).collect();
        let ids: Vec<Sym> = words.iter().map(|w| i.intern(w)).collect();
        assert_eq!(ids, (1..=50_000).collect::<Vec<Sym>>());
        for (w, &id) in words.iter().zip(&ids) {
            assert_eq!(i.intern(w), id);
            assert_eq!((i.resolve(id), i.get(w)), (w.as_str(), Some(id)));
        }
        assert_eq!(i.get("заказ"), None);
        assert_eq!(i.resolve(50_001), "");
        assert_eq!(i.iter().nth(7), Some("заказ-6"));
    }

    #[test]
    fn room_made_ahead_is_used_without_growing() {
        let mut i = Interner::new();
        i.intern("a");
        i.reserve(10_000, 10_000 * 12);
        let (table, ends, text) = (i.table.capacity(), i.ends.capacity(), i.text.capacity());
        for n in 0..10_000 {
            i.intern(&format!("ORD-{n:08}"));
        }
        assert_eq!((i.table.capacity(), i.ends.capacity(), i.text.capacity()), (table, ends, text));
        assert_eq!((i.len(), i.get("ORD-00000042"), i.bytes()), (10_002, Some(44), 1 + 10_000 * 12));
    }
}
