//! The dependency graph as the store uses it: edges are charged to the byte budget like
//! entries, and a key that is removed or rewritten queues its dependents, which `settle`
//! removes at the end of the public operation, outside any shard lock.
//!
//! Which edges a write records, keeps or drops is decided in one place, `Store::write`
//! (see `write.rs`); removals drop a key's own edges in `remove_slot`.

use super::{lock, Store};
use crate::cause::RemovalCause;
use crate::constants::MAX_DEPENDENCIES;
use crate::error::StoreError;
use std::sync::atomic::Ordering;

impl Store {
    /// BadArgument or InvalidKey unless `deps` is a list a key may depend on.
    pub(super) fn check_dependencies(deps: &[&[u8]]) -> Result<(), StoreError> {
        if deps.len() > MAX_DEPENDENCIES {
            return Err(StoreError::BadArgument(format!("dependsOn may name at most {MAX_DEPENDENCIES} keys")));
        }
        for dep in deps {
            Self::check_key(dep)?;
        }
        Ok(())
    }

    /// Whether any edge exists: stores that never use dependencies never take the graph lock.
    #[inline]
    pub(super) fn has_dependencies(&self) -> bool {
        self.dep_edges.load(Ordering::Acquire) > 0
    }

    /// Drops what `key` depends on, releasing the edges' charge.
    pub(super) fn forget_dependencies(&self, key: &[u8]) {
        let mut deps = lock(&self.deps);
        let released = deps.forget(key);
        if released > 0 {
            self.charged.fetch_sub(released, Ordering::AcqRel);
            self.dep_edges.store(deps.edges(), Ordering::Release);
        }
    }

    /// Records what `key` (just stored) depends on, replacing what it depended on, and
    /// charges the edges.
    pub(super) fn record_dependencies(&self, key: &[u8], deps: &[&[u8]]) {
        let mut graph = lock(&self.deps);
        let delta = graph.set(key, deps);
        if delta >= 0 {
            self.charged.fetch_add(delta as u64, Ordering::AcqRel);
        } else {
            self.charged.fetch_sub(delta.unsigned_abs(), Ordering::AcqRel);
        }
        self.dep_edges.store(graph.edges(), Ordering::Release);
    }

    /// Queues `key`'s dependents for removal by the next `settle`.
    pub(super) fn queue_cascade(&self, key: &[u8]) {
        lock(&self.cascade).push(key.into());
        self.cascade_pending.store(true, Ordering::Release);
    }

    /// Removes the dependents of every key removed or rewritten so far, transitively. Runs
    /// at the end of each public operation, holding no shard lock (it takes them one at a
    /// time), so the cascade can reach any shard. Cycles end because a removed key is gone.
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
}
