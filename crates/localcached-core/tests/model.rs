//! Seeded model tests: long random operation sequences replayed against the store and a
//! simple reference model, with every invariant re-checked after every step.

mod common;
use common::*;
use localcached_core::constants::{ENTRY_OVERHEAD_BYTES, GROUP_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES, VERSION_OVERHEAD_BYTES};
use localcached_core::store::parse_integer;
use localcached_core::{Lookup, RemovalCause, Store, StoreError};
use std::collections::HashMap;

type ModelEntry = (Vec<u8>, Vec<u8>, Option<u64>, Option<u64>); // key, value, deadline, version

/// The obvious implementation: one recency-ordered list, a byte total, deadlines, versions.
struct Model {
    entries: Vec<ModelEntry>, // least recently used first
    now: u64,
    max_bytes: u64,
}

impl Model {
    fn charge(e: &ModelEntry) -> u64 {
        (e.0.len() + e.1.len()) as u64
            + ENTRY_OVERHEAD_BYTES
            + if e.2.is_some() { TTL_OVERHEAD_BYTES } else { 0 }
            + if e.3.is_some() { VERSION_OVERHEAD_BYTES } else { 0 }
    }
    /// Entries, plus each table that has entries (the test keys are all in `svc:tbl`).
    fn bytes(&self) -> u64 {
        let tables = if self.entries.is_empty() { 0 } else { GROUP_OVERHEAD_BYTES + 7 };
        self.entries.iter().map(Model::charge).sum::<u64>() + tables
    }
    fn pos(&self, key: &[u8]) -> Option<usize> {
        self.entries.iter().position(|e| e.0 == key)
    }
    fn expired(&self, i: usize) -> bool {
        self.entries[i].2.is_some_and(|d| d <= self.now)
    }
    /// Drops the entry if it has expired, returning its removal.
    fn expire(&mut self, key: &[u8]) -> Vec<(Vec<u8>, RemovalCause)> {
        match self.pos(key) {
            Some(i) if self.expired(i) => vec![(self.entries.remove(i).0, RemovalCause::Expired)],
            _ => vec![],
        }
    }

    /// Returns the removals (key, cause) the store must report.
    fn set(&mut self, key: &[u8], value: &[u8], ttl: Option<u64>) -> Vec<(Vec<u8>, RemovalCause)> {
        let deadline = ttl.map(|t| self.now + t);
        // A write first removes (and reports) an expired entry it replaces.
        let mut out = self.expire(key);
        out.extend(self.store_entry((key.to_vec(), value.to_vec(), deadline, None)));
        out
    }

    fn store_entry(&mut self, entry: ModelEntry) -> Vec<(Vec<u8>, RemovalCause)> {
        if let Some(i) = self.pos(&entry.0) {
            self.entries.remove(i);
        }
        self.entries.push(entry);
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
                let evictions = expected_removals.iter().filter(|(_, c)| *c == RemovalCause::Evicted).count();
                assert_eq!(evicted as usize, evictions, "step {step}");
            }
            40..=69 => {
                let got = match store.get_with(&k, |v| v.to_vec()).unwrap() {
                    Lookup::Hit(v) => Some(v),
                    _ => None,
                };
                let (want, removals) = model.get(&k);
                assert_eq!(got, want, "step {step}");
                expected_removals = removals;
            }
            70..=71 => {
                let value = random_value(&mut rng);
                let version = rng.below(8);
                let result = store.set_versioned(&k, &value, None, Some(version));
                let mut removals = model.expire(&k);
                let stored = model.pos(&k).and_then(|i| model.entries[i].3);
                match stored {
                    Some(s) if version < s => assert!(matches!(result, Err(StoreError::VersionConflict { .. })), "step {step}"),
                    _ => {
                        let evicted = result.unwrap();
                        let more = model.store_entry((k.clone(), value, None, Some(version)));
                        assert_eq!(evicted as usize, more.len(), "step {step}");
                        removals.extend(more);
                    }
                }
                expected_removals = removals;
            }
            72..=73 => {
                let delta = rng.below(7) as i64 - 3;
                let result = store.incr(&k, delta, None, i64::MAX);
                let mut removals = model.expire(&k);
                match model.pos(&k) {
                    Some(i) => match parse_integer(&model.entries[i].1) {
                        Some(current) => {
                            let (next, evicted) = result.unwrap();
                            assert_eq!(next, current + delta, "step {step}");
                            let (deadline, version) = (model.entries[i].2, model.entries[i].3);
                            let more = model.store_entry((k.clone(), next.to_string().into_bytes(), deadline, version));
                            assert_eq!(evicted as usize, more.len(), "step {step}");
                            removals.extend(more);
                        }
                        None => assert!(matches!(result, Err(StoreError::NotAnInteger { .. })), "step {step}"),
                    },
                    None => {
                        let (next, _) = result.unwrap();
                        assert_eq!(next, delta, "step {step}");
                        removals.extend(model.store_entry((k.clone(), next.to_string().into_bytes(), None, None)));
                    }
                }
                expected_removals = removals;
            }
            74 => {
                let expected_value = if rng.below(2) == 0 { model.pos(&k).map(|i| model.entries[i].1.clone()) } else { Some(b"nope".to_vec()) };
                let next = random_value(&mut rng);
                let (swapped, _) = store.cas(&k, expected_value.as_deref(), &next).unwrap();
                let mut removals = model.expire(&k);
                let current = model.pos(&k).map(|i| model.entries[i].1.clone());
                let should = current == expected_value;
                assert_eq!(swapped, should, "step {step}");
                if should {
                    let (deadline, version) = model.pos(&k).map_or((None, None), |i| (model.entries[i].2, model.entries[i].3));
                    removals.extend(model.store_entry((k.clone(), next, deadline, version)));
                }
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
            90..=95 => {
                let ms = rng.below(40);
                store.advance_clock(ms);
                model.now += ms;
            }
            96 => {
                // Scoped invalidation by a pk prefix: svc:tbl:1 takes 1, 10..19, 100..199.
                let prefix = format!("svc:tbl:{}", 1 + rng.below(9)).into_bytes();
                let removed = store.invalidate_prefix(&prefix).unwrap();
                let before = model.entries.len();
                model.entries.retain(|e| !e.0.starts_with(&prefix));
                assert_eq!(removed as usize, before - model.entries.len(), "step {step}");
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
                // What this write removed (an expired old entry of k, evictions) came before it.
                for (removed, _) in drain(&store) {
                    written.remove(&removed);
                }
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
                if rng.below(2) == 0 {
                    store.delete(&k).unwrap();
                    written.remove(&k);
                } else {
                    // A value derived from another key: it goes (reported) when that key changes.
                    let dep = key(rng.below(400));
                    let value = random_value(&mut rng);
                    if dep != k && store.set_with(&k, &value, None, None, Some(&[dep.as_slice()])).is_ok() {
                        for (removed, _) in drain(&store) {
                            written.remove(&removed);
                        }
                        // Its edges are charged after it is stored, so making room for them
                        // may evict the entry itself (reported above, with the rest).
                        if store.has(&k).unwrap() {
                            written.insert(k.clone(), value);
                        }
                    }
                }
            }
            8 => {
                if rng.below(50) == 0 {
                    store.invalidate_table(b"svc", b"tbl").unwrap();
                    written.clear();
                } else {
                    store.advance_clock(rng.below(30));
                }
            }
            _ => {
                store.sweep();
            }
        }
        for (removed, cause) in drain(&store) {
            assert!(matches!(cause, RemovalCause::Evicted | RemovalCause::Expired | RemovalCause::Dependency));
            written.remove(&removed);
        }
        store.validate().unwrap_or_else(|e| panic!("step {step}: {e}"));
        // Everything written and not reported gone is still there, with its value.
        if step % 97 == 0 {
            // has() may find an entry expired; that removal (and any it cascades to) is
            // reported then, so gather every report made during the check.
            let mut reported = std::collections::HashSet::new();
            let keys: Vec<Vec<u8>> = written.keys().cloned().collect();
            for k in &keys {
                let present = store.has(k).unwrap();
                reported.extend(drain(&store).into_iter().map(|(r, _)| r));
                assert!(present || reported.contains(k), "step {step}: lost {:?}", String::from_utf8_lossy(k));
            }
            written.retain(|k, _| store.has(k).unwrap());
        }
    }
}
