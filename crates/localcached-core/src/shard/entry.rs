//! One entry's storage: key, value and optional version packed into one exactly-sized
//! allocation, plus the links that thread it through the shard's structures.

use super::NIL;
use crate::constants::{ENTRY_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES, VERSION_OVERHEAD_BYTES};
use crate::expiry::NOT_SCHEDULED;
use crate::groups::NO_GROUP;

/// One cached entry, or a free slot (empty `data`, chained through `next`). 40 bytes on a
/// 64-bit target (checked below): the slab slot counted in `ENTRY_OVERHEAD_BYTES`.
pub(super) struct Entry {
    /// `[key_len, flags, version (8 bytes, if flagged), key.., value..]`: one allocation per
    /// entry. Keeping the lengths and the optional version in the allocation instead of in
    /// fields keeps the slot at 40 bytes, and unversioned entries pay nothing for versions.
    pub(super) data: Box<[u8]>,
    /// Toward the most recently used end.
    pub(super) prev: u32,
    /// Toward the least recently used end (or the next free slot).
    pub(super) next: u32,
    pub(super) heap_pos: u32,
    /// The entry's table group, and its neighbours in that group's list. (The key's hash is
    /// not stored: removals recompute it, which costs less than 4 bytes on every entry.)
    pub(super) group: u32,
    pub(super) gprev: u32,
    pub(super) gnext: u32,
}

// The slot size `ENTRY_OVERHEAD_BYTES` counts on: a boxed slice (16) and six u32 links (24).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Entry>() == 40);

const FLAG_VERSIONED: u8 = 1;

#[inline]
fn header_len(flags: u8) -> usize {
    if flags & FLAG_VERSIONED != 0 { 10 } else { 2 }
}

impl Entry {
    pub(super) fn free(next: u32) -> Entry {
        Entry { data: Box::default(), prev: NIL, next, heap_pos: NOT_SCHEDULED, group: NO_GROUP, gprev: NIL, gnext: NIL }
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

    #[inline]
    pub(super) fn is_free(&self) -> bool {
        self.data.is_empty()
    }

    pub(super) fn charge(&self) -> u64 {
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
