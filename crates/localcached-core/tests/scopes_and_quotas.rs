mod common;
use common::*;
use localcached_core::{Clock, RemovalCause, Store, StoreOptions};

fn store_with(options: StoreOptions) -> Store {
    Store::new(StoreOptions { clock: Clock::manual(), ..options }).unwrap()
}

fn fill(store: &Store, svc: &str, table: &str, n: usize, value: usize) {
    for i in 0..n {
        store.set(format!("{svc}:{table}:{i}").as_bytes(), &vec![1; value], None).unwrap();
    }
}

#[test]
fn invalidate_table_removes_exactly_that_table() {
    let store = store_with(StoreOptions { max_bytes: 1 << 24, shards: Some(8), ..Default::default() });
    fill(&store, "shop", "orders", 500, 10);
    fill(&store, "shop", "carts", 300, 10);
    fill(&store, "blog", "orders", 200, 10);
    assert_eq!(store.invalidate_table(b"shop", b"orders").unwrap(), 500);
    assert_eq!(store.invalidate_table(b"shop", b"orders").unwrap(), 0);
    let s = store.stats();
    assert_eq!(s.items_current, 500);
    assert_eq!(s.invalidations, 500);
    assert!(store.has(b"shop:carts:1").unwrap() && store.has(b"blog:orders:1").unwrap());
    assert!(store.invalidate_table(b"sh op", b"x").is_err());
    store.validate().unwrap();
}

#[test]
fn invalidate_service_and_prefix() {
    let store = store_with(StoreOptions { max_bytes: 1 << 24, shards: Some(4), ..Default::default() });
    fill(&store, "shop", "orders", 120, 10);
    fill(&store, "shop", "carts", 80, 10);
    fill(&store, "shopping", "lists", 50, 10);
    fill(&store, "blog", "posts", 40, 10);
    assert_eq!(store.invalidate_service(b"shop").unwrap(), 200);
    assert_eq!(store.stats().items_current, 90);
    // A prefix inside the svc segment takes every table of every matching service.
    assert_eq!(store.invalidate_prefix(b"shopp").unwrap(), 50);
    // A prefix into the pk walks the one table and compares keys: blog:posts:1, 1x (10 of them).
    assert_eq!(store.invalidate_prefix(b"blog:posts:1").unwrap(), 11);
    assert_eq!(store.stats().items_current, 29);
    assert!(store.invalidate_prefix(b"").is_err());
    assert!(store.invalidate_prefix(b"a b").is_err());
    store.validate().unwrap();
}

#[test]
fn max_keys_evicts_past_the_count_oldest_unvisited_first() {
    let store = store_with(StoreOptions { max_bytes: 1 << 24, shards: Some(1), max_keys: Some(100), ..Default::default() });
    store.set_recording(true);
    fill(&store, "a", "t", 100, 10);
    // The oldest key, read, is spared by the SIEVE hand; the 50 after it go.
    assert!(store.get_with(b"a:t:0", |_| ()).unwrap() != localcached_core::Lookup::Miss);
    for i in 100..150 {
        store.set(format!("a:t:{i}").as_bytes(), &[0; 10], None).unwrap();
    }
    let s = store.stats();
    assert_eq!((s.items_current, s.evictions, s.max_keys), (100, 50, 100));
    assert!(store.has(b"a:t:0").unwrap());
    assert!((1..=50).all(|i| !store.has(format!("a:t:{i}").as_bytes()).unwrap()));
    assert!(store.has(b"a:t:51").unwrap() && store.has(b"a:t:149").unwrap());
    let mut evicted = 0;
    store.drain_removals(|r| evicted += (r.cause == RemovalCause::Evicted) as i32);
    assert_eq!(evicted, 50);
    store.validate().unwrap();
}

#[test]
fn a_service_over_its_cap_evicts_its_own_lru_entries_never_another_services() {
    let cap = 64 * 1024;
    let store = store_with(StoreOptions {
        max_bytes: 1 << 24,
        shards: Some(4),
        service_caps: vec![(b"orders".to_vec(), cap)],
        ..Default::default()
    });
    fill(&store, "other", "t", 200, 100);
    for i in 0..2000 {
        store.set(format!("orders:o:{i}").as_bytes(), &[7; 100], None).unwrap();
        // Keep key 0 hot: LRU within the service must spare it.
        assert!(store.get_with(b"orders:o:0", |_| ()).unwrap() != localcached_core::Lookup::Miss, "step {i}");
        if i % 100 == 0 {
            store.validate().unwrap();
        }
    }
    let services = store.stats().services;
    let orders = services.iter().find(|s| s.name == b"orders").unwrap();
    let other = services.iter().find(|s| s.name == b"other").unwrap();
    assert!(orders.bytes + 160 + 8 <= cap, "{orders:?}");
    assert_eq!(orders.cap, cap);
    assert_eq!(other.items, 200, "another service's entries are never evicted for the cap");
    assert!(orders.items < 2000 && orders.items > 100);
    let err = store.set(b"orders:o:big", &vec![0; cap as usize], None).unwrap_err();
    assert_eq!(err.code(), "ValueTooLarge");
    store.validate().unwrap();
}

#[test]
fn per_service_stats_count_bytes_items_hits_and_misses() {
    let store = manual_store(1 << 24, 4);
    fill(&store, "shop", "orders", 10, 50);
    fill(&store, "blog", "posts", 5, 50);
    for i in 0..10 {
        store.get_with(format!("shop:orders:{i}").as_bytes(), |_| ()).unwrap();
    }
    store.get_with(b"shop:orders:404", |_| ()).unwrap();
    store.get_with(b"ghost:t:1", |_| ()).unwrap();
    let services = store.stats().services;
    let get = |name: &[u8]| services.iter().find(|s| s.name == name).cloned().unwrap();
    let shop = get(b"shop");
    assert_eq!((shop.items, shop.hits, shop.misses), (10, 10, 1));
    assert_eq!(shop.bytes, 10 * (b"shop:orders:0".len() as u64 + 50 + localcached_core::constants::ENTRY_OVERHEAD_BYTES));
    assert_eq!((get(b"blog").items, get(b"ghost").misses), (5, 1));
    let total: u64 = services.iter().map(|s| s.bytes).sum();
    assert!(total <= store.bytes_current());
}

/// The conformance repro: a capped service with several tables in one shard. Overwriting
/// `tbl:1` larger takes the service over its cap; the victim must be `fill:1`, the service's
/// least recently used entry, even though it lives in another table than `tbl:2` (which
/// was used after it). The bug evicted the tail of whichever table came first.
#[test]
fn a_capped_service_evicts_its_lru_entry_across_its_tables() {
    let store = store_with(StoreOptions {
        max_bytes: 1 << 24,
        shards: Some(1),
        service_caps: vec![(b"ev".to_vec(), 4096), (b"ev2".to_vec(), 4096)],
        ..Default::default()
    });
    store.set_recording(true);
    for svc in ["ev", "ev2"] {
        let k = |rest: &str| format!("{svc}:{rest}").into_bytes();
        store.set(&k("fill:1"), &[b'f'; 2500], None).unwrap();
        store.set(&k("tbl:1"), b"5", Some(60_000)).unwrap();
        store.set(&k("tbl:2"), b"s", None).unwrap();
        store.set_with(&k("deps:1"), b"d", None, None, Some(&[&k("tbl:1")])).unwrap();
        for rest in ["fill:1", "tbl:1", "tbl:2", "deps:1"] {
            assert!(get(&store, &k(rest)).is_some());
        }
        store.set(&k("tbl:1"), &[b'v'; 1500], None).unwrap();
        let mut removed = vec![];
        store.drain_removals(|r| removed.push((String::from_utf8_lossy(r.key()).into_owned(), r.cause)));
        assert_eq!(removed, vec![(format!("{svc}:fill:1"), RemovalCause::Evicted), (format!("{svc}:deps:1"), RemovalCause::Dependency)], "{svc}");
        assert!(store.has(&k("tbl:2")).unwrap(), "{svc}");
        store.validate().unwrap();
    }
}

/// Several capped services with several tables each, an uncapped service beside them, and
/// random sets, gets, overwrites and deletes, against a reference model that stamps every
/// key with when it was last stored or read. Every eviction must be of the writing
/// service's least recently used entry: with one shard, of the whole service; with several,
/// of the service's entries in the shard evicted from, the writing key's shard first and
/// then the following shards in index order (wrapping), as `store/evict.rs` documents.
#[test]
fn cap_evictions_follow_a_reference_lru_model() {
    use std::collections::HashMap;
    for (shards, seed) in [(1usize, 1u64), (1, 2), (4, 3), (4, 4)] {
        let capped = ["a", "b", "c"];
        let store = store_with(StoreOptions {
            max_bytes: 1 << 26,
            shards: Some(shards),
            service_caps: capped.iter().map(|s| (s.as_bytes().to_vec(), 6_000)).collect(),
            ..Default::default()
        });
        store.set_recording(true);
        let mut rng = Rng::new(seed);
        // key -> (last stored or read, shard)
        let mut model: HashMap<Vec<u8>, (u64, usize)> = HashMap::new();
        let mut clock = 0u64;
        let mut evictions = 0;
        let shard_of = |store: &Store, key: &[u8]| (0..shards).find(|&i| store.shard_keys(i).iter().any(|k| k == key)).unwrap();
        for step in 0..6_000 {
            let svc = ["a", "b", "c", "u"][rng.below(4) as usize];
            let key = format!("{svc}:t{}:{}", rng.below(5), rng.below(12)).into_bytes();
            match rng.below(10) {
                0..=4 => {
                    store.set(&key, &vec![1; 1 + rng.below(400) as usize], None).unwrap();
                    clock += 1;
                    let home = shard_of(&store, &key);
                    model.insert(key.clone(), (clock, home));
                    let mut last_distance = 0;
                    let mut removed = vec![];
                    store.drain_removals(|r| removed.push((r.key().to_vec(), r.cause)));
                    for (victim, cause) in removed {
                        assert_eq!(cause, RemovalCause::Evicted, "step {step}");
                        assert!(victim.starts_with(format!("{svc}:").as_bytes()) && svc != "u", "step {step}: another service's entry evicted");
                        let (_, from) = model[&victim];
                        let distance = (from + shards - home) % shards;
                        assert!(distance >= last_distance, "step {step}: shards out of order");
                        last_distance = distance;
                        let lru = model
                            .iter()
                            .filter(|(k, &(_, shard))| k.starts_with(format!("{svc}:").as_bytes()) && **k != key && shard == from)
                            .min_by_key(|(_, &(stamp, _))| stamp)
                            .map(|(k, _)| k.clone());
                        assert_eq!(lru.as_deref(), Some(&victim[..]), "step {step}: not the service's LRU entry in shard {from}");
                        model.remove(&victim);
                        evictions += 1;
                    }
                }
                5..=8 => {
                    let hit = get(&store, &key).is_some();
                    assert_eq!(hit, model.contains_key(&key), "step {step}");
                    if hit {
                        clock += 1;
                        model.get_mut(&key).unwrap().0 = clock;
                    }
                }
                _ => {
                    assert_eq!(store.delete(&key).unwrap(), model.remove(&key).is_some(), "step {step}");
                }
            }
            if step % 500 == 0 {
                store.validate().unwrap();
            }
        }
        assert!(evictions > 200, "the caps were exercised: {evictions} evictions");
        for key in model.keys() {
            assert!(store.has(key).unwrap());
        }
        assert_eq!(store.stats().items_current, model.len() as u64);
        store.validate().unwrap();
    }
}

/// `mset` stores every entry or none: an entry over its service's cap is refused before the
/// first entry is stored, as one over the budget is.
#[test]
fn mset_checks_service_caps_before_storing_anything() {
    let store = store_with(StoreOptions { max_bytes: 1 << 24, shards: Some(2), service_caps: vec![(b"m".to_vec(), 4096)], ..Default::default() });
    let big = vec![0u8; 5000];
    let err = store.mset(&[(b"m:t:1", b"small"), (b"m:t:2", &big)], None).unwrap_err();
    assert_eq!(err.code(), "ValueTooLarge");
    assert!(!store.has(b"m:t:1").unwrap());
    assert_eq!(store.mset(&[(b"m:t:1", b"small"), (b"other:t:2", &big)], None).unwrap(), 0);
    store.validate().unwrap();
}
