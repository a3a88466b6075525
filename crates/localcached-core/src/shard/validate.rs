//! The shard's invariants, recomputed from scratch and compared with what the shard keeps.

use super::{opt, Shard, NIL};
use crate::expiry::NOT_SCHEDULED;
use crate::hash::hash_key;

impl Shard {
    /// Recomputes every derived fact from scratch and compares: the SIEVE queue is a proper
    /// doubly-linked list over exactly the live entries, the hand is none or on one of them,
    /// only live entries carry a visited bit, the index maps exactly the live entries, the
    /// heap positions agree both ways, the byte total adds up, each table's list holds
    /// exactly its entries, and each capped service's list holds exactly its entries.
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
        // Queue walk forward, checking back links, and that the hand is on it.
        let mut seen = 0usize;
        let mut hand_seen = false;
        let mut prev: Option<u32> = None;
        let mut at = self.head;
        while let Some(slot) = at {
            let entry = &self.entries[slot as usize];
            if entry.is_free() {
                return Err(format!("free slot {slot} on the queue"));
            }
            if opt(entry.prev) != prev {
                return Err(format!("slot {slot} prev link broken"));
            }
            seen += 1;
            if seen > self.len {
                return Err("queue has a cycle".into());
            }
            hand_seen |= self.hand == Some(slot);
            prev = Some(slot);
            at = opt(entry.next);
        }
        if seen != self.len || self.tail != prev {
            return Err(format!("queue has {seen} entries (len {}), tail mismatch {:?} vs {:?}", self.len, self.tail, prev));
        }
        if self.hand.is_some() && !hand_seen {
            return Err(format!("hand {:?} is not on the queue", self.hand));
        }
        if let Some(slot) = (0..self.entries.len()).find(|&s| self.entries[s].is_free() && self.entries[s].is_visited()) {
            return Err(format!("free slot {slot} is marked visited"));
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
                if entry.is_free() || entry.group() != id || entry.gprev != prev {
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
        self.validate_cap_lists(&live)?;
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

    /// Each capped service's list is a proper doubly-linked list over exactly that service's
    /// entries in this shard, and an entry carries service links exactly when its service
    /// has a cap. (Its order is recency within the service, which nothing else in the shard
    /// records since the shard's queue is in insertion order, so it is not recomputed here;
    /// the cap tests check the victims it picks.)
    fn validate_cap_lists(&self, live: &[u32]) -> Result<(), String> {
        for &slot in live {
            let entry = &self.entries[slot as usize];
            if entry.is_capped() != self.groups.get(entry.group()).cap.is_some() {
                return Err(format!("slot {slot}: service links flag disagrees with its service's cap"));
            }
        }
        // How many entries each capped service has in this shard.
        let mut expected = vec![0usize; self.cap_lists.len()];
        for &slot in live {
            if let Some(cap) = self.cap_of(slot) {
                expected[cap as usize] += 1;
            }
        }
        for (cap, list) in self.cap_lists.iter().enumerate() {
            let name = String::from_utf8_lossy(&self.caps[cap].name);
            let (mut seen, mut prev, mut at) = (0usize, NIL, list.head);
            while at != NIL {
                let entry = &self.entries[at as usize];
                if entry.is_free() || !entry.is_capped() || entry.svc_links()[0] != prev {
                    return Err(format!("service list of {name} broken at slot {at}"));
                }
                if self.cap_of(at) != Some(cap as u32) {
                    return Err(format!("service list of {name} holds slot {at} of another service"));
                }
                seen += 1;
                if seen > expected[cap] {
                    return Err(format!("service list of {name} has more entries than the service ({}) or a cycle", expected[cap]));
                }
                prev = at;
                at = entry.svc_links()[1];
            }
            if seen != expected[cap] || list.tail != prev {
                return Err(format!("service list of {name} has {seen} entries (shard has {}), tail {} vs {prev}", expected[cap], list.tail));
            }
        }
        Ok(())
    }
}
