//! Scans: keys matching a filter, a bounded number of slab slots per call, resumable from a
//! cursor.

use super::{lock, Store};
use crate::constants::SCAN_EXAMINE_PER_KEY;
use crate::error::StoreError;
use crate::key::validate_key;

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
        let mut budget = limit.saturating_mul(SCAN_EXAMINE_PER_KEY).max(limit);
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
