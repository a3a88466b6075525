//! The shard's LRU list, threaded through the entries' `prev`/`next` links: head is the
//! most recently used entry, tail the next eviction victim.

use super::{opt, Shard, NIL};

impl Shard {
    /// The least recently used entry: the next eviction victim.
    pub fn lru_tail(&self) -> Option<u32> {
        self.tail
    }

    /// Marks an entry as most recently used: in the shard's list and, for a capped service,
    /// in its service list. (The shard's head is also the head of its service list, so a
    /// touch of the head changes neither; an uncapped entry pays one flag test.)
    #[inline]
    pub fn touch(&mut self, slot: u32) {
        if self.head != Some(slot) {
            self.unlink(slot);
            self.link_front(slot);
            if self.entries[slot as usize].is_capped() {
                self.cap_touch(slot);
            }
        }
    }

    pub(super) fn link_front(&mut self, slot: u32) {
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

    /// Puts an unlinked entry at the least recently used end (a snapshot load restores a
    /// shard coldest last, see `snapshot/load.rs`).
    pub(super) fn link_back(&mut self, slot: u32) {
        let old_tail = self.tail;
        {
            let entry = &mut self.entries[slot as usize];
            entry.prev = old_tail.unwrap_or(NIL);
            entry.next = NIL;
        }
        match old_tail {
            Some(t) => self.entries[t as usize].next = slot,
            None => self.head = Some(slot),
        }
        self.tail = Some(slot);
    }

    /// The slots from most to least recently used: what a snapshot save walks, copied so
    /// that the shard lock is held for one list walk, not for the whole save.
    pub fn lru_order(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.len);
        let mut at = self.head;
        while let Some(slot) = at {
            out.push(slot);
            at = opt(self.entries[slot as usize].next);
        }
        out
    }

    pub(super) fn unlink(&mut self, slot: u32) {
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
}
