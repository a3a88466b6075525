//! Seeded model tests: long random operation sequences replayed against the store and a
//! simple reference model, with every invariant re-checked after every step.

mod common;
use common::*;
use localcached_core::constants::{ENTRY_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES};
use localcached_core::{Lookup, RemovalCause, Store};
use std::collections::HashMap;

/// The obvious implementation: one recency-ordered list, a byte total, deadlines.
struct Model {
    entries: Vec<(Vec<u8>, Vec<u8>, Option<u64>)>, // least recently used first
    now: u64,
    max_bytes: u64,
}

impl Model {
    fn charge(e: &(Vec<u8>, Vec<u8>, Option<u64>)) -> u64 {
        (e.0.len() + e.1.len()) as u64 + ENTRY_OVERHEAD_BYTES + if e.2.is_some() { TTL_OVERHEAD_BYTES } else { 0 }
    }
    fn bytes(&self) -> u64 {
        self.entries.iter().map(Model::charge).sum()
    }
    fn pos(&self, key: &[u8]) -> Option<usize> {
        self.entries.iter().position(|e| e.0 == key)
    }
    fn expired(&self, i: usize) -> bool {
        self.entries[i].2.is_some_and(|d| d <= self.now)
    }
    /// Returns the removals (key, cause) the store must report.
    fn set(&mut self, key: &[u8], value: &[u8], ttl: Option<u64>) -> Vec<(Vec<u8>, RemovalCause)> {
        if let Some(i) = self.pos(key) {
            self.entries.remove(i);
        }
        self.entries.push((key.to_vec(), value.to_vec(), ttl.map(|t| self.now + t)));
        let mut out = vec![];
        while self.bytes() > self.max_bytes && self.entries.len() > 1 {
            let victim = self.entries.remove(0);
            out.push((victim.0, RemovalCause::Evicted));
        }
        out
    }
    fn get(&mut self, key: &[u8]) -> (Option<Vec<u8>>, Vec<(Vec<u8>, RemovalCause)>) {
        match self.pos(key) {
            None => (None, vec![]),
            Some(i) if self.expired(i) => {
                let e = self.entries.remove(i);
                (None, vec![(e.0, RemovalCause::Expired)])
            }
            Some(i) => {
                let e = self.entries.remove(i);
                let v = e.1.clone();
                self.entries.push(e);
                (Some(v), vec![])
            }
        }
    }
    fn remove(&mut self, key: &[u8]) -> (bool, Vec<(Vec<u8>, RemovalCause)>) {
        match self.pos(key) {
            None => (false, vec![]),
            Some(i) if self.expired(i) => {
                let e = self.entries.remove(i);
                (false, vec![(e.0, RemovalCause::Expired)])
            }
            Some(i) => {
                self.entries.remove(i);
                (true, vec![])
            }
        }
    }
    fn sweep(&mut self) -> Vec<(Vec<u8>, RemovalCause)> {
        let now = self.now;
        let (gone, kept): (Vec<_>, Vec<_>) = self.entries.drain(..).partition(|e| e.2.is_some_and(|d| d <= now));
        self.entries = kept;
        gone.into_iter().map(|e| (e.0, RemovalCause::Expired)).collect()
    }
}

fn drain(store: &Store) -> Vec<(Vec<u8>, RemovalCause)> {
    let mut out = vec![];
    assert_eq!(store.drain_removals(|r| out.push((r.key().to_vec(), r.cause))), 0);
    out
}

fn random_value(rng: &mut Rng) -> Vec<u8> {
    let len = rng.below(300) as usize;
    let fill = rng.next_u64() as u8;
    vec![fill; len]
}

#[test]
fn single_shard_store_matches_an_exact_lru_model_over_200k_ops() {
    let max_bytes = 24_000;
    let store = manual_store(max_bytes, 1);
    store.set_recording(true);
    let mut model = Model { entries: vec![], now: 0, max_bytes };
    let mut rng = Rng::new(0x5eed_0001);
    for step in 0..200_000u32 {
        let k = key(rng.below(200));
        let op = rng.below(100);
        let mut expected_removals = vec![];
        match op {
            0..=39 => {
                let value = random_value(&mut rng);
                let ttl = if rng.below(3) == 0 { Some(1 + rng.below(200)) } else { None };
                let evicted = store.set(&k, &value, ttl).unwrap();
                expected_removals = model.set(&k, &value, ttl);
                assert_eq!(evicted as usize, expected_removals.len(), "step {step}");
            }
            40..=74 => {
                let got = match store.get_with(&k, |v| v.to_vec()).unwrap() {
                    Lookup::Hit(v) => Some(v),
                    _ => None,
                };
                let (want, removals) = model.get(&k);
                assert_eq!(got, want, "step {step}");
                expected_removals = removals;
            }
            75..=79 => {
                let got = store.has(&k).unwrap();
                let want = model.pos(&k).is_some_and(|i| !model.expired(i));
                if model.pos(&k).is_some_and(|i| model.expired(i)) {
                    expected_removals = model.remove(&k).1;
                }
                assert_eq!(got, want, "step {step}");
            }
            80..=89 => {
                let existed = if op % 2 == 0 { store.delete(&k) } else { store.invalidate(&k) }.unwrap();
                let (want, removals) = model.remove(&k);
                assert_eq!(existed, want, "step {step}");
                expected_removals = removals;
            }
            90..=96 => {
                let ms = rng.below(40);
                store.advance_clock(ms);
                model.now += ms;
            }
            _ => {
                let swept = store.sweep();
                let mut want = model.sweep();
                let mut got = drain(&store);
                assert_eq!(swept, want.len(), "step {step}");
                got.sort();
                want.sort();
                assert_eq!(got, want, "step {step}");
            }
        }
        if op < 97 {
            assert_eq!(drain(&store), expected_removals, "step {step}");
        }
        store.validate().unwrap_or_else(|e| panic!("step {step}: {e}"));
        assert_eq!(store.bytes_current(), model.bytes(), "step {step}");
        assert_eq!(store.stats().items_current as usize, model.entries.len(), "step {step}");
    }
}

#[test]
fn sharded_store_never_loses_an_entry_without_reporting_it_over_150k_ops() {
    let max_bytes = 40_000;
    let store = manual_store(max_bytes, 8);
    store.set_recording(true);
    // What the caller last wrote and has not removed itself; an entry may leave it only
    // through a reported eviction or expiry.
    let mut written: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    let mut rng = Rng::new(0x5eed_0002);
    for step in 0..150_000u32 {
        let k = key(rng.below(400));
        match rng.below(10) {
            0..=3 => {
                let value = random_value(&mut rng);
                let ttl = if rng.below(4) == 0 { Some(1 + rng.below(100)) } else { None };
                store.set(&k, &value, ttl).unwrap();
                written.insert(k.clone(), value);
            }
            4..=6 => {
                let got = match store.get_with(&k, |v| v.to_vec()).unwrap() {
                    Lookup::Hit(v) => Some(v),
                    _ => None,
                };
                if let Some(v) = &got {
                    assert_eq!(Some(v), written.get(&k), "step {step}: returned a value never written last");
                }
            }
            7 => {
                store.delete(&k).unwrap();
                written.remove(&k);
            }
            8 => {
                store.advance_clock(rng.below(30));
            }
            _ => {
                store.sweep();
            }
        }
        for (removed, cause) in drain(&store) {
            assert!(matches!(cause, RemovalCause::Evicted | RemovalCause::Expired));
            written.remove(&removed);
        }
        store.validate().unwrap_or_else(|e| panic!("step {step}: {e}"));
        // Everything written and not reported gone is still there, with its value.
        if step % 97 == 0 {
            for k in written.keys() {
                let present = store.has(k).unwrap();
                // has() may just have found it expired; then that removal is reported now.
                let reported = !present && drain(&store).iter().any(|(r, c)| r == k && *c == RemovalCause::Expired);
                assert!(present || reported, "step {step}: lost {:?}", String::from_utf8_lossy(k));
            }
            written.retain(|k, _| store.has(k).unwrap());
        }
    }
}
