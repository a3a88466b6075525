//! Removals: one entry (`remove_slot`, which every removal goes through), deletes,
//! invalidation of one key, expiry sweeps and `clear`.

use super::{lock, Store};
use crate::cause::RemovalCause;
use crate::deps::DepGraph;
use crate::error::StoreError;
use crate::shard::Shard;
use std::sync::atomic::Ordering;

impl Store {
    /// Takes one entry out of its shard: releases its charge, counts an eviction or expiry,
    /// drops its own dependency edges and queues its dependents, and reports the removal.
    pub(super) fn remove_slot(&self, shard: &mut Shard, slot: u32, cause: RemovalCause) {
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
        self.report(removed.key(), cause);
    }

    /// Deletes a key; returns whether a live entry existed.
    pub fn delete(&self, key: &[u8]) -> Result<bool, StoreError> {
        let existed = self.remove_key(key, true);
        self.settle();
        existed
    }

    /// Deletes every key; returns how many existed, and which.
    pub fn mdel(&self, keys: &[&[u8]]) -> Result<(u32, Vec<bool>), StoreError> {
        for key in keys {
            Self::check_key(key)?;
        }
        let mut existed = Vec::with_capacity(keys.len());
        for key in keys {
            existed.push(self.delete(key)?);
        }
        Ok((existed.iter().filter(|&&e| e).count() as u32, existed))
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
}
