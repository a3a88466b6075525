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
fn max_keys_evicts_lru_past_the_count() {
    let store = store_with(StoreOptions { max_bytes: 1 << 24, shards: Some(1), max_keys: Some(100), ..Default::default() });
    store.set_recording(true);
    fill(&store, "a", "t", 150, 10);
    let s = store.stats();
    assert_eq!((s.items_current, s.evictions, s.max_keys), (100, 50, 100));
    assert!(!store.has(b"a:t:0").unwrap());
    assert!(store.has(b"a:t:149").unwrap());
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
