//! One entry's storage: key, value, optional version and (for a capped service) its links in
//! the service's recency list, packed into one exactly-sized allocation, plus the links that
//! thread it through the shard's structures and its SIEVE visited bit.

use super::NIL;
use crate::constants::{CAPPED_OVERHEAD_BYTES, ENTRY_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES, VERSION_OVERHEAD_BYTES};
use crate::expiry::NOT_SCHEDULED;
use crate::groups::NO_GROUP;

/// One cached entry, or a free slot (empty `data`, chained through `next`). 40 bytes on a
/// 64-bit target (checked below): the slab slot counted in `ENTRY_OVERHEAD_BYTES`.
pub(super) struct Entry {
    /// `[key_len, flags, version (8 bytes, if flagged), service links (8 bytes, if flagged),
    /// key.., value..]`: one allocation per entry. Keeping the lengths and the optional
    /// fields in the allocation instead of in the slot keeps the slot at 40 bytes: unversioned
    /// entries pay nothing for versions, and entries of uncapped services nothing for caps.
    /// The service links (`prev`, `next`: two little-endian u32 slots) thread an entry of a
    /// capped service through its service's recency list in the shard (`shard/cap_list.rs`).
    pub(super) data: Box<[u8]>,
    /// Toward the head (newest) of the shard's SIEVE queue.
    pub(super) prev: u32,
    /// Toward the tail (oldest) of the shard's SIEVE queue (or the next free slot).
    pub(super) next: u32,
    pub(super) heap_pos: u32,
    /// The entry's table group id in the low 31 bits, and its SIEVE visited bit on top
    /// (`VISITED`): keeping the bit in the slot lets the eviction hand read and clear it
    /// without touching the entry's data allocation, at no cost in slot size. Group ids are
    /// indices of live groups, each holding at least one entry, so they stay far below 2^31
    /// (checked by a debug assertion in `Entry::new`). Read through `group()`.
    group_visited: u32,
    /// The entry's neighbours in its table group's list. (The key's hash is not stored:
    /// removals recompute it, which costs less than 4 bytes on every entry.)
    pub(super) gprev: u32,
    pub(super) gnext: u32,
}

// The slot size `ENTRY_OVERHEAD_BYTES` counts on: a boxed slice (16) and six u32 fields (24).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Entry>() == 40);

/// The SIEVE visited bit in `group_visited`: set by a hit or an overwrite, cleared when the
/// eviction hand passes over the entry.
const VISITED: u32 = 1 << 31;

const FLAG_VERSIONED: u8 = 1;
/// The entry's service has a byte cap: the header carries its service links.
const FLAG_CAPPED: u8 = 2;

#[inline]
fn header_len(flags: u8) -> usize {
    // Branch-free: every key lookup computes this.
    2 + 8 * (flags & FLAG_VERSIONED) as usize + 4 * (flags & FLAG_CAPPED) as usize
}

/// Where the service links start in a capped entry's data.
#[inline]
fn links_at(flags: u8) -> usize {
    if flags & FLAG_VERSIONED != 0 { 10 } else { 2 }
}

impl Entry {
    /// A new live entry of table group `group`, unlinked and unvisited.
    pub(super) fn new(data: Box<[u8]>, group: u32) -> Entry {
        debug_assert!(group < VISITED, "group id {group} would overlap the visited bit");
        Entry { data, prev: NIL, next: NIL, heap_pos: NOT_SCHEDULED, group_visited: group, gprev: NIL, gnext: NIL }
    }

    /// A free slot (no group, never visited), chained to `next`.
    pub(super) fn free(next: u32) -> Entry {
        Entry { data: Box::default(), prev: NIL, next, heap_pos: NOT_SCHEDULED, group_visited: NO_GROUP, gprev: NIL, gnext: NIL }
    }

    #[inline]
    pub(super) fn group(&self) -> u32 {
        self.group_visited & !VISITED
    }

    #[inline]
    pub(super) fn is_visited(&self) -> bool {
        self.group_visited & VISITED != 0
    }

    #[inline]
    pub(super) fn set_visited(&mut self) {
        self.group_visited |= VISITED;
    }

    #[inline]
    pub(super) fn clear_visited(&mut self) {
        self.group_visited &= !VISITED;
    }

    #[inline]
    pub(super) fn key_start(&self) -> usize {
        header_len(self.data[1])
    }

    #[inline]
    pub(super) fn key(&self) -> &[u8] {
        let start = self.key_start();
        &self.data[start..start + self.data[0] as usize]
    }

    #[inline]
    pub(super) fn value_start(&self) -> usize {
        self.key_start() + self.data[0] as usize
    }

    #[inline]
    pub(super) fn value(&self) -> &[u8] {
        &self.data[self.value_start()..]
    }

    pub(super) fn version(&self) -> Option<u64> {
        (self.data[1] & FLAG_VERSIONED != 0).then(|| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&self.data[2..10]);
            u64::from_le_bytes(word)
        })
    }

    /// Whether the entry belongs to a capped service (and so is on its service list).
    #[inline]
    pub(super) fn is_capped(&self) -> bool {
        self.data[1] & FLAG_CAPPED != 0
    }

    /// The entry's (prev, next) in its service's recency list; the entry must be capped.
    #[inline]
    pub(super) fn svc_links(&self) -> [u32; 2] {
        debug_assert!(self.is_capped());
        let at = links_at(self.data[1]);
        let links: &[u8; 8] = self.data[at..at + 8].try_into().expect("8 bytes");
        let word = |i: usize| u32::from_le_bytes([links[i], links[i + 1], links[i + 2], links[i + 3]]);
        [word(0), word(4)]
    }

    /// Toward the most recently used end of its service list.
    #[inline]
    pub(super) fn set_svc_prev(&mut self, slot: u32) {
        let at = links_at(self.data[1]);
        self.data[at..at + 4].copy_from_slice(&slot.to_le_bytes());
    }

    /// Toward the least recently used end of its service list.
    #[inline]
    pub(super) fn set_svc_next(&mut self, slot: u32) {
        let at = links_at(self.data[1]) + 4;
        self.data[at..at + 4].copy_from_slice(&slot.to_le_bytes());
    }

    #[inline]
    pub(super) fn is_free(&self) -> bool {
        self.data.is_empty()
    }

    pub(super) fn charge(&self) -> u64 {
        let flags = self.data[1];
        let payload = self.data.len() - header_len(flags);
        entry_charge(payload, self.heap_pos != NOT_SCHEDULED, flags & FLAG_VERSIONED != 0, flags & FLAG_CAPPED != 0)
    }
}

/// Packs a key, value, optional version and, for an entry of a capped service, its service
/// links (`[prev, next]`) into one exactly-sized allocation.
pub fn entry_data(key: &[u8], value: &[u8], version: Option<u64>, svc_links: Option<[u32; 2]>) -> Box<[u8]> {
    let flags = if version.is_some() { FLAG_VERSIONED } else { 0 } | if svc_links.is_some() { FLAG_CAPPED } else { 0 };
    let mut data = Vec::with_capacity(header_len(flags) + key.len() + value.len());
    data.push(key.len() as u8);
    data.push(flags);
    if let Some(v) = version {
        data.extend_from_slice(&v.to_le_bytes());
    }
    if let Some([prev, next]) = svc_links {
        data.extend_from_slice(&prev.to_le_bytes());
        data.extend_from_slice(&next.to_le_bytes());
    }
    data.extend_from_slice(key);
    data.extend_from_slice(value);
    data.into_boxed_slice()
}

/// What an entry of `payload_len` key+value bytes is charged against the budget.
#[inline]
pub fn entry_charge(payload_len: usize, has_ttl: bool, versioned: bool, capped: bool) -> u64 {
    payload_len as u64
        + ENTRY_OVERHEAD_BYTES
        + if has_ttl { TTL_OVERHEAD_BYTES } else { 0 }
        + if versioned { VERSION_OVERHEAD_BYTES } else { 0 }
        + if capped { CAPPED_OVERHEAD_BYTES } else { 0 }
}
