//! The store: power-of-two shards behind mutexes, one global byte budget, TTLs, the
//! removal hand-off and the stats.
//!
//! How eviction approximates global LRU: every shard keeps an exact LRU list, and keys
//! spread over shards by a seeded hash, so each shard's least recently used entry is
//! among the oldest entries of the whole store. A write that takes the store over budget
//! evicts from its own shard's tail first (no second lock), and only if that shard has
//! nothing left to give does it walk the other shards in order. The budget itself is
//! global (one atomic), so a hot shard may hold more than 1/N of the bytes.

mod ops;
mod scope;
pub use ops::{parse_integer, Meta, ScanCursor, ScanFilter, SetCondition, JS_SAFE_INTEGER};
pub use crate::stats::ServiceStats;

use crate::cause::RemovalCause;
use crate::clock::Clock;
use crate::constants::*;
use crate::error::{StoreError, ValueLimit};
use crate::hash::{hash_key, random_seed};
use crate::key::{join_key, validate_key};
use crate::deps::DepGraph;
use crate::removal::{RemovalRecord, RemovalSink};
use crate::shard::{entry_charge, ServiceCap, Shard};
use crate::stats::Stats;
use std::borrow::Cow;
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
    /// At most this many entries; past it, LRU eviction as for bytes.
    pub max_keys: Option<u64>,
    /// Per-service byte caps: a service over its cap evicts its own least recently used
    /// entries, never another service's.
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

/// What a write decided to store, under the shard lock.
pub(crate) enum Decision<'v, R> {
    Store { value: Cow<'v, [u8]>, deadline: Option<u64>, version: Option<u64>, result: R },
    /// Store nothing (a compare-and-set that did not match).
    Skip(R),
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
    /// Keys removed or replaced whose dependents are still to be removed (see `settle`), and
    /// a flag that lets every other operation skip that lock.
    cascade: Mutex<Vec<Box<[u8]>>>,
    cascade_pending: AtomicBool,
    start_unix_ms: u64,
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
            Some(n) if n >= 1 && n <= MAX_SHARDS => n.next_power_of_two(),
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

    #[inline]
    fn locate(&self, key: &[u8]) -> (usize, u32) {
        let hash = hash_key(self.seed, key);
        let shard = if self.shard_bits == 0 { 0 } else { (hash >> (64 - self.shard_bits)) as usize };
        (shard, hash as u32)
    }

    fn check_key(key: &[u8]) -> Result<(), StoreError> {
        validate_key(key).map(|_| ()).map_err(|problem| StoreError::invalid_key(key, problem))
    }

    /// ValueTooLarge unless an entry with this key and value is storable at all, even as the
    /// only entry of its table (whose group is then charged too).
    fn check_fits(&self, key: &[u8], value_len: usize, has_ttl: bool, versioned: bool) -> Result<(), StoreError> {
        if value_len as u64 > self.max_value_bytes {
            return Err(StoreError::ValueTooLarge { len: value_len as u64, limit: self.max_value_bytes, why: ValueLimit::MaxValueBytes });
        }
        let charge = Self::worst_charge(key, value_len, has_ttl, versioned);
        if charge > self.max_bytes {
            return Err(StoreError::ValueTooLarge { len: charge, limit: self.max_bytes, why: ValueLimit::Budget });
        }
        Ok(())
    }

    /// An entry's charge if it is the only one of its table (whose group is then charged too).
    fn worst_charge(key: &[u8], value_len: usize, has_ttl: bool, versioned: bool) -> u64 {
        let table_name = match validate_key(key) {
            Ok(parts) => parts.table_end,
            Err(_) => key.len(),
        };
        entry_charge(key.len() + value_len, has_ttl, versioned) + GROUP_OVERHEAD_BYTES + table_name as u64
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

    /// Reads a key; on a hit, `read` sees the value while the shard is locked (so the
    /// caller copies it once, straight to where it is needed) and the entry becomes most
    /// recently used. Allocates nothing.
    #[inline]
    pub fn get_with<R>(&self, key: &[u8], read: impl FnOnce(&[u8]) -> R) -> Result<Lookup<R>, StoreError> {
        let result = self.get_locked(key, |shard, slot| read(shard.value(slot)));
        self.settle();
        result
    }

    /// The one read path: counts the get, removes (and reports) an expired entry, and on a
    /// hit lets `read` see the entry under the lock and marks it most recently used.
    #[inline]
    pub(crate) fn get_locked<R>(&self, key: &[u8], read: impl FnOnce(&Shard, u32) -> R) -> Result<Lookup<R>, StoreError> {
        Self::check_key(key)?;
        let (index, hash) = self.locate(key);
        let mut shard = lock(&self.shards[index]);
        shard.counters.get_calls += 1;
        let Some(slot) = shard.find(hash, key) else {
            shard.counters.get_misses += 1;
            shard.record_miss(key);
            return Ok(Lookup::Miss);
        };
        if self.is_expired(&shard, slot) {
            shard.counters.get_misses += 1;
            shard.record_miss(key);
            self.remove_slot(&mut shard, slot, RemovalCause::Expired);
            return Ok(Lookup::Expired);
        }
        shard.counters.get_hits += 1;
        shard.record_hit(slot);
        shard.touch(slot);
        Ok(Lookup::Hit(read(&shard, slot)))
    }

    /// Whether a live entry exists. Not counted as a get and does not change LRU order.
    pub fn has(&self, key: &[u8]) -> Result<bool, StoreError> {
        let result = self.has_locked(key);
        self.settle();
        result
    }

    fn has_locked(&self, key: &[u8]) -> Result<bool, StoreError> {
        Self::check_key(key)?;
        let (index, hash) = self.locate(key);
        let mut shard = lock(&self.shards[index]);
        let Some(slot) = shard.find(hash, key) else { return Ok(false) };
        if self.is_expired(&shard, slot) {
            self.remove_slot(&mut shard, slot, RemovalCause::Expired);
            return Ok(false);
        }
        Ok(true)
    }

    #[inline]
    fn is_expired(&self, shard: &Shard, slot: u32) -> bool {
        match shard.deadline(slot) {
            Some(at_ms) => at_ms <= self.clock.now_ms(),
            None => false,
        }
    }

    /// Stores a value; returns how many entries were evicted to make room.
    pub fn set(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<u32, StoreError> {
        self.set_versioned(key, value, ttl_ms, None)
    }

    /// Stores a value unless the stored entry carries a higher version (then VersionConflict,
    /// and the stored value stays). An equal version is accepted; a write without a version
    /// always is, and leaves the entry unversioned.
    pub fn set_versioned(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, version: Option<u64>) -> Result<u32, StoreError> {
        self.set_with(key, value, ttl_ms, version, None)
    }

    /// Stores a value that depends on other keys: when any of them is invalidated, deleted,
    /// replaced, evicted or expires, this entry is removed too (and so are its dependents).
    /// `None` leaves the entry with no dependencies.
    pub fn set_with(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, version: Option<u64>, depends_on: Option<&[&[u8]]>) -> Result<u32, StoreError> {
        Self::check_key(key)?;
        if let Some(deps) = depends_on {
            if deps.len() > MAX_DEPENDENCIES {
                return Err(StoreError::BadArgument(format!("dependsOn may name at most {MAX_DEPENDENCIES} keys")));
            }
            for dep in deps {
                Self::check_key(dep)?;
            }
        }
        let evicted = self.put_checked(key, value, ttl_ms, version, true)?;
        // The new value no longer depends on what the old one did. Drop those edges first,
        // then run this write's cascade (what was derived from the old value goes), and only
        // then record the new edges: a value is never removed by the cascade its own write
        // started, even through a cycle.
        if self.dep_edges.load(Ordering::Acquire) > 0 {
            self.forget_dependencies(key);
        }
        self.settle();
        if let Some(deps) = depends_on.filter(|d| !d.is_empty()) {
            self.record_dependencies(key, deps);
            // The edges are charged too: make room for them as for any write.
            if self.over_budget() {
                let evicted_now = self.evict_elsewhere(self.locate(key).0);
                self.settle();
                return Ok(evicted + evicted_now);
            }
        }
        Ok(evicted)
    }

    /// Builds `svc:table:pk` from its parts and stores the value; counted as an upsert.
    pub fn table_changed_upsert(
        &self,
        svc: &[u8],
        table: &[u8],
        pk: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        version: Option<u64>,
    ) -> Result<u32, StoreError> {
        let mut buf = [0u8; MAX_KEY_BYTES];
        let key = match join_key(svc, table, pk, &mut buf) {
            Ok(key) => key,
            Err(problem) => {
                let shown = [svc, b":", table, b":", pk].concat();
                return Err(StoreError::invalid_key(&shown, problem));
            }
        };
        let evicted = self.put_checked(key, value, ttl_ms, version, false)?;
        // As in set_with: the upserted row depends on nothing now; its dependents go.
        if self.dep_edges.load(Ordering::Acquire) > 0 {
            self.forget_dependencies(key);
        }
        self.table_changed_upsert_calls.fetch_add(1, Ordering::Relaxed);
        self.settle();
        Ok(evicted)
    }

    fn put_checked(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, version: Option<u64>, count_put: bool) -> Result<u32, StoreError> {
        Self::check_ttl(ttl_ms)?;
        let deadline = self.deadline_after(ttl_ms);
        let ((), evicted) = self.write_locked(key, count_put, true, |shard, slot| {
            if let (Some(slot), Some(attempted)) = (slot, version) {
                if let Some(stored) = shard.version(slot) {
                    if attempted < stored {
                        return Err(StoreError::VersionConflict { stored, attempted });
                    }
                }
            }
            Ok(Decision::Store { value: Cow::Borrowed(value), deadline, version, result: () })
        })?;
        Ok(evicted)
    }

    pub(crate) fn deadline_after(&self, ttl_ms: Option<u64>) -> Option<u64> {
        ttl_ms.map(|ms| self.clock.now_ms().saturating_add(ms))
    }

    /// The one write path: under the key's shard lock, `decide` sees the live entry (an
    /// expired one is removed first, and reported) and says what to store, if anything. Then
    /// the size limits are checked, the entry written, and the budget restored by eviction.
    /// Returns `decide`'s result and how many entries were evicted.
    pub(crate) fn write_locked<'v, R>(
        &self,
        key: &[u8],
        count_put: bool,
        changes_value: bool,
        decide: impl FnOnce(&Shard, Option<u32>) -> Result<Decision<'v, R>, StoreError>,
    ) -> Result<(R, u32), StoreError> {
        let parts = validate_key(key).map_err(|problem| StoreError::invalid_key(key, problem))?;
        let (index, hash) = self.locate(key);
        let mut evicted = 0;
        let result;
        let cap;
        {
            let mut shard = lock(&self.shards[index]);
            if count_put {
                shard.counters.put_calls += 1;
            }
            let mut found = shard.find(hash, key);
            if let Some(slot) = found {
                if self.is_expired(&shard, slot) {
                    self.remove_slot(&mut shard, slot, RemovalCause::Expired);
                    found = None;
                }
            }
            let decision = match decide(&shard, found) {
                Ok(decision) => decision,
                Err(err) => {
                    if matches!(err, StoreError::VersionConflict { .. }) {
                        shard.counters.version_conflicts += 1;
                    }
                    return Err(err);
                }
            };
            let (value, deadline, version) = match decision {
                Decision::Skip(r) => return Ok((r, 0)),
                Decision::Store { value, deadline, version, result: r } => {
                    result = r;
                    (value, deadline, version)
                }
            };
            self.check_fits(key, value.len(), deadline.is_some(), version.is_some())?;
            if let Some(cap) = self.service_cap(parts.svc(key)) {
                let charge = Self::worst_charge(key, value.len(), deadline.is_some(), version.is_some());
                if charge > cap {
                    return Err(StoreError::ValueTooLarge { len: charge, limit: cap, why: ValueLimit::ServiceCap });
                }
            }
            if changes_value && self.dep_edges.load(Ordering::Acquire) > 0 {
                // A write changes the key: what was derived from it must go.
                self.queue_cascade(key);
            }
            let slot = match found {
                Some(slot) => {
                    let (old, new) = shard.replace(slot, &value, deadline, version);
                    if new != old {
                        self.charged.fetch_add(new, Ordering::AcqRel);
                        self.charged.fetch_sub(old, Ordering::AcqRel);
                    }
                    slot
                }
                None => {
                    let (slot, new) = shard.insert(hash, key, parts, &value, deadline, version);
                    shard.counters.insertions += 1;
                    self.charged.fetch_add(new, Ordering::AcqRel);
                    self.items.fetch_add(1, Ordering::AcqRel);
                    slot
                }
            };
            while self.over_budget() {
                match shard.lru_tail() {
                    Some(victim) if victim != slot => {
                        self.remove_slot(&mut shard, victim, RemovalCause::Evicted);
                        evicted += 1;
                    }
                    _ => break,
                }
            }
            cap = shard.cap_of(slot);
            if let Some(cap) = cap {
                while self.over_cap(cap) {
                    let Some(victim) = shard.cap_victim(cap, Some(slot)) else { break };
                    self.remove_slot(&mut shard, victim, RemovalCause::Evicted);
                    evicted += 1;
                }
            }
        }
        if self.over_budget() {
            evicted += self.evict_elsewhere(index);
        }
        if let Some(cap) = cap {
            if self.over_cap(cap) {
                evicted += self.evict_service_elsewhere(index, cap);
            }
        }
        Ok((result, evicted))
    }

    /// Over the byte budget or the key limit: the shard-LRU eviction loops run while true.
    #[inline]
    fn over_budget(&self) -> bool {
        self.charged.load(Ordering::Acquire) > self.max_bytes || self.items.load(Ordering::Acquire) > self.max_keys
    }

    fn over_cap(&self, cap: u32) -> bool {
        let cap = &self.caps[cap as usize];
        cap.used.load(Ordering::Acquire) > cap.cap
    }

    /// A service still over its cap after its writing shard gave what it could: take its
    /// least recently used entries from the other shards, one lock at a time.
    fn evict_service_elsewhere(&self, home: usize, cap: u32) -> u32 {
        let mut evicted = 0;
        let mask = self.shards.len() - 1;
        for step in 1..self.shards.len() {
            let mut shard = lock(&self.shards[(home + step) & mask]);
            while self.over_cap(cap) {
                let Some(victim) = shard.cap_victim(cap, None) else { break };
                self.remove_slot(&mut shard, victim, RemovalCause::Evicted);
                evicted += 1;
            }
            if !self.over_cap(cap) {
                break;
            }
        }
        evicted
    }

    /// Evicts from the other shards, then from `home` itself, one lock at a time (never two
    /// at once, so no lock order can deadlock), until the store is within budget.
    fn evict_elsewhere(&self, home: usize) -> u32 {
        let mut evicted = 0;
        let mask = self.shards.len() - 1;
        for step in 1..=self.shards.len() {
            let mut shard = lock(&self.shards[(home + step) & mask]);
            while self.over_budget() {
                let Some(victim) = shard.lru_tail() else { break };
                self.remove_slot(&mut shard, victim, RemovalCause::Evicted);
                evicted += 1;
            }
            if !self.over_budget() {
                break;
            }
        }
        evicted
    }

    fn remove_slot(&self, shard: &mut Shard, slot: u32, cause: RemovalCause) {
        let removed = shard.remove(slot);
        self.charged.fetch_sub(removed.charge, Ordering::AcqRel);
        self.items.fetch_sub(1, Ordering::AcqRel);
        match cause {
            RemovalCause::Evicted => shard.counters.evictions += 1,
            RemovalCause::Expired => shard.counters.expired_removals += 1,
            RemovalCause::Deleted | RemovalCause::Replaced | RemovalCause::Dependency => {}
        }
        if self.dep_edges.load(Ordering::Acquire) > 0 {
            // Its own edges go now (they are charged, and eviction must see them freed);
            // its dependents go in `settle`, outside any shard lock.
            self.forget_dependencies(removed.key());
            self.queue_cascade(removed.key());
        }
        if cause.is_reported() && self.recording.load(Ordering::Relaxed) {
            self.own_sink.push(removed.key(), cause);
            for sink in lock(&self.sinks).iter() {
                sink.push(removed.key(), cause);
            }
        }
    }

    /// Deletes a key; returns whether a live entry existed.
    pub fn delete(&self, key: &[u8]) -> Result<bool, StoreError> {
        let existed = self.remove_key(key, true);
        self.settle();
        existed
    }

    fn forget_dependencies(&self, key: &[u8]) {
        let mut deps = lock(&self.deps);
        let released = deps.forget(key);
        if released > 0 {
            self.charged.fetch_sub(released, Ordering::AcqRel);
            self.dep_edges.store(deps.edges(), Ordering::Release);
        }
    }

    /// Records what `key` (just stored) depends on, charging the edges.
    fn record_dependencies(&self, key: &[u8], deps: &[&[u8]]) {
        let mut graph = lock(&self.deps);
        let delta = graph.set(key, deps);
        if delta >= 0 {
            self.charged.fetch_add(delta as u64, Ordering::AcqRel);
        } else {
            self.charged.fetch_sub(delta.unsigned_abs(), Ordering::AcqRel);
        }
        self.dep_edges.store(graph.edges(), Ordering::Release);
    }

    /// Removes the dependents of every key removed or replaced so far, transitively. Runs at
    /// the end of each public operation, holding no shard lock (it takes them one at a time),
    /// so the cascade can reach any shard. Cycles end because a removed key is gone.
    fn queue_cascade(&self, key: &[u8]) {
        lock(&self.cascade).push(key.into());
        self.cascade_pending.store(true, Ordering::Release);
    }

    #[inline]
    pub(crate) fn settle(&self) {
        if self.cascade_pending.load(Ordering::Acquire) {
            self.run_cascade();
        }
    }

    fn run_cascade(&self) {
        loop {
            let next = {
                let mut queue = lock(&self.cascade);
                let next = queue.pop();
                if queue.is_empty() {
                    self.cascade_pending.store(false, Ordering::Release);
                }
                next
            };
            let Some(changed) = next else { break };
            let dependents = {
                let mut graph = lock(&self.deps);
                let before = graph.bytes();
                let list = graph.take_dependents(&changed);
                self.charged.fetch_sub(before - graph.bytes(), Ordering::AcqRel);
                self.dep_edges.store(graph.edges(), Ordering::Release);
                list
            };
            for dependent in dependents {
                let (index, hash) = self.locate(&dependent);
                let mut shard = lock(&self.shards[index]);
                if let Some(slot) = shard.find(hash, &dependent) {
                    self.remove_slot(&mut shard, slot, RemovalCause::Dependency);
                    self.dependency_removals.fetch_add(1, Ordering::Relaxed);
                    self.invalidations.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if self.over_budget() {
            self.evict_elsewhere(0);
        }
    }

    /// Deletes a key as an invalidation: the same removal, counted as an invalidate. Its
    /// dependents go too, even if the key itself was absent (it may be a tag).
    pub fn invalidate(&self, key: &[u8]) -> Result<bool, StoreError> {
        let existed = self.remove_key(key, false)?;
        if !existed && self.dep_edges.load(Ordering::Acquire) > 0 {
            self.queue_cascade(key);
        }
        self.settle();
        self.invalidate_calls.fetch_add(1, Ordering::Relaxed);
        if existed {
            self.invalidations.fetch_add(1, Ordering::Relaxed);
        }
        Ok(existed)
    }

    fn remove_key(&self, key: &[u8], count_del: bool) -> Result<bool, StoreError> {
        Self::check_key(key)?;
        let (index, hash) = self.locate(key);
        let mut shard = lock(&self.shards[index]);
        if count_del {
            shard.counters.del_calls += 1;
        }
        let Some(slot) = shard.find(hash, key) else { return Ok(false) };
        if self.is_expired(&shard, slot) {
            self.remove_slot(&mut shard, slot, RemovalCause::Expired);
            return Ok(false);
        }
        self.remove_slot(&mut shard, slot, RemovalCause::Deleted);
        Ok(true)
    }

    /// Removes every expired entry now; returns how many. Work is proportional to the
    /// number expired (plus one heap peek per shard), never to the number stored.
    pub fn sweep(&self) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let now = self.clock.now_ms();
            while let Some(slot) = shard.next_expired(now) {
                self.remove_slot(&mut shard, slot, RemovalCause::Expired);
                removed += 1;
            }
        }
        self.settle();
        removed
    }

    /// Drops every entry without reporting removals; returns how many were dropped.
    pub fn clear(&self) -> usize {
        let mut dropped = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            dropped += shard.len();
            self.items.fetch_sub(shard.len() as u64, Ordering::AcqRel);
            let freed = shard.clear();
            self.charged.fetch_sub(freed, Ordering::AcqRel);
        }
        // With every entry gone, so are all dependency edges.
        let mut graph = lock(&self.deps);
        self.charged.fetch_sub(graph.bytes(), Ordering::AcqRel);
        *graph = DepGraph::default();
        self.dep_edges.store(0, Ordering::Release);
        lock(&self.cascade).clear();
        self.cascade_pending.store(false, Ordering::Release);
        dropped
    }

    pub fn advance_clock(&self, ms: u64) -> bool {
        self.clock.advance(ms)
    }

    /// Turns the removal hand-off on or off. Off (the default) queues nothing, so a store
    /// nobody listens to pays nothing for it.
    pub fn set_recording(&self, on: bool) {
        self.own_sink.set_active(on);
        self.refresh_recording();
    }

    fn refresh_recording(&self) {
        let any = self.own_sink.is_active() || lock(&self.sinks).iter().any(|s| s.is_active());
        self.recording.store(any, Ordering::Relaxed);
    }

    pub fn removals_pending(&self) -> bool {
        self.own_sink.pending()
    }

    /// Hands every queued removal to `each`; returns how many were dropped by overflow.
    pub fn drain_removals(&self, each: impl FnMut(&RemovalRecord)) -> u64 {
        self.own_sink.drain(each)
    }

    /// Adds a sink of its own for another observer of this store (inactive until
    /// `set_sink_active`).
    pub fn add_sink(&self) -> Arc<RemovalSink> {
        let sink = Arc::new(RemovalSink::new());
        lock(&self.sinks).push(Arc::clone(&sink));
        sink
    }

    pub fn set_sink_active(&self, sink: &RemovalSink, on: bool) {
        sink.set_active(on);
        self.refresh_recording();
    }

    pub fn remove_sink(&self, sink: &Arc<RemovalSink>) {
        lock(&self.sinks).retain(|s| !Arc::ptr_eq(s, sink));
        self.refresh_recording();
    }

    /// The store's statistics. The daemon's pub/sub fields (`subscribers_current`,
    /// `events_published`, `events_dropped`, `lagged_notices`) are always 0 here: the store
    /// has no subscribers; the daemon fills them in its own copy of the blob.
    pub fn stats(&self) -> Stats {
        let mut stats = Stats {
            start_unix_ms: self.start_unix_ms,
            invalidate_calls: self.invalidate_calls.load(Ordering::Relaxed),
            table_changed_upsert_calls: self.table_changed_upsert_calls.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            dependency_removals: self.dependency_removals.load(Ordering::Relaxed),
            bytes_max: self.max_bytes,
            max_keys: self.max_keys().unwrap_or(0),
            shards: self.shards.len() as u64,
            ..Stats::default()
        };
        let mut bytes = 0;
        for shard in self.shards.iter() {
            let shard = lock(shard);
            let c = shard.counters;
            stats.get_calls += c.get_calls;
            stats.get_hits += c.get_hits;
            stats.get_misses += c.get_misses;
            stats.put_calls += c.put_calls;
            stats.del_calls += c.del_calls;
            stats.evictions += c.evictions;
            stats.expired_removals += c.expired_removals;
            stats.insertions += c.insertions;
            stats.version_conflicts += c.version_conflicts;
            stats.items_current += shard.len() as u64;
            bytes += shard.bytes();
        }
        // Summed under the shard locks, so it agrees with items even while writers run.
        stats.bytes_current = bytes;
        stats.services = self.service_stats();
        stats
    }

    /// Keys of one shard from most to least recently used (tests and diagnostics).
    pub fn shard_keys_by_recency(&self, shard: usize) -> Vec<Vec<u8>> {
        lock(&self.shards[shard]).keys_by_recency()
    }

    /// Checks every shard's invariants and the global byte total and bound.
    pub fn validate(&self) -> Result<(), String> {
        let mut total = 0;
        for (i, shard) in self.shards.iter().enumerate() {
            let shard = lock(shard);
            shard.validate().map_err(|e| format!("shard {i}: {e}"))?;
            total += shard.bytes();
        }
        let items: u64 = self.shards.iter().map(|s| lock(s).len() as u64).sum();
        if items != self.items.load(Ordering::Acquire) {
            return Err(format!("{items} entries but {} counted", self.items.load(Ordering::Acquire)));
        }
        if items > self.max_keys {
            return Err(format!("{items} entries over maxKeys {}", self.max_keys));
        }
        for (i, cap) in self.caps.iter().enumerate() {
            let mut used = 0;
            for shard in self.shards.iter() {
                used += lock(shard).groups.live().filter(|(_, g)| g.cap == Some(i as u32)).map(|(_, g)| g.bytes + g.charge()).sum::<u64>();
            }
            if used != cap.used.load(Ordering::Acquire) {
                return Err(format!("service {} uses {used} bytes but {} counted", String::from_utf8_lossy(&cap.name), cap.used.load(Ordering::Acquire)));
            }
        }
        let graph = lock(&self.deps);
        graph.validate()?;
        let total = total + graph.bytes();
        drop(graph);
        let charged = self.bytes_current();
        if total != charged {
            return Err(format!("shards hold {total} bytes but {charged} are charged"));
        }
        if charged > self.max_bytes {
            return Err(format!("{charged} bytes charged over maxBytes {}", self.max_bytes));
        }
        Ok(())
    }
}
