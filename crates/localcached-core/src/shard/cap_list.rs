//! Per-service byte caps in one shard: each capped service's recency list, threaded
//! through the service links its entries carry in their data (`shard/entry.rs`), and the
//! caps' byte accounting.
//!
//! Invariant (checked by `shard/validate.rs`): a capped service's list holds exactly its
//! entries in this shard. It is exact LRU within the service, kept apart from the shard's
//! SIEVE queue (which is in insertion order): an entry goes to the front when it is stored
//! or accessed (a hit or an overwrite, `Shard::touch`: capped entries are relinked here,
//! uncapped ones pay one flag test) and leaves when it is removed; a snapshot load appends
//! at the back, in the saved order. So its tail is the service's least recently used entry
//! in the shard: the victim when the service is over its cap, found in O(1) however many
//! tables the service has.

use super::{opt, Shard, NIL};
use std::sync::atomic::Ordering;

/// One capped service's recency list in a shard: head most, tail least recently used.
#[derive(Clone, Copy)]
pub(super) struct CapList {
    pub(super) head: u32,
    pub(super) tail: u32,
}

impl CapList {
    pub(super) const EMPTY: CapList = CapList { head: NIL, tail: NIL };
}

impl Shard {
    /// Adds (or with a negative delta, releases) bytes to the group's service cap, if any.
    pub(super) fn charge_cap(&self, group: u32, delta: i64) {
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
        self.groups.get(self.entries[slot as usize].group()).cap
    }

    /// The least recently used entry of a capped service in this shard, other than `keep`:
    /// the tail of its service list (or the one before it, if the tail is `keep`).
    pub fn cap_victim(&self, cap: u32, keep: Option<u32>) -> Option<u32> {
        let tail = opt(self.cap_lists[cap as usize].tail)?;
        if Some(tail) != keep {
            Some(tail)
        } else {
            opt(self.entries[tail as usize].svc_links()[0])
        }
    }

    /// Puts a capped entry at the front of its service's list.
    pub(super) fn cap_link_front(&mut self, cap: u32, slot: u32) {
        let old_head = self.cap_lists[cap as usize].head;
        {
            let entry = &mut self.entries[slot as usize];
            entry.set_svc_prev(NIL);
            entry.set_svc_next(old_head);
        }
        if old_head != NIL {
            self.entries[old_head as usize].set_svc_prev(slot);
        } else {
            self.cap_lists[cap as usize].tail = slot;
        }
        self.cap_lists[cap as usize].head = slot;
    }

    /// Puts a capped entry (not on its list) at the back of its service's list.
    pub(super) fn cap_link_back(&mut self, cap: u32, slot: u32) {
        let old_tail = self.cap_lists[cap as usize].tail;
        {
            let entry = &mut self.entries[slot as usize];
            entry.set_svc_prev(old_tail);
            entry.set_svc_next(NIL);
        }
        if old_tail != NIL {
            self.entries[old_tail as usize].set_svc_next(slot);
        } else {
            self.cap_lists[cap as usize].head = slot;
        }
        self.cap_lists[cap as usize].tail = slot;
    }

    /// Takes a capped entry out of its service's list.
    pub(super) fn cap_unlink(&mut self, cap: u32, slot: u32) {
        let [prev, next] = self.entries[slot as usize].svc_links();
        let list = &mut self.cap_lists[cap as usize];
        if prev != NIL {
            self.entries[prev as usize].set_svc_next(next);
        } else {
            list.head = next;
        }
        if next != NIL {
            self.entries[next as usize].set_svc_prev(prev);
        } else {
            list.tail = prev;
        }
    }

    /// Moves a capped entry to the front of its service's list.
    pub(super) fn cap_touch(&mut self, slot: u32) {
        let cap = self.cap_of(slot).expect("a capped entry's group has a cap");
        if self.cap_lists[cap as usize].head != slot {
            self.cap_unlink(cap, slot);
            self.cap_link_front(cap, slot);
        }
    }
}
