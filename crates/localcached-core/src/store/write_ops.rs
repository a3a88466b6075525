//! The public writes. Each one describes itself as a [`Write`] and runs it through
//! `Store::write` (see `write.rs`); nothing here touches a shard or the dependency graph.

use super::write::{Condition, EdgeRule, NewValue, TtlRule, VersionRule, Write, WriteCounter};
use super::Store;
use crate::constants::MAX_KEY_BYTES;
use crate::error::StoreError;
use crate::key::{join_key, validate_key};

/// Largest |value| of an `incr` through the JS API: Number.MAX_SAFE_INTEGER.
pub const JS_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Parses the ASCII decimal form Redis's INCR uses: `-?(0|[1-9][0-9]*)`, within i64.
pub fn parse_integer(bytes: &[u8]) -> Option<i64> {
    let digits = bytes.strip_prefix(b"-").unwrap_or(bytes);
    // i64::MIN has 19 digits; anything longer cannot fit.
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() > 1 && digits[0] == b'0' || bytes == b"-0" {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
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
    /// Stores a value; returns how many entries were evicted to make room.
    pub fn set(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>) -> Result<u32, StoreError> {
        Ok(self.write(Write::set(key, value, ttl_ms))?.evicted)
    }

    /// Stores a value unless the stored entry carries a higher version (then VersionConflict,
    /// and the stored value stays). An equal version is accepted; a write without a version
    /// always is, and leaves the entry unversioned. Returns how many entries were evicted.
    pub fn set_versioned(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, version: Option<u64>) -> Result<u32, StoreError> {
        self.set_with(key, value, ttl_ms, version, None)
    }

    /// Stores a value that depends on other keys: when any of them is invalidated, deleted,
    /// rewritten, evicted or expires, this entry is removed too (and so are its dependents).
    /// `None` (or an empty list) leaves the entry with no dependencies, whatever it had.
    /// Returns how many entries were evicted, for the entry and for its edges.
    pub fn set_with(&self, key: &[u8], value: &[u8], ttl_ms: Option<u64>, version: Option<u64>, depends_on: Option<&[&[u8]]>) -> Result<u32, StoreError> {
        let write = Write {
            version: VersionRule::from(version),
            edges: depends_on.map_or(EdgeRule::Clear, EdgeRule::Replace),
            ..Write::set(key, value, ttl_ms)
        };
        Ok(self.write(write)?.evicted)
    }

    /// Stores every entry, or none: every key, value and charge (against `maxValueBytes`, the
    /// budget and the service's cap) is checked before the first is stored. Each entry is a
    /// plain `set`. Returns how many entries were evicted.
    pub fn mset(&self, entries: &[(&[u8], &[u8])], ttl_ms: Option<u64>) -> Result<u32, StoreError> {
        Self::check_ttl(ttl_ms)?;
        for (key, value) in entries {
            let parts = validate_key(key).map_err(|problem| StoreError::invalid_key(key, problem))?;
            self.check_fits(key, parts, value.len(), ttl_ms.is_some(), false)?;
        }
        let mut evicted = 0;
        for (key, value) in entries {
            evicted += self.write(Write::set(key, value, ttl_ms))?.evicted;
        }
        Ok(evicted)
    }

    /// Builds `svc:table:pk` from its parts and stores the value, as `set_versioned` does,
    /// but counted in `tableChangedUpsertCalls` (not `putCalls`). The upserted row depends
    /// on nothing afterwards; what depended on it is removed. Returns how many entries were
    /// evicted.
    pub fn table_changed_upsert(
        &self,
        svc: &[u8],
        table: &[u8],
        pk: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        version: Option<u64>,
    ) -> Result<u32, StoreError> {
        let mut buf = [0u8; MAX_KEY_BYTES];
        let key = match join_key(svc, table, pk, &mut buf) {
            Ok(key) => key,
            Err(problem) => {
                let shown = [svc, b":", table, b":", pk].concat();
                return Err(StoreError::invalid_key(&shown, problem));
            }
        };
        let write = Write {
            version: VersionRule::from(version),
            counter: WriteCounter::TableChangedUpsert,
            ..Write::set(key, value, ttl_ms)
        };
        Ok(self.write(write)?.evicted)
    }

    /// Adds `delta` to the integer stored at `key` (a missing key counts as 0) and returns the
    /// result and how many entries were evicted. Atomic: the read and the write happen under
    /// one lock. A result outside `-limit..=limit` (or i64) is refused with Overflow and
    /// nothing is stored; it never wraps. `ttl_ms` applies only when this call creates the
    /// key; an existing key keeps its TTL and version.
    ///
    /// Dependencies: the key keeps what it depends on (`EdgeRule::Keep`), so a counter
    /// written with `set_with` is still removed when one of its dependencies changes; what
    /// depends on the key is removed, since its value changed. A key `incr` creates depends
    /// on nothing (an absent key has no edges).
    pub fn incr(&self, key: &[u8], delta: i64, ttl_ms: Option<u64>, limit: i64) -> Result<(i64, u32), StoreError> {
        let written = self.write(Write {
            value: NewValue::AddInteger { delta, limit },
            ttl: TtlRule::Keep(ttl_ms),
            version: VersionRule::Keep,
            edges: EdgeRule::Keep,
            ..Write::set(key, b"", None)
        })?;
        let next = written.integer.expect("an AddInteger write under Condition::Always stores or fails");
        Ok((next, written.evicted))
    }

    /// Stores `next` only if the current value equals `expected` (`None`: only if absent).
    /// Returns whether it swapped, and how many entries were evicted. The entry keeps its TTL
    /// and version; a key `cas` creates has neither.
    ///
    /// Dependencies: on a swap, the key keeps what it depends on (`EdgeRule::Keep`) and what
    /// depends on it is removed, since its value changed. Without a swap nothing changes.
    pub fn cas(&self, key: &[u8], expected: Option<&[u8]>, next: &[u8]) -> Result<(bool, u32), StoreError> {
        let written = self.write(Write {
            ttl: TtlRule::Keep(None),
            version: VersionRule::Keep,
            edges: EdgeRule::Keep,
            condition: expected.map_or(Condition::IfAbsent, Condition::IfValue),
            ..Write::set(key, next, None)
        })?;
        Ok((written.stored, written.evicted))
    }

    /// A set with Redis's options: a condition (NX/XX), and `keep_ttl` (KEEPTTL) to keep the
    /// entry's TTL instead of replacing it with `ttl_ms` (which is still checked). Returns
    /// whether it stored, and the previous value if `want_old` (SET … GET). When it stores it
    /// is a plain `set`: unversioned, and the key depends on nothing afterwards.
    pub fn set_if(
        &self,
        key: &[u8],
        value: &[u8],
        ttl_ms: Option<u64>,
        condition: SetCondition,
        keep_ttl: bool,
        want_old: bool,
    ) -> Result<(bool, Option<Vec<u8>>), StoreError> {
        if keep_ttl {
            // `TtlRule::Keep(None)` would not look at `ttl_ms`; refuse a bad one all the same,
            // after the key, as every write does.
            Self::check_key(key)?;
            Self::check_ttl(ttl_ms)?;
        }
        let written = self.write(Write {
            ttl: if keep_ttl { TtlRule::Keep(None) } else { TtlRule::Set(ttl_ms) },
            condition: match condition {
                SetCondition::Always => Condition::Always,
                SetCondition::IfAbsent => Condition::IfAbsent,
                SetCondition::IfPresent => Condition::IfPresent,
            },
            return_old: want_old,
            ..Write::set(key, value, ttl_ms)
        })?;
        Ok((written.stored, written.old))
    }

    /// Sets (`Some`) or removes (`None`) the TTL of a live entry; returns whether it existed.
    /// The value, version and edges stay, and so does what depends on the key: a new TTL is
    /// not a new value. The entry counts as accessed (visited; first in its capped service's
    /// list). Counted in no stats counter.
    pub fn expire(&self, key: &[u8], ttl_ms: Option<u64>) -> Result<bool, StoreError> {
        let written = self.write(Write {
            value: NewValue::Unchanged,
            version: VersionRule::Keep,
            edges: EdgeRule::Keep,
            condition: Condition::IfPresent,
            counter: WriteCounter::None,
            ..Write::set(key, b"", ttl_ms)
        })?;
        Ok(written.stored)
    }
}
