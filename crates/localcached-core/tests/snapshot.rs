//! Snapshots: what a save keeps and a load restores (values, versions, TTLs, dependency
//! edges, queue order), the budget rule, and that a damaged file of any kind is an error,
//! never a panic, leaving the store empty and valid.

mod common;
use common::*;
use localcached_core::snapshot::{format, load, load_from, save, save_to, LoadOptions, LoadReport, SaveOptions, SnapshotError};
use localcached_core::store::Meta;
use localcached_core::{Clock, Lookup, Store, StoreOptions};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

const T0: u64 = 1_700_000_000_000;

fn store_with(max_bytes: u64, shards: usize, caps: Vec<(Vec<u8>, u64)>) -> Store {
    Store::new(StoreOptions { max_bytes, shards: Some(shards), clock: Clock::manual(), service_caps: caps, ..StoreOptions::default() }).unwrap()
}

fn snapshot_bytes(store: &Store, meta: &[u8], wall: u64) -> Vec<u8> {
    let (report, bytes) = save_to(store, Vec::new(), &SaveOptions { meta, now_wall_ms: Some(wall), cancel: None }).unwrap();
    assert_eq!(report.bytes, bytes.len() as u64);
    bytes
}

fn load_bytes(store: &Store, bytes: &[u8], wall: u64) -> Result<LoadReport, SnapshotError> {
    load_from(store, bytes, Some(bytes.len() as u64), &LoadOptions { max_age_ms: None, now_wall_ms: Some(wall) })
}

fn meta_of(store: &Store, key: &[u8]) -> Option<(Vec<u8>, Option<u64>, Option<u64>)> {
    match store.get_with_meta(key, |m: Meta<'_>| (m.value.to_vec(), m.version, m.ttl_ms)).unwrap() {
        Lookup::Hit(m) => Some(m),
        _ => None,
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lc-snap-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A small store with every kind of entry: TTLs, versions, dependencies (on a stored key and
/// on a tag), and a read (whose visited bit a snapshot does not keep).
fn small_store() -> Store {
    let store = store_with(1 << 20, 1, Vec::new());
    store.set(b"svc:a:1", b"one", None).unwrap();
    store.set_versioned(b"svc:a:2", b"two", Some(10_000), Some(7)).unwrap();
    store.set_with(b"svc:b:3", b"three", None, None, Some(&[b"svc:a:1".as_slice(), b"tags:x:1".as_slice()])).unwrap();
    store.set(b"svc:b:4", b"four", Some(500)).unwrap();
    store.set(b"other:c:5", b"", None).unwrap();
    let _ = get(&store, b"svc:a:1");
    store
}

/// What a save writes for one shard: its visited keys, then the others, each in queue order.
fn hottest_first(store: &Store, shard: usize) -> Vec<Vec<u8>> {
    let (queue, _) = store.shard_queue(shard);
    let (visited, unvisited): (Vec<_>, Vec<_>) = queue.into_iter().partition(|(_, visited)| *visited);
    visited.into_iter().chain(unvisited).map(|(key, _)| key).collect()
}

#[test]
fn round_trip_keeps_values_versions_ttls_dependencies_and_hottest_first_order() {
    let source = small_store();
    source.advance_clock(100);
    let bytes = snapshot_bytes(&source, b"meta!", T0);
    let loaded = store_with(1 << 20, 1, Vec::new());
    loaded.advance_clock(5_000); // another process's clock: only the remaining TTL matters
    let report = load_bytes(&loaded, &bytes, T0 + 50).unwrap();
    assert_eq!((report.loaded, report.skipped_expired, report.skipped_over_budget), (5, 0, 0));
    assert_eq!((report.saved_at_ms, report.meta.as_slice()), (T0, b"meta!".as_slice()));
    loaded.validate().unwrap();
    // The key read comes back first, the others in their queue order; none is visited.
    assert_eq!(loaded.shard_keys(0), hottest_first(&source, 0));
    assert_eq!(loaded.shard_keys(0)[0], b"svc:a:1".to_vec());
    assert!(loaded.shard_queue(0).0.iter().all(|(_, visited)| !visited));
    assert_eq!(meta_of(&loaded, b"svc:a:2"), Some((b"two".to_vec(), Some(7), Some(10_000 - 100 - 50))));
    assert_eq!(meta_of(&loaded, b"svc:b:4"), Some((b"four".to_vec(), None, Some(500 - 100 - 50))));
    assert_eq!(meta_of(&loaded, b"other:c:5"), Some((Vec::new(), None, None)));
    // The edges came back: invalidating a dependency (or the tag) removes the dependent.
    assert!(get(&loaded, b"svc:b:3").is_some());
    loaded.invalidate(b"tags:x:1").unwrap();
    assert!(get(&loaded, b"svc:b:3").is_none());
    loaded.validate().unwrap();
}

#[test]
fn eviction_after_a_load_takes_the_entries_not_read_before_the_save_first() {
    let source = store_with(1 << 20, 1, Vec::new());
    for i in 0..20 {
        source.set(&key(i), &[b'x'; 100], None).unwrap();
    }
    let read = [3, 17, 0, 9];
    for i in read {
        let _ = get(&source, &key(i));
    }
    let saved = hottest_first(&source, 0);
    // Room for the 20 loaded entries, not for them and the 5 larger ones written after: a few go.
    let loaded = store_with(6000, 1, Vec::new());
    load_bytes(&loaded, &snapshot_bytes(&source, b"", T0), T0).unwrap();
    assert_eq!(loaded.shard_keys(0), saved);
    // Shrinking by writes evicts from the tail (nothing loaded is visited): the oldest keys
    // the source had not read, never one it had.
    loaded.set_recording(true);
    for i in 0..5 {
        let big = vec![b'y'; 500];
        loaded.set(format!("new:t:{i}").as_bytes(), &big, None).unwrap();
    }
    let kept = loaded.shard_keys(0);
    assert!(kept.len() < 25, "nothing was evicted");
    assert_eq!(kept[5..], saved[..saved.len() - (25 - kept.len())]);
    assert!(read.iter().all(|&i| get(&loaded, &key(i)).is_some()));
    loaded.validate().unwrap();
}

#[test]
fn a_smaller_budget_keeps_the_entries_read_then_the_newest_of_each_queue() {
    let source = store_with(1 << 22, 4, Vec::new());
    for i in 0..400 {
        source.set(&key(i), &[b'v'; 1000], None).unwrap();
    }
    // The 50 oldest keys are read: they are saved first, ahead of the newest unread ones.
    for i in 0..50 {
        let _ = get(&source, &key(i));
    }
    let bytes = snapshot_bytes(&source, b"", T0);
    let loaded = store_with(150 * 1200, 4, Vec::new());
    let report = load_bytes(&loaded, &bytes, T0).unwrap();
    loaded.validate().unwrap();
    assert!(report.loaded >= 150 && report.loaded <= 170, "{report:?}");
    assert_eq!(report.loaded + report.skipped_over_budget, 400);
    // Loaded entries start unvisited, with the hand at the tail.
    for shard in 0..loaded.shard_count() {
        let (queue, hand) = loaded.shard_queue(shard);
        assert!(queue.iter().all(|(_, visited)| !visited) && hand.is_none());
    }
    // Every key read survives; then the newest unread ones (all but shard-rank rounding);
    // of the 150 oldest unread keys, none.
    let read = (0..50).filter(|&i| get(&loaded, &key(i)).is_some()).count();
    let new = (350..400).filter(|&i| get(&loaded, &key(i)).is_some()).count();
    let old = (50..200).filter(|&i| get(&loaded, &key(i)).is_some()).count();
    assert!(read == 50 && new >= 45 && old == 0, "read {read} new {new} old {old}");
}

#[test]
fn expired_entries_are_skipped() {
    let source = small_store();
    let bytes = snapshot_bytes(&source, b"", T0);
    let loaded = store_with(1 << 20, 2, Vec::new());
    let report = load_bytes(&loaded, &bytes, T0 + 500).unwrap();
    assert_eq!((report.loaded, report.skipped_expired), (4, 1));
    assert!(get(&loaded, b"svc:b:4").is_none());
    loaded.validate().unwrap();
    // Entries already expired at save time are not written at all.
    source.advance_clock(600);
    let loaded = store_with(1 << 20, 2, Vec::new());
    let report = load_bytes(&loaded, &snapshot_bytes(&source, b"", T0), T0).unwrap();
    assert_eq!((report.loaded, report.skipped_expired), (4, 0));
}

#[test]
fn a_snapshot_older_than_max_age_is_refused() {
    let bytes = snapshot_bytes(&small_store(), b"", T0);
    let loaded = store_with(1 << 20, 2, Vec::new());
    let err = load_from(&loaded, bytes.as_slice(), None, &LoadOptions { max_age_ms: Some(1000), now_wall_ms: Some(T0 + 1001) }).unwrap_err();
    assert!(matches!(err, SnapshotError::TooOld { age_ms: 1001, max_age_ms: 1000 }), "{err}");
    assert_eq!(err.code(), "SnapshotTooOld");
    load_from(&loaded, bytes.as_slice(), None, &LoadOptions { max_age_ms: Some(1000), now_wall_ms: Some(T0 + 1000) }).unwrap();
}

#[test]
fn a_load_needs_an_empty_store() {
    let bytes = snapshot_bytes(&small_store(), b"", T0);
    let loaded = small_store();
    assert!(matches!(load_bytes(&loaded, &bytes, T0), Err(SnapshotError::StoreNotEmpty)));
}

#[test]
fn every_truncation_is_an_error_and_leaves_the_store_empty() {
    let bytes = snapshot_bytes(&small_store(), b"some meta", T0);
    for cut in 0..bytes.len() {
        for known_len in [true, false] {
            let store = store_with(1 << 20, 2, Vec::new());
            let part = &bytes[..cut];
            let len = known_len.then_some(cut as u64);
            let err = load_from(&store, part, len, &LoadOptions { max_age_ms: None, now_wall_ms: Some(T0) });
            assert!(err.is_err(), "cut at {cut} loaded");
            assert_eq!(store.stats().items_current, 0, "cut at {cut}");
            store.validate().unwrap();
        }
    }
}

#[test]
fn every_single_bit_flip_is_detected() {
    let bytes = snapshot_bytes(&small_store(), b"some meta", T0);
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            let store = store_with(1 << 20, 2, Vec::new());
            let err = load_bytes(&store, &damaged, T0);
            assert!(err.is_err(), "flip of bit {bit} at byte {at} loaded");
            assert_eq!(store.stats().items_current, 0);
            store.validate().unwrap();
        }
    }
}

#[test]
fn foreign_and_incompatible_files_get_their_own_errors() {
    let bytes = snapshot_bytes(&small_store(), b"", T0);
    let store = store_with(1 << 20, 2, Vec::new());
    let mut foreign = bytes.clone();
    foreign[..8].copy_from_slice(b"{\"json\":");
    let err = load_bytes(&store, &foreign, T0).unwrap_err();
    assert!(matches!(err, SnapshotError::NotSnapshot) && err.code() == "SnapshotCorrupt", "{err}");
    let mut version = bytes.clone();
    version[8..12].copy_from_slice(&2u32.to_le_bytes());
    let err = load_bytes(&store, &version, T0).unwrap_err();
    assert!(matches!(err, SnapshotError::UnsupportedVersion { found: 2, supported: format::FORMAT_VERSION }), "{err}");
    assert_eq!(err.code(), "SnapshotIncompatible");
    let mut fingerprint = bytes.clone();
    fingerprint[12] ^= 0xFF;
    let err = load_bytes(&store, &fingerprint, T0).unwrap_err();
    assert!(matches!(err, SnapshotError::FingerprintMismatch { .. }) && err.code() == "SnapshotIncompatible", "{err}");
    let mut checksum = bytes.clone();
    *checksum.last_mut().unwrap() ^= 1;
    assert!(matches!(load_bytes(&store, &checksum, T0), Err(SnapshotError::ChecksumMismatch { .. })));
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(load_bytes(&store, &trailing, T0), Err(SnapshotError::Corrupt { .. })));
    let err = load(&store, &temp_dir("missing").join("nothing.snap"), &LoadOptions::default()).unwrap_err();
    assert!(matches!(&err, SnapshotError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound), "{err}");
}

#[test]
fn service_caps_and_max_value_bytes_hold_on_load() {
    let source = store_with(1 << 22, 2, Vec::new());
    for i in 0..100 {
        source.set(format!("capped:t:{i}").as_bytes(), &[b'c'; 500], None).unwrap();
        source.set(format!("free:t:{i}").as_bytes(), &[b'f'; 500], None).unwrap();
    }
    source.set(b"free:t:big", &[b'b'; 5000], None).unwrap();
    let bytes = snapshot_bytes(&source, b"", T0);
    let loaded = Store::new(StoreOptions { max_bytes: 1 << 22, shards: Some(2), clock: Clock::manual(), max_value_bytes: 1000, service_caps: vec![(b"capped".to_vec(), 20_000)], ..StoreOptions::default() }).unwrap();
    let report = load_bytes(&loaded, &bytes, T0).unwrap();
    loaded.validate().unwrap();
    let stats = loaded.stats();
    let capped = stats.services.iter().find(|s| s.name == b"capped").unwrap();
    assert!(capped.bytes <= 20_000 && capped.items > 0, "{} bytes", capped.bytes);
    assert!(get(&loaded, b"free:t:big").is_none());
    assert_eq!(report.loaded + report.skipped_over_budget, 201);
    assert_eq!(stats.services.iter().find(|s| s.name == b"free").unwrap().items, 100);
}

#[test]
fn save_writes_a_private_file_in_place_and_a_failed_save_keeps_the_old_one() {
    let dir = temp_dir("file");
    let path = dir.join("cache.snap");
    let source = small_store();
    let report = save(&source, &path, &SaveOptions { meta: b"m", now_wall_ms: None, cancel: None }).unwrap();
    assert_eq!(report.entries, 5);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), report.bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let old = std::fs::read(&path).unwrap();
    source.set(b"svc:a:9", b"nine", None).unwrap();
    let cancel = AtomicBool::new(true);
    let err = save(&source, &path, &SaveOptions { meta: b"", now_wall_ms: None, cancel: Some(&cancel) }).unwrap_err();
    assert!(matches!(err, SnapshotError::Cancelled) && err.code() == "SnapshotIo");
    assert_eq!(std::fs::read(&path).unwrap(), old);
    let err = save(&source, &dir.join("no-such-dir").join("x.snap"), &SaveOptions::default()).unwrap_err();
    assert_eq!(err.code(), "SnapshotIo");
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("cache.snap")], "no temporary file is left behind");
    let loaded = store_with(1 << 20, 4, Vec::new());
    assert_eq!(load(&loaded, &path, &LoadOptions::default()).unwrap().loaded, 5);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_save_concurrent_with_writes_completes_and_loads_valid() {
    let store = std::sync::Arc::new(Store::new(StoreOptions { max_bytes: 8 << 20, shards: Some(4), ..StoreOptions::default() }).unwrap());
    for i in 0..5000 {
        store.set(&key(i), &[b'v'; 300], Some(60_000)).unwrap();
    }
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(7);
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) || n < 2000 {
                let k = key(rng.below(8000));
                match rng.below(4) {
                    0 => drop(store.delete(&k)),
                    1 => drop(store.set_with(&k, &[b'w'; 200], None, None, Some(&[key(rng.below(8000)).as_slice()]))),
                    _ => drop(store.set(&k, &vec![b'z'; rng.below(900) as usize], None)),
                }
                n += 1;
            }
        })
    };
    let dir = temp_dir("concurrent");
    let path = dir.join("s.snap");
    for _ in 0..3 {
        save(&store, &path, &SaveOptions::default()).unwrap();
    }
    stop.store(true, Ordering::Release);
    writer.join().unwrap();
    store.validate().unwrap();
    let loaded = Store::new(StoreOptions { max_bytes: 8 << 20, shards: Some(2), ..StoreOptions::default() }).unwrap();
    let report = load(&loaded, &path, &LoadOptions::default()).unwrap();
    assert!(report.loaded > 1000, "{report:?}");
    loaded.validate().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn model_saves_and_loads_at_random_points_of_a_seeded_sequence() {
    for seed in 0..6u64 {
        let mut rng = Rng::new(seed);
        let caps = vec![(b"capped".to_vec(), 30_000)];
        let source = store_with(60_000, 1 << rng.below(3), caps.clone());
        for step in 0..3000 {
            let svc = if rng.below(3) == 0 { "capped" } else { "svc" };
            let k = format!("{svc}:t{}:{}", rng.below(3), rng.below(200)).into_bytes();
            let ttl = (rng.below(3) == 0).then(|| 1 + rng.below(2000));
            let value = vec![b'a' + rng.below(26) as u8; rng.below(600) as usize];
            match rng.below(10) {
                0 => drop(source.delete(&k)),
                1 => drop(source.invalidate(&k)),
                2 => drop(source.set_versioned(&k, &value, ttl, Some(rng.below(5)))),
                3 => {
                    let dep = format!("svc:t0:{}", rng.below(200)).into_bytes();
                    drop(source.set_with(&k, &value, ttl, None, Some(&[dep.as_slice(), b"tags:x:1".as_slice()])));
                }
                4 => drop(get(&source, &k)),
                5 => drop(source.advance_clock(rng.below(300))),
                _ => drop(source.set(&k, &value, ttl)),
            }
            if rng.below(400) == 0 || step == 2999 {
                let wall = T0 + step;
                let bytes = snapshot_bytes(&source, b"", wall);
                // A roomy store takes every live entry, exactly as the source has it.
                let roomy = store_with(1 << 22, 1 << rng.below(3), caps.clone());
                let report = load_bytes(&roomy, &bytes, wall).unwrap();
                roomy.validate().unwrap();
                assert_eq!(report.loaded, roomy.stats().items_current);
                let live = source.stats().items_current;
                assert!(report.loaded <= live && report.loaded + 2 >= live.min(report.loaded + report.skipped_over_budget), "seed {seed} step {step}");
                for shard in 0..roomy.shard_count() {
                    for k in roomy.shard_keys(shard) {
                        let (value, version, ttl) = meta_of(&roomy, &k).unwrap();
                        let (sv, sver, sttl) = meta_of(&source, &k).expect("loaded key is in the source");
                        assert_eq!((value, version, ttl), (sv, sver, sttl), "seed {seed} step {step}");
                    }
                }
                // The same budget and caps: a valid store of the hottest entries.
                let same = store_with(60_000, 1 << rng.below(3), caps.clone());
                load_bytes(&same, &bytes, wall).unwrap();
                same.validate().unwrap();
            }
        }
    }
}
