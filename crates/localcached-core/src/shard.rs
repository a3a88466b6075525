//! One shard: a slab of entries (`shard/entry.rs`), a hash index into it, an intrusive SIEVE
//! queue through it (`shard/queue.rs`), per-table lists through it (`shard/group_list.rs`),
//! per-capped-service recency lists through it (`shard/cap_list.rs`) and an expiry heap
//! over it. Everything here runs under the shard's mutex, so nothing here is
//! concurrent; the store decides what to do, the shard keeps its structures true (checked
//! by `shard/validate.rs`).

mod cap_list;
mod entry;
mod group_list;
mod queue;
mod validate;
pub use entry::{entry_charge, entry_data};
pub use queue::QueueView;

use crate::expiry::{ExpiryHeap, NOT_SCHEDULED};
use crate::groups::Groups;
use crate::hash::hash_key;
use crate::index::HashIndex;
use crate::key::KeyParts;
use cap_list::CapList;
use entry::Entry;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// "No slot": the end of a list, in the `u32` links entries use instead of `Option`s.
pub const NIL: u32 = u32::MAX;

/// Per-shard counters, kept under the shard lock so counting costs no atomics.
#[derive(Default, Clone, Copy)]
pub struct ShardCounters {
    pub get_calls: u64,
    pub get_hits: u64,
    pub get_misses: u64,
    pub put_calls: u64,
    pub del_calls: u64,
    pub evictions: u64,
    pub expired_removals: u64,
    /// New keys stored (a replace is not an insertion).
    pub insertions: u64,
    pub version_conflicts: u64,
}

/// A service's byte cap, shared by all shards: `used` is what its entries are charged.
pub struct ServiceCap {
    pub name: Box<[u8]>,
    pub cap: u64,
    pub used: AtomicU64,
}

pub struct Shard {
    /// The store's hash seed, to recompute a key's hash when it is removed.
    seed: u64,
    caps: Arc<[ServiceCap]>,
    /// Per cap (same index as `caps`), its service's recency list in this shard.
    cap_lists: Box<[CapList]>,
    entries: Vec<Entry>,
    free_head: Option<u32>,
    index: HashIndex,
    /// The SIEVE queue's newest entry.
    head: Option<u32>,
    /// The SIEVE queue's oldest entry.
    tail: Option<u32>,
    /// The SIEVE hand: where the next victim search starts (`None`: at the tail).
    hand: Option<u32>,
    expiry: ExpiryHeap,
    len: usize,
    /// Charged bytes: entries plus the groups that have entries.
    bytes: u64,
    pub groups: Groups,
    pub counters: ShardCounters,
}

/// An entry that left the shard, and what it was charged.
pub struct Removed {
    entry: Entry,
    pub charge: u64,
}

impl Removed {
    pub fn key(&self) -> &[u8] {
        self.entry.key()
    }
}

impl Shard {
    pub fn new(seed: u64, caps: Arc<[ServiceCap]>) -> Shard {
        Shard {
            seed,
            cap_lists: vec![CapList::EMPTY; caps.len()].into(),
            caps,
            entries: Vec::new(),
            free_head: None,
            index: HashIndex::default(),
            head: None,
            tail: None,
            hand: None,
            expiry: ExpiryHeap::default(),
            len: 0,
            bytes: 0,
            groups: Groups::default(),
            counters: ShardCounters::default(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    #[inline]
    pub fn find(&self, hash: u32, key: &[u8]) -> Option<u32> {
        let entries = &self.entries;
        self.index.find(hash, |slot| entries[slot as usize].key() == key)
    }

    #[inline]
    pub fn value(&self, slot: u32) -> &[u8] {
        self.entries[slot as usize].value()
    }

    pub fn version(&self, slot: u32) -> Option<u64> {
        self.entries[slot as usize].version()
    }

    /// The live entry in slab slot `slot`, if any (scans walk the slab in slot order).
    pub fn live_key_at(&self, slot: usize) -> Option<(u32, &[u8])> {
        let entry = self.entries.get(slot)?;
        (!entry.is_free()).then(|| (slot as u32, entry.key()))
    }

    pub fn slab_len(&self) -> usize {
        self.entries.len()
    }

    /// The entry's deadline, if it has a TTL.
    #[inline]
    pub fn deadline(&self, slot: u32) -> Option<u64> {
        let pos = self.entries[slot as usize].heap_pos;
        (pos != NOT_SCHEDULED).then(|| self.expiry.get(pos).at_ms)
    }

    /// The slot whose deadline is earliest, if it is at or before `now_ms`.
    pub fn next_expired(&self, now_ms: u64) -> Option<u32> {
        self.expiry.peek().filter(|d| d.at_ms <= now_ms).map(|d| d.slot)
    }

    /// Stores a new entry (the key must not be present); returns its slot and what was
    /// charged (the entry, plus its table's group if this created it).
    pub fn insert(&mut self, hash: u32, key: &[u8], parts: KeyParts, value: &[u8], deadline: Option<u64>, version: Option<u64>) -> (u32, u64) {
        let svc = &key[..parts.svc_end];
        let cap = self.caps.iter().position(|c| *c.name == *svc).map(|i| i as u32);
        let (group, created) = self.groups.find_or_create(&key[..parts.table_end], parts.svc_end, NIL, cap);
        let group_charge = if created { self.groups.get(group).charge() } else { 0 };
        // The one allocation of a new entry: key and value side by side, sized exactly.
        let svc_links = cap.map(|_| [NIL, NIL]);
        let entry = Entry::new(entry_data(key, value, version, svc_links), group);
        let slot = match self.free_head {
            Some(slot) => {
                self.free_head = opt(self.entries[slot as usize].next);
                self.entries[slot as usize] = entry;
                slot
            }
            None => {
                if self.entries.len() == self.entries.capacity() {
                    // Grow by an eighth, not double: the slab's spare capacity is part of
                    // every entry's real cost, and this keeps it near 6% on average (about
                    // 2.5 of an entry's 40 slot bytes). Growth stays amortised O(1): the
                    // copies add up to about eight times the final slab, fewer where the
                    // allocator remaps a large block instead of copying it.
                    self.entries.reserve_exact((self.entries.len() / 8).max(16));
                }
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        self.index.insert(hash, slot);
        self.link_front(slot);
        if let Some(cap) = cap {
            self.cap_link_front(cap, slot);
        }
        if let Some(at_ms) = deadline {
            self.schedule(slot, at_ms);
        }
        self.len += 1;
        let charge = self.entries[slot as usize].charge();
        self.group_link(group, slot, charge);
        self.bytes += charge + group_charge;
        self.charge_cap(group, (charge + group_charge) as i64);
        (slot, charge + group_charge)
    }

    /// Stores a new entry (the key must not be present) at the tail of the shard's queue and
    /// of its service's list: a snapshot load inserts a shard's entries in the order it saved
    /// them (queue head first), so each goes behind the ones before it. Returns what `insert`
    /// returns.
    pub fn insert_at_tail(&mut self, hash: u32, key: &[u8], parts: KeyParts, value: &[u8], deadline: Option<u64>, version: Option<u64>) -> (u32, u64) {
        let (slot, charge) = self.insert(hash, key, parts, value, deadline, version);
        self.unlink(slot);
        self.link_back(slot);
        if let Some(cap) = self.cap_of(slot) {
            self.cap_unlink(cap, slot);
            self.cap_link_back(cap, slot);
        }
        (slot, charge)
    }

    /// The live entry in `slot` as a snapshot saves it: key, value, version and deadline;
    /// `None` if the slot is past the slab or free (its entry left since the order was
    /// copied). A slot reused by another key since is returned as that key's entry.
    pub fn snapshot_entry(&self, slot: u32) -> Option<(&[u8], &[u8], Option<u64>, Option<u64>)> {
        let entry = self.entries.get(slot as usize)?;
        if entry.is_free() {
            return None;
        }
        Some((entry.key(), entry.value(), entry.version(), self.deadline(slot)))
    }

    pub fn key_at(&self, slot: u32) -> &[u8] {
        self.entries[slot as usize].key()
    }

    /// Counts a hit for the entry's service.
    #[inline]
    pub fn record_hit(&mut self, slot: u32) {
        let service = self.groups.get(self.entries[slot as usize].group()).service;
        self.groups.service_mut(service).hits += 1;
    }

    /// Counts a miss for the key's service (only misses pay for the name lookup).
    pub fn record_miss(&mut self, key: &[u8]) {
        let svc_len = key.iter().position(|&b| b == b':').unwrap_or(key.len());
        let service = self.groups.service_id(&key[..svc_len]);
        self.groups.service_mut(service).misses += 1;
    }

    /// Stores a new value, deadline and version for an existing entry and counts it as an
    /// access (`touch`: visited, its queue position kept). A value of the same length (and
    /// the same versioning) is copied over the old one: overwrites allocate nothing. Returns
    /// (old charge, new charge).
    pub fn replace(&mut self, slot: u32, value: &[u8], deadline: Option<u64>, version: Option<u64>) -> (u64, u64) {
        let old_charge = self.entries[slot as usize].charge();
        let entry = &mut self.entries[slot as usize];
        let value_at = entry.value_start();
        if entry.data.len() - value_at == value.len() && entry.version().is_some() == version.is_some() {
            entry.data[value_at..].copy_from_slice(value);
            if let Some(v) = version {
                entry.data[2..10].copy_from_slice(&v.to_le_bytes());
            }
        } else {
            // The service links move with the entry; `touch` below brings it to the front of
            // its service list.
            let svc_links = entry.is_capped().then(|| entry.svc_links());
            let data = entry_data(entry.key(), value, version, svc_links);
            entry.data = data;
        }
        let pos = self.entries[slot as usize].heap_pos;
        match (pos != NOT_SCHEDULED, deadline) {
            (true, Some(at_ms)) => {
                let entries = &mut self.entries;
                self.expiry.update(pos, at_ms, &mut |s, p| entries[s as usize].heap_pos = p);
            }
            (true, None) => self.unschedule(slot),
            (false, Some(at_ms)) => self.schedule(slot, at_ms),
            (false, None) => {}
        }
        self.touch(slot);
        let new_charge = self.entries[slot as usize].charge();
        self.bytes = self.bytes - old_charge + new_charge;
        let group_id = self.entries[slot as usize].group();
        let group = self.groups.get_mut(group_id);
        group.bytes = group.bytes - old_charge + new_charge;
        self.charge_cap(group_id, new_charge as i64 - old_charge as i64);
        (old_charge, new_charge)
    }

    /// Takes an entry out of every structure and frees its slot. The charge released
    /// includes its group's, if it was the group's last entry.
    pub fn remove(&mut self, slot: u32) -> Removed {
        let (hash, charge) = {
            let entry = &self.entries[slot as usize];
            (hash_key(self.seed, entry.key()) as u32, entry.charge())
        };
        self.index.remove(hash, slot);
        self.unlink(slot);
        self.unschedule(slot);
        let group_id = self.entries[slot as usize].group();
        self.charge_cap(group_id, -(charge as i64));
        let cap = self.groups.get(group_id).cap;
        if let Some(cap) = cap {
            self.cap_unlink(cap, slot);
        }
        let group_charge = self.group_unlink(slot, charge);
        if let Some(cap) = cap {
            self.caps[cap as usize].used.fetch_sub(group_charge, Ordering::AcqRel);
        }
        let next_free = self.free_head.unwrap_or(NIL);
        let entry = std::mem::replace(&mut self.entries[slot as usize], Entry::free(next_free));
        self.free_head = Some(slot);
        self.len -= 1;
        self.bytes -= charge + group_charge;
        Removed { entry, charge: charge + group_charge }
    }

    /// Drops every entry and gives the memory back; returns the bytes that were charged.
    /// Counters (and per-service counters) are cumulative and stay.
    pub fn clear(&mut self) -> u64 {
        let freed = self.bytes;
        let counters = self.counters;
        for (_, group) in self.groups.live() {
            if let Some(cap) = group.cap {
                self.caps[cap as usize].used.fetch_sub(group.bytes + group.charge(), Ordering::AcqRel);
            }
        }
        let mut groups = std::mem::take(&mut self.groups);
        groups.clear_groups();
        *self = Shard::new(self.seed, Arc::clone(&self.caps));
        self.counters = counters;
        self.groups = groups;
        freed
    }

    fn schedule(&mut self, slot: u32, at_ms: u64) {
        let entries = &mut self.entries;
        self.expiry.push(at_ms, slot, &mut |s, p| entries[s as usize].heap_pos = p);
    }

    fn unschedule(&mut self, slot: u32) {
        let pos = self.entries[slot as usize].heap_pos;
        if pos != NOT_SCHEDULED {
            let entries = &mut self.entries;
            self.expiry.remove(pos, &mut |s, p| entries[s as usize].heap_pos = p);
            self.entries[slot as usize].heap_pos = NOT_SCHEDULED;
        }
    }
}

#[inline]
fn opt(slot: u32) -> Option<u32> {
    (slot != NIL).then_some(slot)
}
