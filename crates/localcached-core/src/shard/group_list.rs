//! Each table's own list of its entries, newest stored first, threaded through the
//! entries' `gprev`/`gnext` links: scoped invalidation walks one table, and per-service
//! stats add up tables. (A capped service's recency order is kept apart, in its service
//! list: `shard/cap_list.rs`.)

use super::{Shard, NIL};

impl Shard {
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
            (e.group(), e.gprev, e.gnext)
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
