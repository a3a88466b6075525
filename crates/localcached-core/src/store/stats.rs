//! The store's statistics: cumulative counters summed over the shards, and the per-service
//! view. The binary form is `crate::stats`'s.

use super::{lock, QueueView, Store};
use crate::stats::{ServiceStats, Stats};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

impl Store {
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

    /// Per-service bytes, items, hits and misses, by name.
    pub fn service_stats(&self) -> Vec<ServiceStats> {
        let mut by_name: BTreeMap<Vec<u8>, ServiceStats> = BTreeMap::new();
        for shard in self.shards.iter() {
            let shard = lock(shard);
            for counters in shard.groups.services() {
                let s = by_name.entry(counters.name.to_vec()).or_insert_with(|| ServiceStats { name: counters.name.to_vec(), ..Default::default() });
                s.hits += counters.hits;
                s.misses += counters.misses;
            }
            for (_, group) in shard.groups.live() {
                let name = group.svc().to_vec();
                let s = by_name.entry(name.clone()).or_insert_with(|| ServiceStats { name, ..Default::default() });
                s.bytes += group.bytes;
                s.items += group.len as u64;
            }
        }
        // Every capped service is listed, so its limit shows even while it holds nothing.
        for cap in self.caps.iter() {
            by_name.entry(cap.name.to_vec()).or_insert_with(|| ServiceStats { name: cap.name.to_vec(), ..Default::default() });
        }
        for s in by_name.values_mut() {
            s.cap = self.service_cap(&s.name).unwrap_or(0);
        }
        by_name.into_values().collect()
    }

    /// One shard's SIEVE queue, head (newest) to tail (oldest), each key with its visited
    /// bit, and the key under the hand (tests and diagnostics).
    pub fn shard_queue(&self, shard: usize) -> QueueView {
        lock(&self.shards[shard]).queue_keys()
    }

    /// One shard's keys in queue order, newest first (tests and diagnostics).
    pub fn shard_keys(&self, shard: usize) -> Vec<Vec<u8>> {
        self.shard_queue(shard).0.into_iter().map(|(key, _)| key).collect()
    }
}
