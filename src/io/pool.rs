//! Buffers reused from one block to the next on the same thread: a block's bytes, text and field
//! offsets are megabytes each, and asking the system for fresh pages per block costs more than
//! splitting the block.

use std::cell::RefCell;

/// Spare buffers kept per thread; more would only hold memory.
const KEEP: usize = 2;

thread_local! {
    static BYTES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static ENDS: RefCell<Vec<Vec<[u32; 2]>>> = const { RefCell::new(Vec::new()) };
}

fn take<T>(pool: &'static std::thread::LocalKey<RefCell<Vec<Vec<T>>>>, capacity: usize) -> Vec<T> {
    let mut v = pool.with(|p| p.borrow_mut().pop()).unwrap_or_default();
    v.reserve(capacity);
    v
}

fn give<T>(pool: &'static std::thread::LocalKey<RefCell<Vec<Vec<T>>>>, mut v: Vec<T>) {
    v.clear();
    pool.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < KEEP {
            p.push(v);
        }
    });
}

/// An empty byte buffer with room for at least `capacity` bytes.
pub fn bytes(capacity: usize) -> Vec<u8> {
    take(&BYTES, capacity)
}

pub fn give_bytes(v: Vec<u8>) {
    give(&BYTES, v)
}

/// An empty buffer of fields' start and end offsets with room for at least `capacity` fields.
pub fn ends(capacity: usize) -> Vec<[u32; 2]> {
    take(&ENDS, capacity)
}

pub fn give_ends(v: Vec<[u32; 2]>) {
    give(&ENDS, v)
}
