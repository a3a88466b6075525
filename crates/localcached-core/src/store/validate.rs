//! The store's invariants, recomputed from scratch: every shard's own (see
//! `shard/validate.rs`), the global entry and byte totals, each service cap's usage, and
//! the dependency graph. Public, not `#[cfg(test)]`: the integration tests under `tests/`
//! are separate crates and call it.

use super::{lock, Store};
use std::sync::atomic::Ordering;

impl Store {
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
