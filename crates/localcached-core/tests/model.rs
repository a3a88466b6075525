//! Seeded model tests: long random operation sequences replayed against the store and a
//! simple reference model (an exact SIEVE for eviction), with every invariant re-checked
//! after every step.

mod common;
#[path = "model/sieve_model.rs"]
mod sieve_model;
#[path = "model/write_model.rs"]
mod write_model;
use common::*;
use localcached_core::store::{parse_integer, SetCondition};
use localcached_core::{Lookup, RemovalCause, Store, StoreError};
use std::collections::HashMap;
use sieve_model::Model;
use write_model::{Cond, Edges, Failure, ModelWrite, Removals, Value, Version, WriteModel};

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
fn single_shard_store_matches_an_exact_sieve_model_over_200k_ops() {
    let max_bytes = 24_000;
    let store = manual_store(max_bytes, 1);
    store.set_recording(true);
    let mut model = Model { entries: vec![], hand: None, now: 0, max_bytes, evictions: 0, spared: 0 };
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
                let stored = model.pos(&k).and_then(|i| model.entry(i).3);
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
                    Some(i) => match parse_integer(&model.entry(i).1) {
                        Some(current) => {
                            let (next, evicted) = result.unwrap();
                            assert_eq!(next, current + delta, "step {step}");
                            let (deadline, version) = (model.entry(i).2, model.entry(i).3);
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
                let expected_value = if rng.below(2) == 0 { model.pos(&k).map(|i| model.entry(i).1.clone()) } else { Some(b"nope".to_vec()) };
                let next = random_value(&mut rng);
                let (swapped, _) = store.cas(&k, expected_value.as_deref(), &next).unwrap();
                let mut removals = model.expire(&k);
                let current = model.pos(&k).map(|i| model.entry(i).1.clone());
                let should = current == expected_value;
                assert_eq!(swapped, should, "step {step}");
                if should {
                    let (deadline, version) = model.pos(&k).map_or((None, None), |i| (model.entry(i).2, model.entry(i).3));
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
                let gone = model.remove_where(|e| e.0.starts_with(&prefix));
                assert_eq!(removed as usize, gone.len(), "step {step}");
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
        // The whole SIEVE state: queue order, every visited bit, the hand.
        assert_eq!(store.shard_queue(0), model.queue(), "step {step} (op {op})");
    }
    assert!(model.evictions >= 5_000 && model.spared >= 5_000, "evictions {}, spared {}", model.evictions, model.spared);
    assert_eq!(store.stats().evictions, model.evictions);
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

/// The store's result of a write, in the model's terms.
fn failure(err: StoreError) -> Failure {
    match err {
        StoreError::VersionConflict { .. } => Failure::VersionConflict,
        StoreError::NotAnInteger { .. } => Failure::NotAnInteger,
        StoreError::Overflow { .. } => Failure::Overflow,
        other => panic!("unexpected error {other}"),
    }
}

/// A write the model describes with every field; tests override what differs from a `set`.
fn model_set<'a>(key: &'a [u8], value: &'a [u8], ttl: Option<u64>) -> ModelWrite<'a> {
    ModelWrite { key, value: Value::Bytes(value), ttl: (false, ttl), version: Version::Unversioned, edges: Edges::Clear, cond: Cond::Always, put: true, upsert: false }
}

/// Every kind of write the descriptor can express, against a model that knows values,
/// deadlines, versions and dependency edges: each `EdgeRule` (`set_with` replaces, `set`,
/// `set_if` and `table_changed_upsert` clear, `incr`, `cas` and `expire` keep), each
/// condition (`set_if` NX/XX, `cas` on a value or on absence, `expire` on presence), versioned
/// writes and their conflicts, `incr` on keys with and without dependencies (and on values
/// that are not integers, or overflow), tags, TTLs, and the counters each write bumps. The
/// budget holds everything, so nothing is evicted and the model is exact: contents, bytes
/// (edges included), reported removals and counters, with `validate()` after every step.
#[test]
fn every_kind_of_write_matches_a_model_of_values_ttls_versions_and_edges_over_60k_ops() {
    let store = manual_store(1 << 30, 4);
    store.set_recording(true);
    let mut m = WriteModel::default();
    let mut rng = Rng::new(0x5eed_0003);
    let keys: Vec<Vec<u8>> = (0..24).map(key).collect();
    let tags: Vec<Vec<u8>> = (0..4).map(|i| format!("tag:t:{i}").into_bytes()).collect();
    const VALUES: [&[u8]; 7] = [b"0", b"7", b"-3", b"19", b"x", b"hello", b""];
    // How often each case the test means to cover happened: checked at the end, so a change
    // of the mix cannot quietly stop exercising one.
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let mut tally = |case: &'static str| *seen.entry(case).or_default() += 1;
    for step in 0..60_000u32 {
        let pk = rng.below(24);
        let k = keys[pk as usize].clone();
        let value = VALUES[rng.below(VALUES.len() as u64) as usize].to_vec();
        let ttl = if rng.below(4) == 0 { Some(1 + rng.below(60)) } else { None };
        let version = if rng.below(2) == 0 { Some(rng.below(6)) } else { None };
        let model_version = version.map_or(Version::Unversioned, Version::Checked);
        let mut want: Removals = vec![];
        let op = rng.below(20);
        match op {
            0..=2 => {
                tally(if m.read(&k).is_some() && m.deps.contains_key(&k) { "set clearing edges" } else { "set" });
                let got = store.set(&k, &value, ttl).map_err(failure);
                let model = m.write(model_set(&k, &value, ttl), &mut want);
                assert_eq!(got.map(|evicted| evicted == 0), model.map(|o| o.0), "step {step}: set");
            }
            3..=5 => {
                tally(if m.deps.contains_key(&k) { "set_with replacing edges" } else { "set_with" });
                // Dependencies on keys (possibly itself), on tags, or none at all.
                let deps: Vec<Vec<u8>> = (0..rng.below(4))
                    .map(|_| if rng.below(3) == 0 { tags[rng.below(4) as usize].clone() } else { keys[rng.below(24) as usize].clone() })
                    .collect();
                let refs: Vec<&[u8]> = deps.iter().map(|d| d.as_slice()).collect();
                let got = store.set_with(&k, &value, ttl, version, Some(&refs)).map_err(failure);
                let write = ModelWrite { version: model_version, edges: Edges::Replace(&deps), ..model_set(&k, &value, ttl) };
                let model = m.write(write, &mut want);
                assert_eq!(got.map(|evicted| evicted == 0), model.map(|o| o.0), "step {step}: set_with");
            }
            6 => {
                let got = store.set_versioned(&k, &value, ttl, version).map_err(failure);
                let model = m.write(ModelWrite { version: model_version, ..model_set(&k, &value, ttl) }, &mut want);
                assert_eq!(got.map(|evicted| evicted == 0), model.map(|o| o.0), "step {step}: set_versioned");
            }
            7 => {
                let got = store.table_changed_upsert(b"svc", b"tbl", pk.to_string().as_bytes(), &value, ttl, version).map_err(failure);
                let write = ModelWrite { version: model_version, put: false, upsert: true, ..model_set(&k, &value, ttl) };
                let model = m.write(write, &mut want);
                assert_eq!(got.map(|evicted| evicted == 0), model.map(|o| o.0), "step {step}: upsert");
            }
            8..=9 => {
                let delta = rng.below(15) as i64 - 7;
                let limit = if rng.below(2) == 0 { 20 } else { i64::MAX };
                let got = store.incr(&k, delta, ttl, limit).map_err(failure);
                let write = ModelWrite {
                    value: Value::Add { delta, limit },
                    ttl: (true, ttl),
                    version: Version::Keep,
                    edges: Edges::Keep,
                    ..model_set(&k, b"", None)
                };
                let has_deps = m.read(&k).is_some() && m.deps.contains_key(&k);
                let has_dependents = m.deps.values().any(|d| d.contains(&k));
                let model = m.write(write, &mut want);
                match &model {
                    Ok(_) if has_deps => tally("incr on a key with dependencies"),
                    Ok(_) if has_dependents => tally("incr on a key others depend on"),
                    Ok(_) => tally("incr without dependencies"),
                    Err(Failure::NotAnInteger) => tally("incr of a non-integer"),
                    Err(_) => tally("incr overflow"),
                }
                assert_eq!(got.map(|(next, _)| next), model.map(|o| o.2.unwrap()), "step {step}: incr");
            }
            10 => {
                let current = m.read(&k).map(|e| e.value.clone());
                let expected = match rng.below(3) {
                    0 => current,
                    1 => None,
                    _ => Some(value.clone()),
                };
                let next = VALUES[rng.below(VALUES.len() as u64) as usize];
                let (swapped, _) = store.cas(&k, expected.as_deref(), next).unwrap();
                let cond = expected.as_deref().map_or(Cond::IfAbsent, Cond::IfValue);
                let write = ModelWrite { ttl: (true, None), version: Version::Keep, edges: Edges::Keep, cond, ..model_set(&k, next, None) };
                let has_deps = m.read(&k).is_some() && m.deps.contains_key(&k);
                let model = m.write(write, &mut want).unwrap();
                tally(match (model.0, expected.is_some(), has_deps) {
                    (true, _, true) => "cas swap on a key with dependencies",
                    (true, true, false) => "cas swap on a value",
                    (true, false, false) => "cas swap on absence",
                    (false, _, _) => "cas without a swap",
                });
                assert_eq!(swapped, model.0, "step {step}: cas");
            }
            11 => {
                let (condition, cond) = match rng.below(3) {
                    0 => (SetCondition::Always, Cond::Always),
                    1 => (SetCondition::IfAbsent, Cond::IfAbsent),
                    _ => (SetCondition::IfPresent, Cond::IfPresent),
                };
                let keep_ttl = rng.below(2) == 0;
                let want_old = rng.below(2) == 0;
                let got = store.set_if(&k, &value, ttl, condition, keep_ttl, want_old).unwrap();
                let ttl_rule = if keep_ttl { (true, None) } else { (false, ttl) };
                let model = m.write(ModelWrite { ttl: ttl_rule, cond, ..model_set(&k, &value, ttl) }, &mut want).unwrap();
                tally(match (condition, model.0) {
                    (SetCondition::IfAbsent, true) => "set_if NX stored",
                    (SetCondition::IfAbsent, false) => "set_if NX skipped",
                    (SetCondition::IfPresent, true) => "set_if XX stored",
                    (SetCondition::IfPresent, false) => "set_if XX skipped",
                    (SetCondition::Always, _) => "set_if always",
                });
                assert_eq!(got, (model.0, if want_old { model.1 } else { None }), "step {step}: set_if");
            }
            12 => {
                let got = store.expire(&k, ttl).unwrap();
                let write = ModelWrite {
                    value: Value::Unchanged,
                    version: Version::Keep,
                    edges: Edges::Keep,
                    cond: Cond::IfPresent,
                    put: false,
                    ..model_set(&k, b"", ttl)
                };
                let has_deps = m.read(&k).is_some() && m.deps.contains_key(&k);
                let model = m.write(write, &mut want).unwrap();
                tally(if has_deps { "expire of a key with dependencies" } else { "expire" });
                assert_eq!(got, model.0, "step {step}: expire");
            }
            13 => {
                let k2 = keys[rng.below(24) as usize].clone();
                store.mset(&[(&k, &value), (&k2, b"second")], ttl).unwrap();
                m.write(model_set(&k, &value, ttl), &mut want).unwrap();
                m.write(model_set(&k2, b"second", ttl), &mut want).unwrap();
            }
            14..=15 => {
                let invalidate = op == 15;
                let got = if invalidate { store.invalidate(&k) } else { store.delete(&k) }.unwrap();
                assert_eq!(got, m.delete(&k, invalidate, &mut want), "step {step}: delete/invalidate");
            }
            16 => {
                let tag = &tags[rng.below(4) as usize];
                assert!(!store.invalidate(tag).unwrap());
                assert!(!m.delete(tag, true, &mut want));
            }
            17 => {
                let ms = rng.below(25);
                store.advance_clock(ms);
                m.now += ms;
            }
            18 => {
                assert_eq!(store.sweep(), m.sweep(&mut want), "step {step}: sweep");
            }
            _ => {
                let got = match store.get_with(&k, |v| v.to_vec()).unwrap() {
                    Lookup::Hit(v) => Some(v),
                    _ => None,
                };
                m.expire_if_due(&k, &mut want);
                assert_eq!(got, m.read(&k).map(|e| e.value.clone()), "step {step}: get");
            }
        }
        let mut got = drain(&store);
        got.sort();
        want.sort();
        assert_eq!(got, want, "step {step}: removals reported (op {op})");
        store.validate().unwrap_or_else(|e| panic!("step {step}: {e}"));
        let placement: HashMap<Vec<u8>, usize> =
            (0..store.shard_count()).flat_map(|i| store.shard_keys(i).into_iter().map(move |k| (k, i))).collect();
        assert_eq!(store.bytes_current(), m.bytes(|k| placement[k]), "step {step}: bytes (op {op})");
        let stats = store.stats();
        assert_eq!(stats.items_current as usize, m.entries.len(), "step {step}");
        assert_eq!(stats.evictions, 0, "step {step}");
        assert_eq!(
            (stats.put_calls, stats.table_changed_upsert_calls, stats.version_conflicts, stats.insertions, stats.dependency_removals),
            (m.puts, m.upserts, m.conflicts, m.insertions, m.dependency_removals),
            "step {step}: counters (op {op})"
        );
        if step % 16 == 0 {
            // Every key's value, version and remaining TTL, read without side effects: only
            // keys the model holds live (or not at all), so no read finds one expired.
            for k in &keys {
                if m.entries.contains_key(k) && m.read(k).is_none() {
                    continue;
                }
                let got = store.get_with_meta(k, |meta| (meta.value.to_vec(), meta.version, meta.ttl_ms)).unwrap();
                let want = m.read(k).map(|e| (e.value.clone(), e.version, e.deadline.map(|d| d - m.now)));
                assert_eq!(if let Lookup::Hit(meta) = got { Some(meta) } else { None }, want, "step {step}: contents of {}", String::from_utf8_lossy(k));
            }
        }
    }
    for case in [
        "set", "set clearing edges", "set_with", "set_with replacing edges",
        "incr on a key with dependencies", "incr on a key others depend on", "incr without dependencies",
        "incr of a non-integer", "incr overflow",
        "cas swap on a key with dependencies", "cas swap on a value", "cas swap on absence", "cas without a swap",
        "set_if NX stored", "set_if NX skipped", "set_if XX stored", "set_if XX skipped", "set_if always",
        "expire of a key with dependencies", "expire",
    ] {
        assert!(seen.get(case).copied().unwrap_or(0) >= 20, "{case}: seen {:?} times", seen.get(case));
    }
    assert!(m.conflicts >= 20 && m.dependency_removals >= 100 && m.upserts >= 20, "conflicts {}, dependency removals {}, upserts {}", m.conflicts, m.dependency_removals, m.upserts);
}
