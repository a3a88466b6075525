//! What the snapshot module (`crate::snapshot`) needs from the store's insides: each
//! shard's queue order, its entries in bounded batches, the dependency graph to read, and
//! one restored entry inserted at the tail of its shard's queue within the budget and caps.
//! The file format and its checks live in `snapshot/`; nothing here knows of files.

use super::{lock, Store};
use crate::constants::{GROUP_OVERHEAD_BYTES, SNAPSHOT_BATCH_BYTES, SNAPSHOT_BATCH_ENTRIES, SNAPSHOT_INTERLEAVE_STEPS};
use crate::deps::{edge_charge, DepGraph};
use crate::key::KeyParts;
use crate::shard::entry_charge;
use std::sync::atomic::Ordering;
use std::sync::MutexGuard;

/// What became of one entry offered to `restore_entry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restored {
    Inserted,
    /// The key is already in the store (a save can meet a key twice when it moved between
    /// slots while the save ran); the first copy stays.
    Duplicate,
    /// It would take the store over its byte budget or key limit.
    OverBudget,
    /// It would take its service over its cap, or its value is over `maxValueBytes`.
    DoesNotFit,
}

/// One entry as a save sees it under its shard's lock.
pub(crate) struct SavedEntry<'a> {
    pub key: &'a [u8],
    pub value: &'a [u8],
    pub version: Option<u64>,
    /// On the store's clock.
    pub deadline: Option<u64>,
}

impl Store {
    /// Serializes snapshot saves and loads of this store.
    pub(crate) fn snapshot_guard(&self) -> MutexGuard<'_, ()> {
        lock(&self.snapshot_lock)
    }

    /// Every shard's slots hottest first (visited, then the others), one shard lock at a time.
    pub(crate) fn snapshot_orders(&self) -> Vec<Vec<u32>> {
        self.shards.iter().map(|shard| lock(shard).hottest_first_order()).collect()
    }

    /// Under one hold of `shard`'s lock, hands `emit` the entries of `order[from..]` still
    /// live, with the store clock's now, until `SNAPSHOT_BATCH_ENTRIES` slots (and at most
    /// 1/`SNAPSHOT_INTERLEAVE_STEPS` of the order) or `SNAPSHOT_BATCH_BYTES` bytes (at least
    /// one entry) have been seen. Returns where the next batch starts.
    pub(crate) fn snapshot_batch(&self, shard: usize, order: &[u32], from: usize, mut emit: impl FnMut(SavedEntry<'_>, u64)) -> usize {
        let guard = lock(&self.shards[shard]);
        let now = self.clock.now_ms();
        let (mut at, mut bytes) = (from, 0usize);
        let most = order.len().div_ceil(SNAPSHOT_INTERLEAVE_STEPS).clamp(1, SNAPSHOT_BATCH_ENTRIES);
        while at < order.len() && at - from < most && bytes < SNAPSHOT_BATCH_BYTES {
            if let Some((key, value, version, deadline)) = guard.snapshot_entry(order[at]) {
                bytes += key.len() + value.len();
                emit(SavedEntry { key, value, version, deadline }, now);
            }
            at += 1;
        }
        at
    }

    /// Runs `read` with the dependency graph (`None` when no edge exists, without locking).
    pub(crate) fn read_dependencies<R>(&self, read: impl FnOnce(Option<&DepGraph>) -> R) -> R {
        if !self.has_dependencies() {
            return read(None);
        }
        let graph = lock(&self.deps);
        read(Some(&graph))
    }

    /// No entry and no dependency edge: what a load starts from.
    pub(crate) fn is_empty(&self) -> bool {
        self.items.load(Ordering::Acquire) == 0 && !self.has_dependencies()
    }

    /// Inserts a restored entry (valid key, `parts` its separators) at the tail of its shard's
    /// queue, if it and its dependency edges fit within the budget, the key
    /// limit, `maxValueBytes` and its service's cap. Nothing is evicted to make room: a load
    /// offers entries hottest first, so what does not fit is colder than what is stored.
    pub(crate) fn restore_entry(&self, key: &[u8], parts: KeyParts, value: &[u8], deadline: Option<u64>, version: Option<u64>, deps: &[&[u8]]) -> Restored {
        if value.len() as u64 > self.max_value_bytes {
            return Restored::DoesNotFit;
        }
        let cap = self.caps.iter().position(|c| *c.name == *parts.svc(key));
        // The group's charge is counted as if this created it: an upper bound, so the
        // check can never let the store over its budget.
        let entry = entry_charge(key.len() + value.len(), deadline.is_some(), version.is_some(), cap.is_some()) + GROUP_OVERHEAD_BYTES + parts.table_end as u64;
        let edges: u64 = deps.iter().filter(|d| **d != key).map(|d| edge_charge(d, key)).sum();
        if self.charged.load(Ordering::Acquire) + entry + edges > self.max_bytes || self.items.load(Ordering::Acquire) + 1 > self.max_keys {
            return Restored::OverBudget;
        }
        if let Some(cap) = cap.map(|i| &self.caps[i]) {
            if cap.used.load(Ordering::Acquire) + entry > cap.cap {
                return Restored::DoesNotFit;
            }
        }
        let (home, hash) = self.locate(key);
        {
            let mut shard = lock(&self.shards[home]);
            if shard.find(hash, key).is_some() {
                return Restored::Duplicate;
            }
            let (_, charge) = shard.insert_at_tail(hash, key, parts, value, deadline, version);
            self.charged.fetch_add(charge, Ordering::AcqRel);
            self.items.fetch_add(1, Ordering::AcqRel);
        }
        if !deps.is_empty() {
            self.record_dependencies(key, deps);
        }
        Restored::Inserted
    }

    /// A load left out an entry (expired, or over the budget): what was restored depending
    /// on it goes, as it would have when the entry expired or was evicted.
    pub(crate) fn restore_skipped(&self, key: &[u8]) {
        if self.has_dependencies() {
            self.queue_cascade(key);
            self.settle();
        }
    }
}
