//! The dependency graph: `set(key, value, dependsOn)` records that `key` was derived from
//! other keys; when one of those is invalidated, deleted, replaced, evicted or expires, its
//! dependents are removed too, transitively (a visited set makes cycles harmless).
//!
//! Tags are dependencies on pseudo-keys: depend on `tags:product:42` and invalidate that key
//! (it need never be stored) to drop everything tagged with it.
//!
//! Edges cost memory, charged to the store's budget: each edge is held twice (once per
//! direction) with both keys copied.

use std::collections::{HashMap, HashSet};

/// What one edge is charged beyond its two keys' bytes (held twice): two boxed keys in two
/// vectors and their share of two map entries. Estimated from the structures, not measured.
pub const EDGE_OVERHEAD_BYTES: u64 = 96;

#[derive(Default)]
pub struct DepGraph {
    /// dependency → keys derived from it.
    dependents: HashMap<Box<[u8]>, Vec<Box<[u8]>>>,
    /// key → what it depends on.
    depends_on: HashMap<Box<[u8]>, Vec<Box<[u8]>>>,
    edges: u64,
    bytes: u64,
}

pub(crate) fn edge_charge(dep: &[u8], key: &[u8]) -> u64 {
    2 * (dep.len() + key.len()) as u64 + EDGE_OVERHEAD_BYTES
}

impl DepGraph {
    pub fn edges(&self) -> u64 {
        self.edges
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What `key` depends on (a snapshot saves it with the entry).
    pub fn depends_on(&self, key: &[u8]) -> &[Box<[u8]>] {
        self.depends_on.get(key).map_or(&[], |deps| deps.as_slice())
    }

    /// Replaces `key`'s dependencies; returns the change in charged bytes (may be negative).
    pub fn set(&mut self, key: &[u8], deps: &[&[u8]]) -> i64 {
        let before = self.bytes as i64;
        self.forget(key);
        if !deps.is_empty() {
            let mut unique: Vec<&[u8]> = deps.to_vec();
            unique.sort_unstable();
            unique.dedup();
            unique.retain(|d| *d != key);
            for dep in &unique {
                self.dependents.entry((*dep).into()).or_default().push(key.into());
                self.edges += 1;
                self.bytes += edge_charge(dep, key);
            }
            if !unique.is_empty() {
                self.depends_on.insert(key.into(), unique.iter().map(|d| (*d).into()).collect());
            }
        }
        self.bytes as i64 - before
    }

    /// Drops `key`'s own edges (it no longer depends on anything); returns bytes released.
    pub fn forget(&mut self, key: &[u8]) -> u64 {
        let Some(deps) = self.depends_on.remove(key) else { return 0 };
        let mut released = 0;
        for dep in deps.iter() {
            if let Some(list) = self.dependents.get_mut(dep) {
                if let Some(i) = list.iter().position(|k| &**k == key) {
                    list.swap_remove(i);
                    self.edges -= 1;
                    released += edge_charge(dep, key);
                }
                if list.is_empty() {
                    self.dependents.remove(dep);
                }
            }
        }
        self.bytes -= released;
        released
    }

    /// Takes the keys that depend on `key` (their edges from `key` go with them).
    pub fn take_dependents(&mut self, key: &[u8]) -> Vec<Box<[u8]>> {
        let list = self.dependents.remove(key).unwrap_or_default();
        for dependent in &list {
            // Their edge to `key` is gone; their other edges stay until they are removed.
            if let Some(deps) = self.depends_on.get_mut(dependent) {
                deps.retain(|d| &**d != key);
                if deps.is_empty() {
                    self.depends_on.remove(dependent);
                }
            }
            self.edges -= 1;
            self.bytes -= edge_charge(key, dependent);
        }
        list
    }

    pub fn validate(&self) -> Result<(), String> {
        let forward: u64 = self.dependents.values().map(|v| v.len() as u64).sum();
        let backward: u64 = self.depends_on.values().map(|v| v.len() as u64).sum();
        if forward != self.edges || backward != self.edges {
            return Err(format!("dependency graph: {forward} forward, {backward} backward, {} counted", self.edges));
        }
        let mut bytes = 0;
        for (dep, list) in &self.dependents {
            let mut seen = HashSet::new();
            for key in list {
                if !seen.insert(key) {
                    return Err("duplicate dependency edge".into());
                }
                if !self.depends_on.get(key).is_some_and(|d| d.iter().any(|x| x == dep)) {
                    return Err("dependency edge without its reverse".into());
                }
                bytes += edge_charge(dep, key);
            }
        }
        if bytes != self.bytes {
            return Err(format!("dependency graph charges {} bytes, edges add up to {bytes}", self.bytes));
        }
        Ok(())
    }
}
