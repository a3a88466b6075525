//! Operations built on the store's one write path: counters, compare-and-set, reads with
//! metadata, batches and scans.

use super::{lock, Decision, Lookup, Store};
use crate::error::StoreError;
use crate::key::{describe_key, validate_key};
use std::borrow::Cow;

/// Largest |value| of an `incr` through the JS API: Number.MAX_SAFE_INTEGER.
pub const JS_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Parses the ASCII decimal form Redis's INCR uses: `-?(0|[1-9][0-9]*)`, within i64.
pub fn parse_integer(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' || bytes == b"-0" {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// A key's value and metadata, as `get_with_meta` reads them.
pub struct Meta<'a> {
    pub value: &'a [u8],
    pub version: Option<u64>,
    /// Milliseconds left before it expires, if it has a TTL.
    pub ttl_ms: Option<u64>,
}

/// Which keys a scan returns.
#[derive(Default, Clone, Copy)]
pub struct ScanFilter<'a> {
    pub svc: Option<&'a [u8]>,
    pub table: Option<&'a [u8]>,
    pub prefix: Option<&'a [u8]>,
}

impl ScanFilter<'_> {
    fn matches(&self, key: &[u8]) -> bool {
        if let Some(prefix) = self.prefix {
            if !key.starts_with(prefix) {
                return false;
            }
        }
        if self.svc.is_none() && self.table.is_none() {
            return true;
        }
        let Ok(parts) = validate_key(key) else { return false };
        self.svc.is_none_or(|svc| parts.svc(key) == svc) && self.table.is_none_or(|t| parts.table(key) == t)
    }
}

/// Where a scan stands: the shard, and the slab slot within it, to look at next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanCursor {
    pub shard: usize,
    pub slot: usize,
}

impl ScanCursor {
    pub const START: ScanCursor = ScanCursor { shard: 0, slot: 0 };

    /// Opaque text form: `<shard>.<slot>` in base 36.
    pub fn encode(&self) -> String {
        format!("{}.{}", radix36(self.shard as u64), radix36(self.slot as u64))
    }

    pub fn decode(text: &str) -> Option<ScanCursor> {
        let (a, b) = text.split_once('.')?;
        Some(ScanCursor { shard: usize::from_str_radix(a, 36).ok()?, slot: usize::from_str_radix(b, 36).ok()? })
    }
}

fn radix36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

impl Store {
    /// Adds `delta` to the integer stored at `key` (a missing key counts as 0) and returns the
    /// result. Atomic: the read and the write happen under one lock. A result outside
    /// `-limit..=limit` (or i64) is refused with Overflow and nothing is stored; it never
    /// wraps. `ttl_ms` applies only when this call creates the key; an existing key keeps
    /// its TTL and version.
    pub fn incr(&self, key: &[u8], delta: i64, ttl_ms: Option<u64>, limit: i64) -> Result<(i64, u32), StoreError> {
        Self::check_key(key)?;
        Self::check_ttl(ttl_ms)?;
        let fresh_deadline = self.deadline_after(ttl_ms);
        let result = self.write_locked(key, true, true, |shard, slot| {
            let (current, deadline, version) = match slot {
                Some(slot) => {
                    let value = shard.value(slot);
                    let current = parse_integer(value).ok_or_else(|| StoreError::NotAnInteger { value_preview: describe_key(&value[..value.len().min(40)]) })?;
                    (current, shard.deadline(slot), shard.version(slot))
                }
                None => (0, fresh_deadline, None),
            };
            let next = current.checked_add(delta).filter(|n| n.unsigned_abs() <= limit.unsigned_abs()).ok_or(StoreError::Overflow { current, delta, limit })?;
            let text = next.to_string().into_bytes();
            Ok(Decision::Store { value: Cow::Owned(text), deadline, version, result: next })
        });
        self.settle();
        result
    }

    /// Stores `next` only if the current value equals `expected` (`None`: only if absent).
    /// Returns whether it swapped. The entry keeps its TTL and version.
    pub fn cas(&self, key: &[u8], expected: Option<&[u8]>, next: &[u8]) -> Result<(bool, u32), StoreError> {
        Self::check_key(key)?;
        let result = self.write_locked(key, true, true, |shard, slot| {
            let matches = match (expected, slot) {
                (None, None) => true,
                (Some(e), Some(slot)) => shard.value(slot) == e,
                _ => false,
            };
            if !matches {
                return Ok(Decision::Skip(false));
            }
            let (deadline, version) = slot.map_or((None, None), |s| (shard.deadline(s), shard.version(s)));
            Ok(Decision::Store { value: Cow::Borrowed(next), deadline, version, result: true })
        });
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

    /// Stores every entry, or none: every key, value and charge is checked before the first
    /// is stored. Returns how many entries were evicted to make room.
    pub fn mset(&self, entries: &[(&[u8], &[u8])], ttl_ms: Option<u64>) -> Result<u32, StoreError> {
        Self::check_ttl(ttl_ms)?;
        for (key, value) in entries {
            Self::check_key(key)?;
            self.check_fits(key, value.len(), ttl_ms.is_some(), false)?;
        }
        let mut evicted = 0;
        for (key, value) in entries {
            evicted += self.set_with(key, value, ttl_ms, None, None)?;
        }
        Ok(evicted)
    }

    /// Deletes every key; returns how many existed.
    pub fn mdel(&self, keys: &[&[u8]]) -> Result<(u32, Vec<bool>), StoreError> {
        for key in keys {
            Self::check_key(key)?;
        }
        let mut existed = Vec::with_capacity(keys.len());
        for key in keys {
            existed.push(self.delete(key)?);
        }
        Ok((existed.iter().filter(|&&e| e).count() as u32, existed))
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

    /// Up to `limit` keys matching `filter`, from `cursor` on, and where to continue (`None`:
    /// done). Walks each shard's slab in slot order, which an entry keeps for its lifetime,
    /// so a key present for the whole scan is returned at least once; keys added or removed
    /// meanwhile may or may not be. Examines at most `limit × SCAN_EXAMINE_PER_KEY` slots a
    /// call, so it may return fewer keys than asked (even none) with a cursor to go on.
    pub fn scan(&self, cursor: ScanCursor, filter: ScanFilter<'_>, limit: usize) -> Result<(Vec<Vec<u8>>, Option<ScanCursor>), StoreError> {
        if limit == 0 {
            return Err(StoreError::BadArgument("limit must be at least 1".into()));
        }
        if cursor.shard > self.shards.len() {
            return Err(StoreError::BadArgument("cursor does not belong to this store".into()));
        }
        let mut budget = limit.saturating_mul(crate::constants::SCAN_EXAMINE_PER_KEY).max(limit);
        let mut keys = Vec::new();
        let mut at = cursor;
        while at.shard < self.shards.len() {
            let shard = lock(&self.shards[at.shard]);
            let now = self.clock.now_ms();
            while at.slot < shard.slab_len() {
                if keys.len() == limit || budget == 0 {
                    return Ok((keys, Some(at)));
                }
                budget -= 1;
                if let Some((slot, key)) = shard.live_key_at(at.slot) {
                    let live = shard.deadline(slot).is_none_or(|d| d > now);
                    if live && filter.matches(key) {
                        keys.push(key.to_vec());
                    }
                }
                at.slot += 1;
            }
            at = ScanCursor { shard: at.shard + 1, slot: 0 };
        }
        Ok((keys, None))
    }
}

/// When a conditional set stores (Redis's SET NX / XX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    Always,
    /// Only if the key is absent (NX).
    IfAbsent,
    /// Only if the key is present (XX).
    IfPresent,
}

impl Store {
    /// A set with Redis's options: a condition (NX/XX), and `keep_ttl` (KEEPTTL) to keep the
    /// entry's TTL instead of replacing it with `ttl_ms`. Returns whether it stored, and the
    /// previous value if `want_old` (SET … GET).
    pub fn set_if(
        &self,
        key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: SetCondition,
        keep_ttl: bool,
        want_old: bool,
    ) -> Result<(bool, Option<Vec<u8>>), StoreError> {
        Self::check_key(key)?;
        Self::check_ttl(ttl_ms)?;
        let fresh = self.deadline_after(ttl_ms);
        let result = self.write_locked(key, true, true, |shard, slot| {
            let old = if want_old { slot.map(|s| shard.value(s).to_vec()) } else { None };
            let go = match condition {
                SetCondition::Always => true,
                SetCondition::IfAbsent => slot.is_none(),
                SetCondition::IfPresent => slot.is_some(),
            };
            if !go {
                return Ok(Decision::Skip((false, old)));
            }
            let deadline = if keep_ttl { slot.and_then(|s| shard.deadline(s)) } else { fresh };
            Ok(Decision::Store { value: Cow::Borrowed(value), deadline, version: None, result: (true, old) })
        });
        let ((stored, old), _) = result?;
        if stored && self.dep_edges.load(std::sync::atomic::Ordering::Acquire) > 0 {
            self.forget_dependencies(key);
        }
        self.settle();
        Ok((stored, old))
    }

    /// Sets (`Some`) or removes (`None`) the TTL of a live entry; returns whether it existed.
    pub fn expire(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool, StoreError> {
        Self::check_key(key)?;
        Self::check_ttl(ttl_ms)?;
        let deadline = self.deadline_after(ttl_ms);
        // A new TTL is not a new value: what depends on the key stays.
        let result = self.write_locked(key, false, false, |shard, slot| match slot {
            None => Ok(Decision::Skip(false)),
            Some(s) => Ok(Decision::Store { value: Cow::Owned(shard.value(s).to_vec()), deadline, version: shard.version(s), result: true }),
        });
        self.settle();
        Ok(result?.0)
    }
}
