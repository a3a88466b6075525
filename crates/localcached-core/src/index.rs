//! A shard's hash index: open addressing with linear probing over 8-byte slots that pack
//! a 32-bit hash with a slab slot number. It stores no keys; the caller confirms a match
//! against the slab, so a lookup by `&[u8]` never allocates (std's `HashMap` would need an
//! owned key or a raw-entry API that stable Rust lacks).

const EMPTY: u64 = 0;
const MIN_CAPACITY: usize = 16;

#[inline]
fn pack(hash: u32, slot: u32) -> u64 {
    ((hash as u64) << 32) | (slot as u64 + 1)
}

#[inline]
fn slot_of(packed: u64) -> u32 {
    (packed as u32).wrapping_sub(1)
}

#[inline]
fn hash_of(packed: u64) -> u32 {
    (packed >> 32) as u32
}

#[derive(Default)]
pub struct HashIndex {
    table: Vec<u64>,
    len: usize,
}

impl HashIndex {
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.table.len() - 1
    }

    /// Finds the slot whose hash matches and for which `is_match` confirms the key.
    #[inline]
    pub fn find(&self, hash: u32, mut is_match: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.table.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut pos = hash as usize & mask;
        loop {
            let packed = self.table[pos];
            if packed == EMPTY {
                return None;
            }
            if hash_of(packed) == hash && is_match(slot_of(packed)) {
                return Some(slot_of(packed));
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Adds a slot that is not yet in the index; grows at 3/4 load.
    pub fn insert(&mut self, hash: u32, slot: u32) {
        if (self.len + 1) * 4 > self.table.len() * 3 {
            self.grow();
        }
        self.place(pack(hash, slot));
        self.len += 1;
    }

    fn place(&mut self, packed: u64) {
        let mask = self.mask();
        let mut pos = hash_of(packed) as usize & mask;
        while self.table[pos] != EMPTY {
            pos = (pos + 1) & mask;
        }
        self.table[pos] = packed;
    }

    fn grow(&mut self) {
        let capacity = (self.table.len() * 2).max(MIN_CAPACITY);
        let old = std::mem::replace(&mut self.table, vec![EMPTY; capacity]);
        for packed in old.into_iter().filter(|&p| p != EMPTY) {
            self.place(packed);
        }
    }

    /// Removes a slot, shifting later probes back so no tombstones are needed.
    pub fn remove(&mut self, hash: u32, slot: u32) -> bool {
        if self.table.is_empty() {
            return false;
        }
        let mask = self.mask();
        let target = pack(hash, slot);
        let mut pos = hash as usize & mask;
        loop {
            let packed = self.table[pos];
            if packed == EMPTY {
                return false;
            }
            if packed == target {
                break;
            }
            pos = (pos + 1) & mask;
        }
        let mut hole = pos;
        let mut probe = pos;
        loop {
            probe = (probe + 1) & mask;
            let packed = self.table[probe];
            if packed == EMPTY {
                break;
            }
            let home = hash_of(packed) as usize & mask;
            // Move the entry into the hole if the hole lies on its probe path (home..=probe).
            if probe.wrapping_sub(home) & mask >= probe.wrapping_sub(hole) & mask {
                self.table[hole] = packed;
                hole = probe;
            }
        }
        self.table[hole] = EMPTY;
        self.len -= 1;
        true
    }

    /// Every (hash, slot) pair, for invariant checks.
    pub fn pairs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.table.iter().filter(|&&p| p != EMPTY).map(|&p| (hash_of(p), slot_of(p)))
    }

    /// Checks that every slot is reachable from its home position without crossing an empty.
    pub fn validate(&self) -> Result<(), String> {
        let count = self.table.iter().filter(|&&p| p != EMPTY).count();
        if count != self.len {
            return Err(format!("index len {} but {} occupied", self.len, count));
        }
        if self.table.is_empty() {
            return Ok(());
        }
        let mask = self.mask();
        for (pos, &packed) in self.table.iter().enumerate() {
            if packed == EMPTY {
                continue;
            }
            let mut at = hash_of(packed) as usize & mask;
            while at != pos {
                if self.table[at] == EMPTY {
                    return Err(format!("index slot {pos} unreachable from home"));
                }
                at = (at + 1) & mask;
            }
        }
        Ok(())
    }
}
