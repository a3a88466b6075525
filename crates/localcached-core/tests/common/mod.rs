//! Shared helpers for the core's tests: a seeded in-house PRNG (no crates.io here).

#![allow(dead_code)]

use localcached_core::{Clock, Store, StoreOptions};

/// SplitMix64: tiny, seedable, and good enough to drive model tests reproducibly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

pub fn manual_store(max_bytes: u64, shards: usize) -> Store {
    Store::new(StoreOptions { max_bytes, shards: Some(shards), clock: Clock::manual(), ..StoreOptions::default() })
        .expect("valid options")
}

pub fn key(i: u64) -> Vec<u8> {
    format!("svc:tbl:{i}").into_bytes()
}

pub fn get(store: &Store, key: &[u8]) -> Option<Vec<u8>> {
    match store.get_with(key, |v| v.to_vec()).expect("valid key") {
        localcached_core::Lookup::Hit(v) => Some(v),
        _ => None,
    }
}
