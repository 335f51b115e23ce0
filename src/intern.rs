//! String interning: every distinct label (channel, source, identifier value) is stored once and
//! referred to by a dense integer, so the per-path loops compare integers, not strings.

use rayon::prelude::*;
use rustc_hash::FxHashMap;

/// A dense id of an interned string.
pub type Sym = u32;

/// Interns strings to dense ids in first-seen order. Ids depend on input order, so nothing that
/// reaches an output may be ordered by id: use [`Interner::ranks`] for a content-based order.
#[derive(Default, Debug, Clone)]
pub struct Interner {
    map: FxHashMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
}

impl Interner {
    pub fn new() -> Self {
        let mut i = Interner::default();
        // Id 0 is the empty string, so "no value" needs no Option.
        i.intern("");
        i
    }

    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.map.get(s) {
            return id;
        }
        let id = self.strings.len() as Sym;
        let boxed: Box<str> = s.into();
        self.strings.push(boxed.clone());
        self.map.insert(boxed, id);
        id
    }

    pub fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }

    pub fn resolve(&self, id: Sym) -> &str {
        &self.strings[id as usize]
    }

    /// Every string in id order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.strings.iter().map(|s| &**s)
    }

    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// The byte-order rank of every id: comparing ranks compares the strings.
    pub fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.strings.len() as u32).collect();
        // Strings are distinct, so an unstable sort has one outcome.
        order.par_sort_unstable_by(|&a, &b| self.strings[a as usize].as_bytes().cmp(self.strings[b as usize].as_bytes()));
        let mut rank = vec![0u32; order.len()];
        for (r, id) in order.into_iter().enumerate() {
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
}
