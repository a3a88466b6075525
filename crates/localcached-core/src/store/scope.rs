//! Scoped invalidation (a table, a service, a key prefix) through each shard's table index.
//! Work is proportional to the tables and entries that match, never to the size of the store.

use super::{lock, Store};
use crate::cause::RemovalCause;
use crate::constants::MAX_KEY_BYTES;
use crate::error::StoreError;
use crate::groups::Group;
use crate::key::{is_segment_byte, KeyProblem};
use crate::shard::Shard;
use std::sync::atomic::Ordering;

/// What a scoped invalidation takes from one table.
enum Selection<'p> {
    Skip,
    All,
    KeysWithPrefix(&'p [u8]),
}

fn check_segment(what: &str, bytes: &[u8]) -> Result<(), StoreError> {
    if bytes.is_empty() {
        return Err(StoreError::invalid_key(bytes, KeyProblem::Empty));
    }
    if let Some(offset) = bytes.iter().position(|&b| !is_segment_byte(b)) {
        return Err(StoreError::BadArgument(format!(
            "{what} may hold only [A-Za-z0-9._-]; byte {offset} of \"{}\" is not allowed",
            String::from_utf8_lossy(bytes).escape_debug()
        )));
    }
    Ok(())
}

impl Store {
    /// Removes every entry of `svc:table`; returns how many (their dependents go too, and
    /// are counted in `dependencyRemovals`, not here).
    pub fn invalidate_table(&self, svc: &[u8], table: &[u8]) -> Result<u64, StoreError> {
        check_segment("svc", svc)?;
        check_segment("table", table)?;
        let name = [svc, b":", table].concat();
        Ok(self.remove_selected(|g| if *g.name == *name { Selection::All } else { Selection::Skip }))
    }

    /// Removes every entry of `svc`; returns how many (not counting their dependents).
    pub fn invalidate_service(&self, svc: &[u8]) -> Result<u64, StoreError> {
        check_segment("svc", svc)?;
        Ok(self.remove_selected(|g| if g.svc() == svc { Selection::All } else { Selection::Skip }))
    }

    /// Removes every entry whose key starts with `prefix`; returns how many (not counting
    /// their dependents). A prefix that ends within `svc:table:` takes whole tables; a longer
    /// one walks the one table it names and compares keys.
    pub fn invalidate_prefix(&self, prefix: &[u8]) -> Result<u64, StoreError> {
        if prefix.is_empty() || prefix.len() > MAX_KEY_BYTES {
            return Err(StoreError::BadArgument(format!("prefix must be 1 to {MAX_KEY_BYTES} bytes (use clear() to remove everything)")));
        }
        if let Some(offset) = prefix.iter().position(|&b| b != b':' && !is_segment_byte(b)) {
            return Err(StoreError::BadArgument(format!("prefix may hold only [A-Za-z0-9._-] and ':'; byte {offset} is not allowed")));
        }
        Ok(self.remove_selected(|g| {
            let mut name = g.name.to_vec();
            name.push(b':');
            if name.starts_with(prefix) {
                Selection::All
            } else if prefix.starts_with(&name) {
                Selection::KeysWithPrefix(prefix)
            } else {
                Selection::Skip
            }
        }))
    }

    fn remove_selected<'p>(&self, select: impl Fn(&Group) -> Selection<'p>) -> u64 {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let chosen: Vec<(u32, Selection<'p>)> = shard
                .groups
                .live()
                .map(|(id, g)| (id, select(g)))
                .filter(|(_, s)| !matches!(s, Selection::Skip))
                .collect();
            for (id, selection) in chosen {
                removed += self.remove_group_entries(&mut shard, id, selection);
            }
        }
        self.invalidations.fetch_add(removed, Ordering::Relaxed);
        self.settle();
        removed
    }

    fn remove_group_entries(&self, shard: &mut Shard, id: u32, selection: Selection<'_>) -> u64 {
        let mut removed = 0;
        for slot in shard.group_slots(id) {
            if let Selection::KeysWithPrefix(prefix) = selection {
                if !shard.key_at(slot).starts_with(prefix) {
                    continue;
                }
            }
            self.remove_slot(shard, slot, RemovalCause::Deleted);
            removed += 1;
        }
        removed
    }
}
