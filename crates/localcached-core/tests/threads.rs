mod common;
use common::*;
use localcached_core::{Clock, Store, StoreOptions};
use std::sync::Arc;

#[test]
fn concurrent_writers_readers_and_sweeper_keep_the_bound_and_the_counters() {
    let store = Arc::new(
        Store::new(StoreOptions { max_bytes: 256 * 1024, shards: Some(8), clock: Clock::system(), ..Default::default() })
            .unwrap(),
    );
    store.set_recording(true);
    let threads = 4;
    let ops = 50_000u64;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut rng = Rng::new(t);
                let (mut gets, mut puts) = (0u64, 0u64);
                for _ in 0..ops {
                    let k = key(rng.below(5000));
                    match rng.below(4) {
                        0 | 1 => {
                            let len = rng.below(2000) as usize;
                            let ttl = (rng.below(3) == 0).then(|| 1 + rng.below(5));
                            store.set(&k, &vec![t as u8; len], ttl).unwrap();
                            puts += 1;
                        }
                        2 => {
                            store.get_with(&k, |v| v.len()).unwrap();
                            gets += 1;
                        }
                        _ => {
                            store.delete(&k).unwrap();
                        }
                    }
                    // Bound under concurrency: at most one in-flight entry per thread over.
                    assert!(store.bytes_current() <= store.max_bytes() + threads * 2200);
                }
                (gets, puts)
            })
        })
        .collect();
    let sweeper = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            for _ in 0..200 {
                store.sweep();
                store.drain_removals(|_| {});
                std::thread::yield_now();
            }
        })
    };
    let (mut gets, mut puts) = (0, 0);
    for h in handles {
        let (g, p) = h.join().unwrap();
        gets += g;
        puts += p;
    }
    sweeper.join().unwrap();
    store.validate().unwrap();
    let s = store.stats();
    assert_eq!(s.get_calls, gets);
    assert_eq!(s.get_hits + s.get_misses, s.get_calls);
    assert_eq!(s.put_calls, puts);
    assert!(s.bytes_current <= s.bytes_max);
    assert!(s.evictions > 0, "the workload should have pressured the budget");
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
}
