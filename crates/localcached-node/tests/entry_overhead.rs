//! Measures what an entry of localcached-core really costs beyond its key and value, with a
//! counting global allocator that also charges glibc malloc's per-chunk header and 16-byte
//! rounding, and checks that `ENTRY_OVERHEAD_BYTES` tells the truth. It lives in this crate
//! because a global allocator needs `unsafe`, and the core crate has none.

use localcached_core::constants::ENTRY_OVERHEAD_BYTES;
use localcached_core::{Clock, Store, StoreOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};

struct Counting;
static LIVE: AtomicI64 = AtomicI64::new(0);

/// What glibc's malloc really takes for a request: an 8-byte header, rounded up to 16,
/// with a 32-byte minimum chunk.
fn real_size(size: usize) -> i64 {
    ((size + 8 + 15) & !15).max(32) as i64
}

// SAFETY: delegates every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(real_size(layout.size()), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(real_size(layout.size()), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(real_size(new_size) - real_size(layout.size()), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Average real bytes per entry beyond key + value, for `n` entries of `value_len` bytes.
fn measured_overhead(n: u64, value_len: usize, shards: usize) -> f64 {
    let options = StoreOptions { max_bytes: 1 << 40, shards: Some(shards), clock: Clock::manual(), ..StoreOptions::default() };
    let store = Store::new(options).expect("valid options");
    let before = LIVE.load(Ordering::Relaxed);
    let mut payload = 0u64;
    let value = vec![7u8; value_len];
    for i in 0..n {
        let k = format!("svc:tbl:{i}").into_bytes();
        payload += (k.len() + value_len) as u64;
        store.set(&k, &value, None).unwrap();
    }
    let used = LIVE.load(Ordering::Relaxed) - before;
    (used as f64 - payload as f64) / n as f64
}

#[test]
fn entry_overhead_constant_matches_measured_cost() {
    // Average over sizes that land at different points of the index's and slab's growth.
    let mut samples = vec![];
    for n in [60_000u64, 80_000, 100_000, 120_000, 140_000, 170_000, 200_000, 240_000] {
        for value_len in [100usize, 37] {
            let o = measured_overhead(n, value_len, 8);
            println!("n={n} value={value_len}: {o:.1} bytes/entry");
            samples.push(o);
        }
    }
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let max = samples.iter().cloned().fold(f64::MIN, f64::max);
    println!("mean {mean:.1}, max {max:.1}, constant {ENTRY_OVERHEAD_BYTES}");
    assert!((mean - ENTRY_OVERHEAD_BYTES as f64).abs() <= 6.0, "mean overhead {mean:.1} vs constant {ENTRY_OVERHEAD_BYTES}");
    assert!(max <= ENTRY_OVERHEAD_BYTES as f64 * 1.15, "worst case {max:.1} far above the constant");
}
