//! Reads: a value, a value with its metadata, and presence. One read path, `get_locked`.

use super::{lock, Lookup, Store};
use crate::cause::RemovalCause;
use crate::error::StoreError;
use crate::shard::Shard;

/// A key's value and metadata, as `get_with_meta` reads them.
pub struct Meta<'a> {
    pub value: &'a [u8],
    pub version: Option<u64>,
    /// Milliseconds left before it expires, if it has a TTL.
    pub ttl_ms: Option<u64>,
}

impl Store {
    /// Reads a key; on a hit, `read` sees the value while the shard is locked (so the
    /// caller copies it once, straight to where it is needed) and the entry is marked
    /// visited (`Shard::touch`). Allocates nothing.
    #[inline]
    pub fn get_with<R>(&self, key: &[u8], read: impl FnOnce(&[u8]) -> R) -> Result<Lookup<R>, StoreError> {
        let result = self.get_locked(key, |shard, slot| read(shard.value(slot)));
        self.settle();
        result
    }

    /// Like `get_with`, but `read` also sees the entry's version and remaining TTL.
    pub fn get_with_meta<R>(&self, key: &[u8], read: impl FnOnce(Meta<'_>) -> R) -> Result<Lookup<R>, StoreError> {
        let now = self.clock.now_ms();
        let result = self.get_locked(key, |shard, slot| {
            let ttl_ms = shard.deadline(slot).map(|at| at.saturating_sub(now));
            read(Meta { value: shard.value(slot), version: shard.version(slot), ttl_ms })
        });
        self.settle();
        result
    }

    /// The one read path: counts the get, removes (and reports) an expired entry, and on a
    /// hit lets `read` see the entry under the lock and marks it visited.
    ///
    /// The key is checked only when it is not found: a key equal to a stored one passed the
    /// same check when it was stored, so a hit skips that per-byte pass, and an invalid key
    /// (never stored) still fails with InvalidKey before anything is counted.
    #[inline]
    pub(crate) fn get_locked<R>(&self, key: &[u8], read: impl FnOnce(&Shard, u32) -> R) -> Result<Lookup<R>, StoreError> {
        let (index, hash) = self.locate(key);
        let mut shard = lock(&self.shards[index]);
        let Some(slot) = shard.find(hash, key) else {
            Self::check_key(key)?;
            shard.counters.get_calls += 1;
            shard.counters.get_misses += 1;
            shard.record_miss(key);
            return Ok(Lookup::Miss);
        };
        if self.is_expired(&shard, slot) {
            shard.counters.get_calls += 1;
            shard.counters.get_misses += 1;
            shard.record_miss(key);
            self.remove_slot(&mut shard, slot, RemovalCause::Expired);
            return Ok(Lookup::Expired);
        }
        shard.counters.get_calls += 1;
        shard.counters.get_hits += 1;
        shard.record_hit(slot);
        shard.touch(slot);
        Ok(Lookup::Hit(read(&shard, slot)))
    }

    /// Whether a live entry exists. Not counted as a get and does not mark the entry visited.
    pub fn has(&self, key: &[u8]) -> Result<bool, StoreError> {
        let result = self.has_locked(key);
        self.settle();
        result
    }

    /// Checks the key only when it is not found, as `get_locked` does.
    fn has_locked(&self, key: &[u8]) -> Result<bool, StoreError> {
        let (index, hash) = self.locate(key);
        let mut shard = lock(&self.shards[index]);
        let Some(slot) = shard.find(hash, key) else {
            Self::check_key(key)?;
            return Ok(false);
        };
        if self.is_expired(&shard, slot) {
            self.remove_slot(&mut shard, slot, RemovalCause::Expired);
            return Ok(false);
        }
        Ok(true)
    }

    /// How many of the keys are present (a key named twice counts twice, as Redis's EXISTS).
    pub fn exists(&self, keys: &[&[u8]]) -> Result<u32, StoreError> {
        for key in keys {
            Self::check_key(key)?;
        }
        let mut n = 0;
        for key in keys {
            n += self.has(key)? as u32;
        }
        Ok(n)
    }
}
