mod common;
use common::*;
use localcached_core::constants::{ENTRY_OVERHEAD_BYTES, GROUP_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES};
use localcached_core::store::QueueView;
use localcached_core::{RemovalCause, Store, StoreError, StoreOptions};

fn charge(key: &[u8], value_len: usize) -> u64 {
    (key.len() + value_len) as u64 + ENTRY_OVERHEAD_BYTES
}

/// What the table `svc:tbl` (of the test keys) is charged while it has entries.
const TABLE: u64 = GROUP_OVERHEAD_BYTES + 7;

/// The store's single shard as (key, visited) newest first, and the key under the hand.
fn queue(store: &Store) -> QueueView {
    store.shard_queue(0)
}

#[test]
fn evicts_the_oldest_unvisited_entry_when_over_budget() {
    let per = charge(&key(1), 10);
    let store = manual_store(per * 3 + TABLE, 1);
    store.set_recording(true);
    for i in 1..=3 {
        assert_eq!(store.set(&key(i), &[0; 10], None).unwrap(), 0);
    }
    // 1 is the oldest but was read: the hand clears its bit and takes 2, the oldest unvisited.
    assert!(get(&store, &key(1)).is_some());
    assert_eq!(store.set(&key(4), &[0; 10], None).unwrap(), 1);
    assert_eq!(queue(&store), (vec![(key(4), false), (key(3), false), (key(1), false)], Some(key(3))));
    assert!(get(&store, &key(2)).is_none());
    assert!(get(&store, &key(1)).is_some() && get(&store, &key(3)).is_some() && get(&store, &key(4)).is_some());
    let mut removed = vec![];
    store.drain_removals(|r| removed.push((r.key().to_vec(), r.cause)));
    assert_eq!(removed, vec![(key(2), RemovalCause::Evicted)]);
    assert_eq!(store.stats().evictions, 1);
    store.validate().unwrap();
}

#[test]
fn a_visited_entry_survives_one_pass_of_the_hand_and_no_more() {
    let per = charge(&key(1), 10);
    let store = manual_store(per * 3 + TABLE, 1);
    for i in 1..=3 {
        store.set(&key(i), &[0; 10], None).unwrap();
        assert!(get(&store, &key(i)).is_some());
    }
    // All three visited: the hand clears 1, 2 and 3, passes over the new 4, wraps to the
    // tail and takes 1, whose bit it cleared. Each was spared once, none twice.
    store.set(&key(4), &[0; 10], None).unwrap();
    assert!(get(&store, &key(1)).is_none());
    assert_eq!(queue(&store), (vec![(key(4), false), (key(3), false), (key(2), false)], Some(key(2))));
    // With no read since, the hand takes 2 next, where it stands.
    store.set(&key(5), &[0; 10], None).unwrap();
    assert!(get(&store, &key(2)).is_none());
    // A read of 3 (now under the hand) spares it once more; 4, unvisited, goes instead.
    assert!(get(&store, &key(3)).is_some());
    store.set(&key(6), &[0; 10], None).unwrap();
    assert_eq!(queue(&store), (vec![(key(6), false), (key(5), false), (key(3), false)], Some(key(5))));
    store.validate().unwrap();
}

#[test]
fn a_scan_of_one_time_keys_does_not_flush_visited_entries() {
    // Keys of one length: room for exactly 10 entries, 4 hot ones (read) and then a scan of
    // 80 keys read never again.
    let per = charge(&key(10), 10);
    let store = manual_store(per * 10 + TABLE, 1);
    let hot = 10..=13;
    for i in hot.clone() {
        store.set(&key(i), &[0; 10], None).unwrap();
        assert!(get(&store, &key(i)).is_some());
    }
    for i in 20..=99 {
        store.set(&key(i), &[0; 10], None).unwrap();
        store.validate().unwrap();
    }
    // Exact LRU would have evicted the hot keys at the 7th scan key. SIEVE's hand clears
    // their bits once, then evicts scan keys only: it stays among them, toward the head.
    let (order, hand) = queue(&store);
    assert_eq!(order.len(), 10);
    for i in hot.clone() {
        assert!(order.contains(&(key(i), false)), "hot key {i} was flushed: {order:?}");
    }
    assert!(hand.is_some_and(|k| hot.clone().all(|i| k != key(i))));
    assert_eq!(store.stats().evictions, 80 - 6);
    assert!(hot.clone().all(|i| get(&store, &key(i)).is_some()));
}

#[test]
fn removing_the_entry_under_the_hand_moves_the_hand_toward_the_head() {
    let per = charge(&key(1), 10);
    let store = manual_store(per * 4 + TABLE, 1);
    for i in 1..=4 {
        store.set(&key(i), &[0; 10], None).unwrap();
    }
    assert!(get(&store, &key(1)).is_some());
    store.set(&key(5), &[0; 10], None).unwrap();
    // 2 went; the hand is on its newer neighbour, 3.
    assert_eq!(queue(&store).1, Some(key(3)));
    assert!(store.delete(&key(3)).unwrap());
    assert_eq!(queue(&store).1, Some(key(4)));
    assert!(store.invalidate(&key(4)).unwrap());
    assert_eq!(queue(&store).1, Some(key(5)));
    // Past the head, the hand starts again from the tail.
    assert!(store.delete(&key(5)).unwrap());
    assert_eq!(queue(&store), (vec![(key(1), false)], None));
    store.validate().unwrap();
}

#[test]
fn charges_key_value_and_overhead_and_recharges_on_replace() {
    let store = manual_store(1 << 20, 4);
    store.set(&key(1), &[1; 100], None).unwrap();
    assert_eq!(store.bytes_current(), charge(&key(1), 100) + TABLE);
    store.set(&key(1), &[2; 10], None).unwrap();
    assert_eq!(store.bytes_current(), charge(&key(1), 10) + TABLE);
    store.set(&key(1), &[3; 10], Some(1000)).unwrap();
    assert_eq!(store.bytes_current(), charge(&key(1), 10) + TTL_OVERHEAD_BYTES + TABLE);
    store.set(&key(1), &[3; 10], None).unwrap();
    assert_eq!(store.bytes_current(), charge(&key(1), 10) + TABLE);
    assert_eq!(get(&store, &key(1)).unwrap(), vec![3; 10]);
    let stats = store.stats();
    assert_eq!((stats.items_current, stats.put_calls), (1, 4));
    assert!(store.delete(&key(1)).unwrap());
    assert_eq!(store.bytes_current(), 0);
    store.validate().unwrap();
}

#[test]
fn replacing_with_a_larger_value_evicts_others_but_never_itself() {
    // The hand passes over the entry just written, even unvisited, and takes 2.
    let store = manual_store(charge(&key(1), 100) * 2 + TABLE, 1);
    store.set(&key(1), &[0; 100], None).unwrap();
    store.set(&key(2), &[0; 100], None).unwrap();
    store.set(&key(1), &[9; 150], None).unwrap();
    assert_eq!(get(&store, &key(1)).unwrap(), vec![9; 150]);
    assert!(get(&store, &key(2)).is_none());
    store.validate().unwrap();
}

#[test]
fn evicts_from_other_shards_when_the_writing_shard_has_nothing_older() {
    let store = manual_store(charge(&key(1), 1000) * 8 + TABLE * 8, 8);
    for i in 0..200 {
        store.set(&key(i), &[0; 1000], None).unwrap();
        assert!(store.bytes_current() <= store.max_bytes());
        store.validate().unwrap();
    }
    assert!(store.stats().items_current <= 8);
    // The most recent write is always kept.
    assert!(get(&store, &key(199)).is_some());
}

#[test]
fn rejects_values_over_the_limit_or_that_can_never_fit_and_stores_nothing() {
    let store = Store::new(StoreOptions { max_bytes: 4096, max_value_bytes: 2048, ..Default::default() }).unwrap();
    let err = store.set(&key(1), &[0; 2049], None).unwrap_err();
    assert!(matches!(err, StoreError::ValueTooLarge { .. }), "{err}");
    assert!(err.to_string().contains("maxValueBytes"));
    assert!(store.set(&key(1), &[0; 2048], None).is_ok());
    let store = Store::new(StoreOptions { max_bytes: 1000, max_value_bytes: 2048, ..Default::default() }).unwrap();
    let err = store.set(&key(1), &[0; 800], None).unwrap_err();
    assert_eq!(err.code(), "ValueTooLarge");
    assert!(err.to_string().contains("can never fit"), "{err}");
    assert_eq!(store.stats().items_current, 0);
    assert_eq!(store.bytes_current(), 0);
}

#[test]
fn rejects_bad_options() {
    assert!(Store::new(StoreOptions { max_bytes: 0, ..Default::default() }).is_err());
    assert!(Store::new(StoreOptions { shards: Some(0), ..Default::default() }).is_err());
    assert!(Store::new(StoreOptions { shards: Some(5000), ..Default::default() }).is_err());
    assert!(Store::new(StoreOptions { max_value_bytes: 0, ..Default::default() }).is_err());
    assert_eq!(Store::new(StoreOptions { shards: Some(5), ..Default::default() }).unwrap().shard_count(), 8);
}

#[test]
fn counts_gets_hits_misses_puts_dels_and_leaves_has_uncounted() {
    let store = manual_store(1 << 20, 2);
    store.set(&key(1), b"x", None).unwrap();
    get(&store, &key(1));
    get(&store, &key(2));
    assert!(store.has(&key(1)).unwrap());
    assert!(!store.has(&key(2)).unwrap());
    assert!(!store.delete(&key(2)).unwrap());
    assert!(store.invalidate(&key(1)).unwrap());
    store.table_changed_upsert(b"a", b"b", b"c", b"v", None, None).unwrap();
    assert!(store.table_changed_upsert(b"a", b"b:x", b"c", b"v", None, None).is_err());
    let s = store.stats();
    assert_eq!((s.get_calls, s.get_hits, s.get_misses), (2, 1, 1));
    assert_eq!((s.put_calls, s.del_calls, s.invalidate_calls, s.table_changed_upsert_calls), (1, 1, 1, 1));
    assert_eq!(s.items_current, 1);
    assert_eq!(s.shards, 2);
    assert_eq!(get(&store, b"a:b:c").unwrap(), b"v");
}

#[test]
fn keeps_insertion_order_and_marks_reads_and_overwrites_visited() {
    let store = manual_store(1 << 20, 1);
    for i in 0..5 {
        store.set(&key(i), b"v", None).unwrap();
    }
    get(&store, &key(0));
    get(&store, &key(3));
    // An overwrite (here with a TTL and a longer value) is an access: visited, place kept.
    store.set(&key(1), b"longer", Some(1000)).unwrap();
    // Neither presence checks nor misses mark anything.
    assert!(store.has(&key(2)).unwrap());
    get(&store, &key(9));
    let visited = |i: u64| (key(i), [0, 1, 3].contains(&i));
    assert_eq!(queue(&store), ((0..5).rev().map(visited).collect(), None));
    store.validate().unwrap();
}
