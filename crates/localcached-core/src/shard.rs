//! One shard: a slab of entries, a hash index into it, an intrusive LRU list through it
//! and an expiry heap over it. Everything here runs under the shard's mutex, so nothing
//! here is concurrent; the store decides what to do, the shard keeps its structures true.

use crate::constants::{ENTRY_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES, VERSION_OVERHEAD_BYTES};
use crate::expiry::{ExpiryHeap, NOT_SCHEDULED};
use crate::groups::{Groups, NO_GROUP};
use crate::hash::hash_key;
use crate::index::HashIndex;
use crate::key::KeyParts;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub const NIL: u32 = u32::MAX;

/// One cached entry, or a free slot (empty `data`, chained through `next`). 40 bytes.
struct Entry {
    /// `[key_len, flags, version (8 bytes, if flagged), key.., value..]`: one allocation per
    /// entry. Keeping lengths and the optional version in the allocation instead of fields
    /// keeps the slot at 32 bytes, and unversioned entries pay nothing for versions.
    data: Box<[u8]>,
    /// Toward the most recently used end.
    prev: u32,
    /// Toward the least recently used end (or the next free slot).
    next: u32,
    heap_pos: u32,
    /// The entry's table group, and its neighbours in that group's list. (The key's hash is
    /// not stored: removals recompute it, which costs less than 4 bytes on every entry.)
    group: u32,
    gprev: u32,
    gnext: u32,
}

const FLAG_VERSIONED: u8 = 1;

#[inline]
fn header_len(flags: u8) -> usize {
    if flags & FLAG_VERSIONED != 0 { 10 } else { 2 }
}

impl Entry {
    fn free(next: u32) -> Entry {
        Entry { data: Box::default(), prev: NIL, next, heap_pos: NOT_SCHEDULED, group: NO_GROUP, gprev: NIL, gnext: NIL }
    }

    #[inline]
    fn key_start(&self) -> usize {
        header_len(self.data[1])
    }

    #[inline]
    fn key(&self) -> &[u8] {
        let start = self.key_start();
        &self.data[start..start + self.data[0] as usize]
    }

    #[inline]
    fn value_start(&self) -> usize {
        self.key_start() + self.data[0] as usize
    }

    #[inline]
    fn value(&self) -> &[u8] {
        &self.data[self.value_start()..]
    }

    fn version(&self) -> Option<u64> {
        (self.data[1] & FLAG_VERSIONED != 0).then(|| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&self.data[2..10]);
            u64::from_le_bytes(word)
        })
    }

    #[inline]
    fn is_free(&self) -> bool {
        self.data.is_empty()
    }

    fn charge(&self) -> u64 {
        let header = self.key_start();
        entry_charge(self.data.len() - header, self.heap_pos != NOT_SCHEDULED, header > 2)
    }
}

/// Packs a key, value and optional version into one exactly-sized allocation.
pub fn entry_data(key: &[u8], value: &[u8], version: Option<u64>) -> Box<[u8]> {
    let flags = if version.is_some() { FLAG_VERSIONED } else { 0 };
    let mut data = Vec::with_capacity(header_len(flags) + key.len() + value.len());
    data.push(key.len() as u8);
    data.push(flags);
    if let Some(v) = version {
        data.extend_from_slice(&v.to_le_bytes());
    }
    data.extend_from_slice(key);
    data.extend_from_slice(value);
    data.into_boxed_slice()
}

/// What an entry of `payload_len` key+value bytes is charged against the budget.
#[inline]
pub fn entry_charge(payload_len: usize, has_ttl: bool, versioned: bool) -> u64 {
    payload_len as u64
        + ENTRY_OVERHEAD_BYTES
        + if has_ttl { TTL_OVERHEAD_BYTES } else { 0 }
        + if versioned { VERSION_OVERHEAD_BYTES } else { 0 }
}

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
    entries: Vec<Entry>,
    free_head: Option<u32>,
    index: HashIndex,
    /// Most recently used.
    head: Option<u32>,
    /// Least recently used: the next eviction victim.
    tail: Option<u32>,
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
            caps,
            entries: Vec::new(),
            free_head: None,
            index: HashIndex::default(),
            head: None,
            tail: None,
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

    pub fn lru_tail(&self) -> Option<u32> {
        self.tail
    }

    /// The slot whose deadline is earliest, if it is at or before `now_ms`.
    pub fn next_expired(&self, now_ms: u64) -> Option<u32> {
        self.expiry.peek().filter(|d| d.at_ms <= now_ms).map(|d| d.slot)
    }

    /// Marks an entry as most recently used.
    #[inline]
    pub fn touch(&mut self, slot: u32) {
        if self.head != Some(slot) {
            self.unlink(slot);
            self.link_front(slot);
        }
        if self.groups.get(self.entries[slot as usize].group).cap.is_some() {
            self.group_touch(slot);
        }
    }

    /// Stores a new entry (the key must not be present); returns its slot and what was
    /// charged (the entry, plus its table's group if this created it).
    pub fn insert(&mut self, hash: u32, key: &[u8], parts: KeyParts, value: &[u8], deadline: Option<u64>, version: Option<u64>) -> (u32, u64) {
        let svc = &key[..parts.svc_end];
        let cap = self.caps.iter().position(|c| *c.name == *svc).map(|i| i as u32);
        let (group, created) = self.groups.find_or_create(&key[..parts.table_end], parts.svc_end, NIL, cap);
        let group_charge = if created { self.groups.get(group).charge() } else { 0 };
        // The one allocation of a new entry: key and value side by side, sized exactly.
        let entry = Entry { data: entry_data(key, value, version), prev: NIL, next: NIL, heap_pos: NOT_SCHEDULED, group, gprev: NIL, gnext: NIL };
        let slot = match self.free_head {
            Some(slot) => {
                self.free_head = opt(self.entries[slot as usize].next);
                self.entries[slot as usize] = entry;
                slot
            }
            None => {
                if self.entries.len() == self.entries.capacity() {
                    // Grow by a quarter, not double: the slab's spare capacity is part of
                    // every entry's real cost, and this keeps it near 12% on average.
                    self.entries.reserve_exact((self.entries.len() / 4).max(16));
                }
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        self.index.insert(hash, slot);
        self.link_front(slot);
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

    /// Adds (or with a negative delta, releases) bytes to the group's service cap, if any.
    fn charge_cap(&self, group: u32, delta: i64) {
        if let Some(cap) = self.groups.get(group).cap {
            let used = &self.caps[cap as usize].used;
            if delta >= 0 {
                used.fetch_add(delta as u64, Ordering::AcqRel);
            } else {
                used.fetch_sub(delta.unsigned_abs(), Ordering::AcqRel);
            }
        }
    }

    /// The cap index of the entry's service, if it has a cap.
    pub fn cap_of(&self, slot: u32) -> Option<u32> {
        self.groups.get(self.entries[slot as usize].group).cap
    }

    /// The least recently used entry of a capped service in this shard, other than `keep`:
    /// the tail of one of its tables (each kept in recency order).
    pub fn cap_victim(&self, cap: u32, keep: Option<u32>) -> Option<u32> {
        self.groups
            .live()
            .filter(|(_, g)| g.cap == Some(cap))
            .filter_map(|(_, g)| {
                let tail = g.tail;
                if Some(tail) != keep { opt(tail) } else { opt(self.entries[tail as usize].gprev) }
            })
            .next()
    }

    /// Moves an entry to the front of its group's list (capped services keep recency order).
    fn group_touch(&mut self, slot: u32) {
        let id = self.entries[slot as usize].group;
        if self.groups.get(id).head == slot {
            return;
        }
        let charge = self.entries[slot as usize].charge();
        let freed = self.group_unlink(slot, charge);
        debug_assert_eq!(freed, 0, "a group with another head is not empty");
        self.group_link(id, slot, charge);
    }

    fn group_link(&mut self, id: u32, slot: u32, charge: u64) {
        let old_head = self.groups.get(id).head;
        {
            let entry = &mut self.entries[slot as usize];
            entry.gprev = NIL;
            entry.gnext = old_head;
        }
        if old_head != NIL {
            self.entries[old_head as usize].gprev = slot;
        }
        let group = self.groups.get_mut(id);
        if old_head == NIL {
            group.tail = slot;
        }
        group.head = slot;
        group.len += 1;
        group.bytes += charge;
    }

    /// Unlinks an entry from its group; returns the group's own charge if it became empty.
    fn group_unlink(&mut self, slot: u32, charge: u64) -> u64 {
        let (id, prev, next) = {
            let e = &self.entries[slot as usize];
            (e.group, e.gprev, e.gnext)
        };
        if prev != NIL {
            self.entries[prev as usize].gnext = next;
        }
        if next != NIL {
            self.entries[next as usize].gprev = prev;
        }
        let group = self.groups.get_mut(id);
        if prev == NIL {
            group.head = next;
        }
        if next == NIL {
            group.tail = prev;
        }
        group.len -= 1;
        group.bytes -= charge;
        if group.len == 0 {
            self.groups.release(id)
        } else {
            0
        }
    }

    pub fn key_at(&self, slot: u32) -> &[u8] {
        self.entries[slot as usize].key()
    }

    /// The slots of one table's entries, newest first.
    pub fn group_slots(&self, id: u32) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.groups.get(id).len as usize);
        let mut at = self.groups.get(id).head;
        while at != NIL {
            out.push(at);
            at = self.entries[at as usize].gnext;
        }
        out
    }

    /// Counts a hit for the entry's service.
    #[inline]
    pub fn record_hit(&mut self, slot: u32) {
        let service = self.groups.get(self.entries[slot as usize].group).service;
        self.groups.service_mut(service).hits += 1;
    }

    /// Counts a miss for the key's service (only misses pay for the name lookup).
    pub fn record_miss(&mut self, key: &[u8]) {
        let svc_len = key.iter().position(|&b| b == b':').unwrap_or(key.len());
        let service = self.groups.service_id(&key[..svc_len]);
        self.groups.service_mut(service).misses += 1;
    }

    /// Stores a new value, deadline and version for an existing entry and marks it most
    /// recently used. A value of the same length (and the same versioning) is copied over the
    /// old one: overwrites allocate nothing. Returns (old charge, new charge).
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
            let data = entry_data(entry.key(), value, version);
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
        let group_id = self.entries[slot as usize].group;
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
        let group_id = self.entries[slot as usize].group;
        self.charge_cap(group_id, -(charge as i64));
        let cap = self.groups.get(group_id).cap;
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

    fn link_front(&mut self, slot: u32) {
        let old_head = self.head;
        {
            let entry = &mut self.entries[slot as usize];
            entry.prev = NIL;
            entry.next = old_head.unwrap_or(NIL);
        }
        match old_head {
            Some(h) => self.entries[h as usize].prev = slot,
            None => self.tail = Some(slot),
        }
        self.head = Some(slot);
    }

    fn unlink(&mut self, slot: u32) {
        let (prev, next) = {
            let entry = &self.entries[slot as usize];
            (opt(entry.prev), opt(entry.next))
        };
        match prev {
            Some(p) => self.entries[p as usize].next = next.unwrap_or(NIL),
            None => self.head = next,
        }
        match next {
            Some(n) => self.entries[n as usize].prev = prev.unwrap_or(NIL),
            None => self.tail = prev,
        }
        let entry = &mut self.entries[slot as usize];
        entry.prev = NIL;
        entry.next = NIL;
    }

    /// Keys from most to least recently used (tests and diagnostics).
    pub fn keys_by_recency(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(self.len);
        let mut at = self.head;
        while let Some(slot) = at {
            out.push(self.entries[slot as usize].key().to_vec());
            at = opt(self.entries[slot as usize].next);
        }
        out
    }

    /// Recomputes every derived fact from scratch and compares: the LRU list is a proper
    /// doubly-linked list over exactly the live entries, the index maps exactly the live
    /// entries, the heap positions agree both ways, and the byte total adds up.
    pub fn validate(&self) -> Result<(), String> {
        let live: Vec<u32> =
            (0..self.entries.len() as u32).filter(|&s| !self.entries[s as usize].is_free()).collect();
        if live.len() != self.len {
            return Err(format!("len {} but {} live slots", self.len, live.len()));
        }
        let group_charges: u64 = self.groups.live().map(|(_, g)| g.charge()).sum();
        let bytes: u64 = live.iter().map(|&s| self.entries[s as usize].charge()).sum::<u64>() + group_charges;
        if bytes != self.bytes {
            return Err(format!("bytes {} but entries add up to {}", self.bytes, bytes));
        }
        // LRU walk forward, checking back links.
        let mut seen = 0usize;
        let mut prev: Option<u32> = None;
        let mut at = self.head;
        while let Some(slot) = at {
            let entry = &self.entries[slot as usize];
            if entry.is_free() {
                return Err(format!("free slot {slot} on the LRU list"));
            }
            if opt(entry.prev) != prev {
                return Err(format!("slot {slot} prev link broken"));
            }
            seen += 1;
            if seen > self.len {
                return Err("LRU list has a cycle".into());
            }
            prev = Some(slot);
            at = opt(entry.next);
        }
        if seen != self.len || self.tail != prev {
            return Err(format!("LRU list has {seen} entries (len {}), tail mismatch {:?} vs {:?}", self.len, self.tail, prev));
        }
        // Index maps exactly the live entries, with the right hashes.
        self.index.validate()?;
        if self.index.len() != self.len {
            return Err(format!("index has {} entries, len {}", self.index.len(), self.len));
        }
        for (hash, slot) in self.index.pairs() {
            let entry = self.entries.get(slot as usize).ok_or("index points past the slab")?;
            if entry.is_free() || hash_key(self.seed, entry.key()) as u32 != hash {
                return Err(format!("index entry for slot {slot} is stale"));
            }
            if self.find(hash, entry.key()) != Some(slot) {
                return Err(format!("slot {slot} not found by its own key"));
            }
        }
        // Heap positions agree both ways.
        self.expiry.validate()?;
        for (pos, deadline) in self.expiry.iter() {
            if self.entries[deadline.slot as usize].heap_pos != pos {
                return Err(format!("heap pos {pos} disagrees with slot {}", deadline.slot));
            }
        }
        let scheduled = live.iter().filter(|&&s| self.entries[s as usize].heap_pos != NOT_SCHEDULED).count();
        if scheduled != self.expiry.len() {
            return Err(format!("{} scheduled entries, heap has {}", scheduled, self.expiry.len()));
        }
        // Every live entry is in the group of its table, and each group's list, length and
        // bytes agree with its entries.
        self.groups.validate_ids()?;
        let mut in_groups = 0usize;
        for (id, group) in self.groups.live() {
            let (mut n, mut bytes, mut prev, mut at) = (0u32, 0u64, NIL, group.head);
            while at != NIL {
                let entry = &self.entries[at as usize];
                if entry.is_free() || entry.group != id || entry.gprev != prev {
                    return Err(format!("group {} list broken at slot {at}", String::from_utf8_lossy(&group.name)));
                }
                if !entry.key().starts_with(&group.name) || entry.key().get(group.name.len()) != Some(&b':') {
                    return Err(format!("slot {at} is not a row of {}", String::from_utf8_lossy(&group.name)));
                }
                n += 1;
                bytes += entry.charge();
                if n > group.len {
                    return Err("group list has a cycle".into());
                }
                prev = at;
                at = entry.gnext;
            }
            if n != group.len || bytes != group.bytes || group.tail != prev || n == 0 {
                return Err(format!("group {} has {n} entries and {bytes} bytes, says {} and {}", String::from_utf8_lossy(&group.name), group.len, group.bytes));
            }
            in_groups += n as usize;
        }
        if in_groups != self.len {
            return Err(format!("{in_groups} entries in groups, {} live", self.len));
        }
        // Free list covers exactly the free slots.
        let mut free = 0usize;
        let mut at = self.free_head;
        while let Some(slot) = at {
            if !self.entries[slot as usize].is_free() {
                return Err(format!("live slot {slot} on the free list"));
            }
            free += 1;
            if free > self.entries.len() {
                return Err("free list has a cycle".into());
            }
            at = opt(self.entries[slot as usize].next);
        }
        if free + self.len != self.entries.len() {
            return Err(format!("free {} + live {} != slab {}", free, self.len, self.entries.len()));
        }
        Ok(())
    }
}

#[inline]
fn opt(slot: u32) -> Option<u32> {
    (slot != NIL).then_some(slot)
}
