//! The reference for eviction: an exact SIEVE over one shard (a queue in insertion order, a
//! visited flag per entry, a hand), with values, deadlines, versions and the byte total, kept
//! the obvious way (a `Vec` searched linearly). `model.rs` replays a seeded sequence against
//! it and a single-shard store and compares the whole SIEVE state after every step.

use localcached_core::constants::{ENTRY_OVERHEAD_BYTES, GROUP_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES, VERSION_OVERHEAD_BYTES};
use localcached_core::store::QueueView;
use localcached_core::RemovalCause;

pub type ModelEntry = (Vec<u8>, Vec<u8>, Option<u64>, Option<u64>); // key, value, deadline, version

/// The obvious SIEVE: one queue in insertion order, a visited flag per entry, a hand; plus
/// a byte total, deadlines and versions.
pub struct Model {
    /// Oldest (the queue's tail) first; each entry with its visited flag.
    pub entries: Vec<(ModelEntry, bool)>,
    /// The key under the hand; `None`: the next search starts at the oldest entry.
    pub hand: Option<Vec<u8>>,
    pub now: u64,
    pub max_bytes: u64,
    /// Evictions, and visited bits the hand cleared (entries spared once): checked at the
    /// end, so a change of the mix cannot quietly stop exercising SIEVE.
    pub evictions: u64,
    pub spared: u64,
}

impl Model {
    pub fn charge(e: &ModelEntry) -> u64 {
        (e.0.len() + e.1.len()) as u64
            + ENTRY_OVERHEAD_BYTES
            + if e.2.is_some() { TTL_OVERHEAD_BYTES } else { 0 }
            + if e.3.is_some() { VERSION_OVERHEAD_BYTES } else { 0 }
    }
    /// Entries, plus each table that has entries (the test keys are all in `svc:tbl`).
    pub fn bytes(&self) -> u64 {
        let tables = if self.entries.is_empty() { 0 } else { GROUP_OVERHEAD_BYTES + 7 };
        self.entries.iter().map(|(e, _)| Model::charge(e)).sum::<u64>() + tables
    }
    pub fn pos(&self, key: &[u8]) -> Option<usize> {
        self.entries.iter().position(|(e, _)| e.0 == key)
    }
    pub fn entry(&self, i: usize) -> &ModelEntry {
        &self.entries[i].0
    }
    pub fn expired(&self, i: usize) -> bool {
        self.entries[i].0 .2.is_some_and(|d| d <= self.now)
    }
    /// Removes the entry at `i`; the hand, if on it, moves to its newer neighbour (none past
    /// the newest).
    pub fn take(&mut self, i: usize) -> ModelEntry {
        if self.hand.as_deref() == Some(&self.entries[i].0 .0[..]) {
            self.hand = self.entries.get(i + 1).map(|(e, _)| e.0.clone());
        }
        self.entries.remove(i).0
    }
    /// Drops the entry if it has expired, returning its removal.
    pub fn expire(&mut self, key: &[u8]) -> Vec<(Vec<u8>, RemovalCause)> {
        match self.pos(key) {
            Some(i) if self.expired(i) => vec![(self.take(i).0, RemovalCause::Expired)],
            _ => vec![],
        }
    }

    /// Returns the removals (key, cause) the store must report.
    pub fn set(&mut self, key: &[u8], value: &[u8], ttl: Option<u64>) -> Vec<(Vec<u8>, RemovalCause)> {
        let deadline = ttl.map(|t| self.now + t);
        // A write first removes (and reports) an expired entry it replaces.
        let mut out = self.expire(key);
        out.extend(self.store_entry((key.to_vec(), value.to_vec(), deadline, None)));
        out
    }

    /// An overwrite keeps the entry's place and marks it visited; a new key goes in newest,
    /// unvisited. Then SIEVE evicts until within budget, the hand passing over the written key.
    pub fn store_entry(&mut self, entry: ModelEntry) -> Vec<(Vec<u8>, RemovalCause)> {
        let written = entry.0.clone();
        match self.pos(&entry.0) {
            Some(i) => self.entries[i] = (entry, true),
            None => self.entries.push((entry, false)),
        }
        let mut out = vec![];
        while self.bytes() > self.max_bytes && self.entries.len() > 1 {
            let mut i = self.hand.as_ref().and_then(|k| self.pos(k)).unwrap_or(0);
            loop {
                if self.entries[i].0 .0 != written {
                    if !self.entries[i].1 {
                        break;
                    }
                    self.entries[i].1 = false;
                    self.spared += 1;
                }
                i = (i + 1) % self.entries.len();
            }
            self.hand = Some(self.entries[i].0 .0.clone());
            let victim = self.take(i);
            self.evictions += 1;
            out.push((victim.0, RemovalCause::Evicted));
        }
        out
    }
    pub fn get(&mut self, key: &[u8]) -> (Option<Vec<u8>>, Vec<(Vec<u8>, RemovalCause)>) {
        match self.pos(key) {
            None => (None, vec![]),
            Some(i) if self.expired(i) => {
                let e = self.take(i);
                (None, vec![(e.0, RemovalCause::Expired)])
            }
            Some(i) => {
                self.entries[i].1 = true;
                (Some(self.entries[i].0 .1.clone()), vec![])
            }
        }
    }
    pub fn remove(&mut self, key: &[u8]) -> (bool, Vec<(Vec<u8>, RemovalCause)>) {
        match self.pos(key) {
            None => (false, vec![]),
            Some(i) if self.expired(i) => {
                let e = self.take(i);
                (false, vec![(e.0, RemovalCause::Expired)])
            }
            Some(i) => {
                self.take(i);
                (true, vec![])
            }
        }
    }
    /// Removes every entry matching `gone` (the hand moving past each as it goes).
    pub fn remove_where(&mut self, gone: impl Fn(&ModelEntry) -> bool) -> Vec<Vec<u8>> {
        let mut out = vec![];
        let mut i = 0;
        while i < self.entries.len() {
            if gone(&self.entries[i].0) {
                out.push(self.take(i).0);
            } else {
                i += 1;
            }
        }
        out
    }
    pub fn sweep(&mut self) -> Vec<(Vec<u8>, RemovalCause)> {
        let now = self.now;
        self.remove_where(|e| e.2.is_some_and(|d| d <= now)).into_iter().map(|k| (k, RemovalCause::Expired)).collect()
    }
    /// The queue newest first with visited flags, and the hand: what `Store::shard_queue`
    /// reports for the store's single shard.
    pub fn queue(&self) -> QueueView {
        (self.entries.iter().rev().map(|(e, v)| (e.0.clone(), *v)).collect(), self.hand.clone())
    }
}
