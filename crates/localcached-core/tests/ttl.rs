mod common;
use common::*;
use localcached_core::{Lookup, RemovalCause};

fn drained(store: &localcached_core::Store) -> Vec<(Vec<u8>, RemovalCause)> {
    let mut out = vec![];
    store.drain_removals(|r| out.push((r.key().to_vec(), r.cause)));
    out
}

#[test]
fn never_returns_an_expired_entry_and_reports_lazy_expiry() {
    let store = manual_store(1 << 20, 4);
    store.set_recording(true);
    store.set(&key(1), b"v", Some(100)).unwrap();
    store.advance_clock(99);
    assert_eq!(get(&store, &key(1)).unwrap(), b"v");
    store.advance_clock(1);
    assert_eq!(store.get_with(&key(1), |v| v.len()).unwrap(), Lookup::Expired);
    assert_eq!(store.get_with(&key(1), |v| v.len()).unwrap(), Lookup::Miss);
    assert_eq!(drained(&store), vec![(key(1), RemovalCause::Expired)]);
    let s = store.stats();
    assert_eq!((s.expired_removals, s.items_current, s.bytes_current, s.get_misses), (1, 0, 0, 2));
}

#[test]
fn has_and_delete_treat_expired_entries_as_absent() {
    let store = manual_store(1 << 20, 1);
    store.set(&key(1), b"v", Some(10)).unwrap();
    store.set(&key(2), b"v", Some(10)).unwrap();
    store.advance_clock(10);
    assert!(!store.has(&key(1)).unwrap());
    assert!(!store.delete(&key(2)).unwrap());
    assert_eq!(store.stats().expired_removals, 2);
    store.validate().unwrap();
}

#[test]
fn sweeper_removes_only_what_expired_with_cause_expired() {
    let store = manual_store(1 << 20, 4);
    store.set_recording(true);
    for i in 0..100 {
        store.set(&key(i), b"v", Some(10 + i)).unwrap();
    }
    store.set(&key(1000), b"forever", None).unwrap();
    store.advance_clock(59);
    assert_eq!(store.sweep(), 50);
    store.validate().unwrap();
    let removed = drained(&store);
    assert_eq!(removed.len(), 50);
    assert!(removed.iter().all(|(_, c)| *c == RemovalCause::Expired));
    let mut keys: Vec<_> = removed.into_iter().map(|(k, _)| k).collect();
    keys.sort();
    let mut expected: Vec<_> = (0..50).map(key).collect();
    expected.sort();
    assert_eq!(keys, expected);
    store.advance_clock(1_000_000);
    assert_eq!(store.sweep(), 50);
    assert_eq!(store.sweep(), 0);
    assert_eq!(get(&store, &key(1000)).unwrap(), b"forever");
    store.validate().unwrap();
}

#[test]
fn replacing_changes_or_clears_the_ttl() {
    let store = manual_store(1 << 20, 1);
    store.set(&key(1), b"a", Some(10)).unwrap();
    store.set(&key(1), b"b", Some(1000)).unwrap();
    store.set(&key(2), b"a", Some(10)).unwrap();
    store.set(&key(2), b"b", None).unwrap();
    store.advance_clock(500);
    assert_eq!(store.sweep(), 0);
    assert_eq!(get(&store, &key(1)).unwrap(), b"b");
    assert_eq!(get(&store, &key(2)).unwrap(), b"b");
    store.advance_clock(500);
    assert_eq!(store.sweep(), 1);
    store.validate().unwrap();
}

#[test]
fn rejects_zero_and_oversized_ttls() {
    let store = manual_store(1 << 20, 1);
    let err = store.set(&key(1), b"a", Some(0)).unwrap_err();
    assert_eq!(err.code(), "BadArgument");
    assert!(store.set(&key(1), b"a", Some(1 << 53)).is_err());
    assert!(store.set(&key(1), b"a", Some((1 << 53) - 1)).is_ok());
}

#[test]
fn overflow_of_the_removal_queue_is_counted_not_silent() {
    let store = manual_store(1 << 30, 1);
    store.set_recording(true);
    let n = localcached_core::constants::REMOVAL_QUEUE_CAPACITY as u64 + 10;
    for i in 0..n {
        store.set(&key(i), b"v", Some(1)).unwrap();
    }
    store.advance_clock(1);
    assert_eq!(store.sweep() as u64, n);
    let mut seen = 0;
    let dropped = store.drain_removals(|_| seen += 1);
    assert_eq!(seen + dropped, n);
    assert_eq!(dropped, 10);
    assert!(!store.removals_pending());
}

#[test]
fn nothing_is_queued_while_no_one_listens() {
    let store = manual_store(1 << 20, 1);
    store.set(&key(1), b"v", Some(1)).unwrap();
    store.advance_clock(1);
    store.sweep();
    assert!(!store.removals_pending());
}
