//! `cargo run --release --example probe`: raw core lookup cost, no N-API, for comparing
//! against the JS-level figures of `npm run bench:embedded`. The `capped` lines run the
//! same loop with the service under a `svcCaps` cap large enough never to evict, to show
//! what keeping a capped service's recency list costs. `get` walks the keys in a fixed
//! stride, as the micro table of `bench:embedded` does; `get rnd` reads them in a seeded
//! random order. The stride repeats one cycle, so an LRU's relink on a hit touched the entry
//! read next (its list neighbour from the last cycle) and prefetched it: random order shows
//! a hit's cost without that help.
use localcached_core::{Lookup, Store, StoreOptions};
use std::time::Instant;

fn main() {
    let runs = [(1_000usize, false), (100_000, false), (1_000_000, false), (100_000, true), (1_000_000, true)];
    for (n, capped) in runs {
        let service_caps = if capped { vec![(b"bench".to_vec(), 1 << 40)] } else { vec![] };
        let store = Store::new(StoreOptions { max_bytes: 1 << 30, service_caps, ..Default::default() }).unwrap();
        let keys: Vec<Vec<u8>> = (0..n).map(|i| format!("bench:items:{i}").into_bytes()).collect();
        for k in &keys {
            store.set(k, &[1u8; 100], None).unwrap();
        }
        let mut out = [0u8; 200];
        let ops = 2_000_000;
        let (mut j, mut sink) = (0usize, 0usize);
        let start = Instant::now();
        for _ in 0..ops {
            j = (j + 7919) % n;
            if let Ok(Lookup::Hit(len)) = store.get_with(&keys[j], |v| {
                out[..v.len()].copy_from_slice(v);
                v.len()
            }) {
                sink += len;
            }
        }
        let get_ns = start.elapsed().as_nanos() as f64 / ops as f64;
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let order: Vec<usize> = (0..ops)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % n as u64) as usize
            })
            .collect();
        let start = Instant::now();
        for &j in &order {
            if let Ok(Lookup::Hit(len)) = store.get_with(&keys[j], |v| {
                out[..v.len()].copy_from_slice(v);
                v.len()
            }) {
                sink += len;
            }
        }
        let random_ns = start.elapsed().as_nanos() as f64 / ops as f64;
        let start = Instant::now();
        for _ in 0..ops {
            j = (j + 7919) % n;
            store.set(&keys[j], &[2u8; 100], None).unwrap();
        }
        let set_ns = start.elapsed().as_nanos() as f64 / ops as f64;
        let label = if capped { "capped" } else { "" };
        println!("{n:>8} keys{label:>7}: get {get_ns:6.1} ns/op, get rnd {random_ns:6.1} ns/op, set {set_ns:6.1} ns/op ({sink})");
    }
}
