//! Each table's own list of its entries, threaded through the entries' `gprev`/`gnext`
//! links: scoped invalidation walks one table, and a capped service's tables are kept in
//! recency order so its cap evicts its least recently used entry. Also the service caps'
//! byte accounting.

use super::{opt, Shard, NIL};
use std::sync::atomic::Ordering;

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
    pub(super) fn group_touch(&mut self, slot: u32) {
        let id = self.entries[slot as usize].group;
        if self.groups.get(id).head == slot {
            return;
        }
        let charge = self.entries[slot as usize].charge();
        let freed = self.group_unlink(slot, charge);
        debug_assert_eq!(freed, 0, "a group with another head is not empty");
        self.group_link(id, slot, charge);
    }

    pub(super) fn group_link(&mut self, id: u32, slot: u32, charge: u64) {
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
    pub(super) fn group_unlink(&mut self, slot: u32, charge: u64) -> u64 {
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
}
