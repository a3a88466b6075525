//! Eviction: where the entries removed to make room come from. Three limits evict: the
//! global byte budget (`maxBytes`, which dependency edges count against too) and the entry
//! limit (`maxKeys`) take each shard's SIEVE victim (`shard/queue.rs`), and per-service byte
//! caps take the service's least recently used entries (a service over its cap gives up
//! only its own entries).
//!
//! The budget and the key limit: a write evicts first from its own shard, whose hand passes
//! over the entry just written, then from the others (`evict_elsewhere`). Each shard's hand
//! evicts the first entry not read or overwritten since the hand last passed it, walking
//! from its oldest entries toward its newest; an entry read again is kept for one more pass.
//!
//! The order a service cap evicts in, exactly: only a write of the capped service evicts for
//! its cap (`evict_in_shard`, then `evict_service_elsewhere`). First the written key's own
//! shard gives the service's least recently used entries there, across all its tables and
//! never the entry just written, until the service is within its cap or has nothing else in
//! that shard. Then the other shards are taken one at a time, in shard index order starting
//! after the written key's shard and wrapping around (home+1, home+2, …, home-1), each giving
//! its own exact service LRU entries until the service is within its cap. So the order is
//! exact LRU within each shard's service list (kept apart from the shard's SIEVE queue,
//! `shard/cap_list.rs`), and across shards an approximation: a key's shard is chosen by a
//! seeded hash, so each shard's service LRU tail is among the service's oldest entries, but
//! an entry of the writing shard can go before an older one elsewhere.
//! "Used" means stored (any write that stores, including a TTL-only `expire`) or read by a
//! hit (`get`, `get_with_meta`); `has`, `exists` and scans do not count. The same accesses
//! set an entry's SIEVE visited bit.

use super::{lock, Store};
use crate::cause::RemovalCause;
use crate::shard::Shard;
use std::sync::atomic::Ordering;

impl Store {
    /// Over the byte budget or the key limit: the SIEVE eviction loops run while true.
    #[inline]
    pub(super) fn over_budget(&self) -> bool {
        self.charged.load(Ordering::Acquire) > self.max_bytes || self.items.load(Ordering::Acquire) > self.max_keys
    }

    fn over_cap(&self, cap: u32) -> bool {
        let cap = &self.caps[cap as usize];
        cap.used.load(Ordering::Acquire) > cap.cap
    }

    /// Makes room in the shard a write holds, never evicting the entry just written
    /// (`written`): first for the budget and key limit the shard's SIEVE victims, then for
    /// the written entry's service cap. Returns how many entries it evicted, and the cap
    /// (if any) that `evict_after_write` must still look at.
    pub(super) fn evict_in_shard(&self, shard: &mut Shard, written: u32) -> (u32, Option<u32>) {
        let mut evicted = 0;
        while self.over_budget() {
            let Some(victim) = shard.sieve_victim(Some(written)) else { break };
            self.remove_slot(shard, victim, RemovalCause::Evicted);
            evicted += 1;
        }
        let cap = shard.cap_of(written);
        if let Some(cap) = cap {
            while self.over_cap(cap) {
                let Some(victim) = shard.cap_victim(cap, Some(written)) else { break };
                self.remove_slot(shard, victim, RemovalCause::Evicted);
                evicted += 1;
            }
        }
        (evicted, cap)
    }

    /// After the writing shard's lock is released: if its shard could not give enough, takes
    /// what is still needed from the other shards. Returns how many entries it evicted.
    pub(super) fn evict_after_write(&self, home: usize, cap: Option<u32>) -> u32 {
        let mut evicted = 0;
        if self.over_budget() {
            evicted += self.evict_elsewhere(home);
        }
        if let Some(cap) = cap {
            if self.over_cap(cap) {
                evicted += self.evict_service_elsewhere(home, cap);
            }
        }
        evicted
    }

    /// A service still over its cap after its writing shard gave what it could: take its
    /// least recently used entries from the other shards, one lock at a time, in shard index
    /// order from `home + 1` (wrapping), each shard exact LRU (see the module docs).
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
    /// at once, so no lock order can deadlock), until the store is within budget. Returns
    /// how many entries it evicted.
    pub(super) fn evict_elsewhere(&self, home: usize) -> u32 {
        let mut evicted = 0;
        let mask = self.shards.len() - 1;
        for step in 1..=self.shards.len() {
            let mut shard = lock(&self.shards[(home + step) & mask]);
            while self.over_budget() {
                let Some(victim) = shard.sieve_victim(None) else { break };
                self.remove_slot(&mut shard, victim, RemovalCause::Evicted);
                evicted += 1;
            }
            if !self.over_budget() {
                break;
            }
        }
        evicted
    }
}
