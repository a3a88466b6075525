//! The store: power-of-two shards behind mutexes, one global byte budget, TTLs, the
//! removal hand-off and the stats.
//!
//! Eviction is SIEVE per shard (`shard/queue.rs`): each shard keeps its entries in a queue
//! in insertion order, a hit only sets the entry's visited bit, and a hand evicts the oldest
//! entry not visited since it last passed. Keys spread over shards by a seeded hash, so each
//! shard's victim is a fair pick for the whole store. A write that takes the store over
//! budget evicts from its own shard first (no second lock), and only if that shard has
//! nothing left to give does it walk the other shards in order. The budget itself is
//! global (one atomic), so a hot shard may hold more than 1/N of the bytes.
//!
//! Here: the store's state, its options and the checks every operation shares. The
//! operations live by concern: `read.rs`; `write.rs` (the one write path, `Store::write`,
//! and its description `Write`) and `write_ops.rs` (the public writes built on it);
//! `remove.rs`; `cascade.rs` (dependency edges and the cascade); `evict.rs`; `scope.rs`
//! (scoped invalidation); `scan.rs`; `snapshot.rs` (what snapshots read and restore);
//! `handoff.rs` (removal sinks); `stats.rs`; `validate.rs`.

mod cascade;
mod evict;
mod handoff;
mod read;
mod remove;
mod scan;
mod scope;
mod snapshot;
mod stats;
mod validate;
mod write;
mod write_ops;
pub use crate::shard::QueueView;
pub use crate::stats::ServiceStats;
pub use read::Meta;
pub use scan::{ScanCursor, ScanFilter};
pub(crate) use snapshot::{Restored, SavedEntry};
pub use write::{Condition, EdgeRule, NewValue, TtlRule, VersionRule, Write, WriteCounter, Written};
pub use write_ops::{parse_integer, SetCondition, JS_SAFE_INTEGER};

use crate::clock::Clock;
use crate::constants::*;
use crate::error::{StoreError, ValueLimit};
use crate::hash::{hash_key, random_seed};
use crate::key::{validate_key, KeyParts};
use crate::deps::DepGraph;
use crate::removal::RemovalSink;
use crate::shard::{entry_charge, ServiceCap, Shard};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct StoreOptions {
    pub max_bytes: u64,
    /// `None` follows the core count; otherwise rounded up to a power of two.
    pub shards: Option<usize>,
    pub max_value_bytes: u64,
    pub clock: Clock,
    /// At most this many entries; past it, SIEVE eviction as for bytes.
    pub max_keys: Option<u64>,
    /// Per-service byte caps: a service over its cap evicts its own least recently used
    /// entries, never another service's: exact LRU (across all its tables) within a shard
    /// (its own list, apart from the shard's SIEVE queue),
    /// the written key's shard first, then the others in shard order (`store/evict.rs`).
    /// An entry of a capped service is charged `CAPPED_OVERHEAD_BYTES` more.
    pub service_caps: Vec<(Vec<u8>, u64)>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_bytes: DEFAULT_MAX_BYTES,
            shards: None,
            max_value_bytes: DEFAULT_MAX_VALUE_BYTES,
            clock: Clock::system(),
            max_keys: None,
            service_caps: Vec::new(),
        }
    }
}

/// The result of a read.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<R> {
    Hit(R),
    Miss,
    /// A miss because the entry had expired; it was removed and its removal reported.
    Expired,
}

pub struct Store {
    shards: Box<[Mutex<Shard>]>,
    /// log2 of the shard count; the shard is picked from the hash's top bits, which the
    /// per-shard index (which uses the low 32 bits) never looks at.
    shard_bits: u32,
    seed: u64,
    max_bytes: u64,
    max_value_bytes: u64,
    /// Bytes charged across all shards: the one number the budget is held against.
    charged: AtomicU64,
    /// Entries across all shards, held against `max_keys`.
    items: AtomicU64,
    max_keys: u64,
    caps: Arc<[ServiceCap]>,
    clock: Clock,
    /// Where reported removals go: the store's own sink (`set_recording`/`drain_removals`)
    /// and any added with `add_sink` (one per handle of a shared store).
    sinks: Mutex<Vec<Arc<RemovalSink>>>,
    own_sink: Arc<RemovalSink>,
    /// Whether any sink is active: removals cost nothing while nobody listens.
    recording: AtomicBool,
    invalidate_calls: AtomicU64,
    table_changed_upsert_calls: AtomicU64,
    /// Entries removed by invalidation: single, scoped or by dependency.
    invalidations: AtomicU64,
    dependency_removals: AtomicU64,
    /// The dependency graph, and a lock-free count of its edges so that stores that never
    /// use dependencies never take its lock.
    deps: Mutex<DepGraph>,
    dep_edges: AtomicU64,
    /// Keys removed or rewritten whose dependents are still to be removed (see
    /// `cascade.rs`), and a flag that lets every other operation skip that lock.
    cascade: Mutex<Vec<Box<[u8]>>>,
    cascade_pending: AtomicBool,
    start_unix_ms: u64,
    /// Held by a snapshot save or load for its whole run: two saves of one store run one
    /// after the other, never interleaved (see `snapshot/mod.rs`).
    snapshot_lock: Mutex<()>,
}

/// A mutex is only poisoned if a panic unwound while it was held. Every shard operation
/// either completes or panics before mutating, so the data is still consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn default_shard_count() -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (cores * SHARDS_PER_CORE).next_power_of_two().min(MAX_SHARDS)
}

impl Store {
    pub fn new(options: StoreOptions) -> Result<Store, StoreError> {
        if options.max_bytes == 0 {
            return Err(StoreError::BadArgument("maxBytes must be a positive integer".into()));
        }
        if options.max_value_bytes == 0 || options.max_value_bytes > MAX_VALUE_BYTES_LIMIT {
            return Err(StoreError::BadArgument(format!(
                "maxValueBytes must be an integer from 1 to {MAX_VALUE_BYTES_LIMIT}"
            )));
        }
        let shard_count = match options.shards {
            None => default_shard_count(),
            Some(n) if (1..=MAX_SHARDS).contains(&n) => n.next_power_of_two(),
            Some(n) => {
                return Err(StoreError::BadArgument(format!(
                    "shards must be an integer from 1 to {MAX_SHARDS}, got {n}"
                )))
            }
        };
        let start_unix_ms =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        if options.max_keys == Some(0) {
            return Err(StoreError::BadArgument("maxKeys must be a positive integer".into()));
        }
        let mut caps = Vec::with_capacity(options.service_caps.len());
        for (svc, cap) in options.service_caps {
            if svc.is_empty() || !svc.iter().all(|&b| crate::key::is_segment_byte(b)) {
                return Err(StoreError::BadArgument(format!("svcCaps: '{}' is not a service name ([A-Za-z0-9._-]+)", String::from_utf8_lossy(&svc))));
            }
            if cap == 0 {
                return Err(StoreError::BadArgument(format!("svcCaps: the cap of '{}' must be a positive number of bytes", String::from_utf8_lossy(&svc))));
            }
            caps.push(ServiceCap { name: svc.into(), cap, used: AtomicU64::new(0) });
        }
        let caps: Arc<[ServiceCap]> = caps.into();
        let seed = random_seed();
        Ok(Store {
            shards: (0..shard_count).map(|_| Mutex::new(Shard::new(seed, Arc::clone(&caps)))).collect(),
            shard_bits: shard_count.trailing_zeros(),
            seed,
            max_bytes: options.max_bytes,
            max_value_bytes: options.max_value_bytes,
            charged: AtomicU64::new(0),
            items: AtomicU64::new(0),
            max_keys: options.max_keys.unwrap_or(u64::MAX),
            caps,
            clock: options.clock,
            sinks: Mutex::new(Vec::new()),
            own_sink: Arc::new(RemovalSink::new()),
            recording: AtomicBool::new(false),
            invalidate_calls: AtomicU64::new(0),
            table_changed_upsert_calls: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            dependency_removals: AtomicU64::new(0),
            deps: Mutex::new(DepGraph::default()),
            dep_edges: AtomicU64::new(0),
            cascade: Mutex::new(Vec::new()),
            cascade_pending: AtomicBool::new(false),
            start_unix_ms,
            snapshot_lock: Mutex::new(()),
        })
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The byte cap of a service, if it has one.
    pub fn service_cap(&self, svc: &[u8]) -> Option<u64> {
        self.caps.iter().find(|c| *c.name == *svc).map(|c| c.cap)
    }

    pub fn max_keys(&self) -> Option<u64> {
        (self.max_keys != u64::MAX).then_some(self.max_keys)
    }

    pub fn max_value_bytes(&self) -> u64 {
        self.max_value_bytes
    }

    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    pub fn bytes_current(&self) -> u64 {
        self.charged.load(Ordering::Acquire)
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves a manual clock forward; returns false (and does nothing) for the system clock.
    pub fn advance_clock(&self, ms: u64) -> bool {
        self.clock.advance(ms)
    }

    #[inline]
    fn locate(&self, key: &[u8]) -> (usize, u32) {
        let hash = hash_key(self.seed, key);
        let shard = if self.shard_bits == 0 { 0 } else { (hash >> (64 - self.shard_bits)) as usize };
        (shard, hash as u32)
    }

    fn check_key(key: &[u8]) -> Result<(), StoreError> {
        validate_key(key).map(|_| ()).map_err(|problem| StoreError::invalid_key(key, problem))
    }

    /// ValueTooLarge unless an entry with this (valid) key and value is storable at all,
    /// even as the only entry of its table (whose group is then charged too): within
    /// `maxValueBytes`, the byte budget and its service's cap. The key's parts are passed in
    /// so the key is not parsed again.
    fn check_fits(&self, key: &[u8], parts: KeyParts, value_len: usize, has_ttl: bool, versioned: bool) -> Result<(), StoreError> {
        if value_len as u64 > self.max_value_bytes {
            return Err(StoreError::ValueTooLarge { len: value_len as u64, limit: self.max_value_bytes, why: ValueLimit::MaxValueBytes });
        }
        let cap = if self.caps.is_empty() { None } else { self.service_cap(parts.svc(key)) };
        let charge = entry_charge(key.len() + value_len, has_ttl, versioned, cap.is_some()) + GROUP_OVERHEAD_BYTES + parts.table_end as u64;
        if charge > self.max_bytes {
            return Err(StoreError::ValueTooLarge { len: charge, limit: self.max_bytes, why: ValueLimit::Budget });
        }
        match cap {
            Some(cap) if charge > cap => Err(StoreError::ValueTooLarge { len: charge, limit: cap, why: ValueLimit::ServiceCap }),
            _ => Ok(()),
        }
    }

    fn check_ttl(ttl_ms: Option<u64>) -> Result<(), StoreError> {
        match ttl_ms {
            Some(0) => Err(StoreError::BadArgument("ttlMs must be a positive integer (omit it for no expiry), got 0".into())),
            Some(ms) if ms > MAX_TTL_MS => Err(StoreError::BadArgument(format!(
                "ttlMs must be at most {MAX_TTL_MS}, got {ms}"
            ))),
            _ => Ok(()),
        }
    }

    pub(crate) fn deadline_after(&self, ttl_ms: Option<u64>) -> Option<u64> {
        ttl_ms.map(|ms| self.clock.now_ms().saturating_add(ms))
    }

    #[inline]
    fn is_expired(&self, shard: &Shard, slot: u32) -> bool {
        match shard.deadline(slot) {
            Some(at_ms) => at_ms <= self.clock.now_ms(),
            None => false,
        }
    }
}
