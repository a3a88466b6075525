//! The shard's SIEVE queue ("SIEVE is simpler than LRU", NSDI'24), threaded through the
//! entries' `prev`/`next` links in insertion order: head is the newest entry, tail the
//! oldest. A hit only sets the entry's visited bit (in its slab slot, `shard/entry.rs`):
//! nothing is relinked, so a hit touches no other entry. To find a victim, the hand walks
//! from where it stopped last (or the tail) toward the head, wrapping to the tail, clearing
//! visited bits, and stops at the first entry not visited since the hand last passed it.
//! So an entry read once survives one pass of the hand, a one-time key of a scan goes at its
//! first pass, and old hot entries keep their place without being moved.

use super::{opt, Shard, NIL};

/// A shard's queue as tests see it: keys head (newest) to tail (oldest), each with its
/// visited bit, and the key under the hand.
pub type QueueView = (Vec<(Vec<u8>, bool)>, Option<Vec<u8>>);

impl Shard {
    /// Marks an entry as accessed (a hit or an overwrite): its visited bit, and for a capped
    /// service its place at the front of its service list, which stays exact LRU within the
    /// service (`shard/cap_list.rs`). An uncapped entry pays one flag test.
    #[inline]
    pub fn touch(&mut self, slot: u32) {
        let entry = &mut self.entries[slot as usize];
        entry.set_visited();
        if entry.is_capped() {
            self.cap_touch(slot);
        }
    }

    /// The next SIEVE victim, never `keep` (the entry a write just stored, which the hand
    /// passes over as it is): walks the hand from its place (or the tail) toward the head,
    /// wrapping from the head to the tail, clearing the visited bits it passes, and stops at
    /// the first unvisited entry, where it stays until the caller removes that entry (which
    /// moves it on toward the head). `None` when `keep` is the only entry (or none is left).
    /// Ends within two passes: the first clears every bit it meets. One search can walk a
    /// whole shard of visited entries (measured: 0.4 ms at 100k entries, 5 ms at 1M, in one
    /// shard), but each bit it clears was set by one hit or overwrite, so the walking is O(1)
    /// per access over time.
    pub fn sieve_victim(&mut self, keep: Option<u32>) -> Option<u32> {
        let tail = self.tail?;
        if self.len == 1 && keep == Some(tail) {
            return None;
        }
        let mut at = self.hand.unwrap_or(tail);
        loop {
            let entry = &mut self.entries[at as usize];
            if Some(at) != keep {
                if !entry.is_visited() {
                    self.hand = Some(at);
                    return Some(at);
                }
                entry.clear_visited();
            }
            at = opt(entry.prev).unwrap_or(tail);
        }
    }

    /// Puts an unlinked entry at the head: a new entry, unvisited.
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

    /// Puts an unlinked entry at the tail (a snapshot load rebuilds a shard's queue head
    /// first, see `snapshot/load.rs`).
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

    /// The slots hottest first: the visited entries, then the others, each part in queue order
    /// from head (newest) to tail (oldest). What a snapshot save walks, copied so that the
    /// shard lock is held for one list walk, not for the whole save. A load appends in this
    /// order, so a smaller budget keeps the entries read since the hand last passed, and after
    /// a load (every entry unvisited, the hand at the tail) the first victims are the entries
    /// that had not been read: SIEVE's own order of eviction, without saving the bits.
    pub fn hottest_first_order(&self) -> Vec<u32> {
        let mut visited = Vec::with_capacity(self.len);
        let mut unvisited = Vec::new();
        let mut at = self.head;
        while let Some(slot) = at {
            let entry = &self.entries[slot as usize];
            if entry.is_visited() { visited.push(slot) } else { unvisited.push(slot) }
            at = opt(entry.next);
        }
        visited.append(&mut unvisited);
        visited
    }

    /// Takes an entry out of the queue; if the hand is on it, the hand first moves to its
    /// neighbour toward the head (none past the head: the next search starts at the tail,
    /// where the hand would wrap to).
    pub(super) fn unlink(&mut self, slot: u32) {
        let (prev, next) = {
            let entry = &self.entries[slot as usize];
            (opt(entry.prev), opt(entry.next))
        };
        if self.hand == Some(slot) {
            self.hand = prev;
        }
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

    /// The keys in queue order, head (newest) to tail (oldest), each with its visited bit,
    /// and the key under the hand (tests and diagnostics).
    pub fn queue_keys(&self) -> QueueView {
        let mut out = Vec::with_capacity(self.len);
        let mut at = self.head;
        while let Some(slot) = at {
            let entry = &self.entries[slot as usize];
            out.push((entry.key().to_vec(), entry.is_visited()));
            at = opt(entry.next);
        }
        (out, self.hand.map(|slot| self.entries[slot as usize].key().to_vec()))
    }
}
