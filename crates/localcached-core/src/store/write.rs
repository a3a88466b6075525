//! The one write path. Every public write (`set`, `set_versioned`, `set_with`, `mset`,
//! `table_changed_upsert`, `incr`, `cas`, `set_if`, `expire`; see `write_ops.rs`) describes
//! itself as a [`Write`] and hands it to [`Store::write`], which owns everything a write
//! does: validation, the shard work, the size limits, eviction, the stats counter, and the
//! key's dependency edges.
//!
//! Dependency edges, in one place: a key's *own* edges (what it depends on) follow the
//! write's [`EdgeRule`]; its *dependents* (what depends on it) are removed whenever the
//! write stores a new value, i.e. for every [`NewValue`] but `Unchanged`. A write that
//! does not store (its condition failed, or it was refused) changes no edge; only an
//! expired entry it found is removed first, as any removal is, edges and dependents too.

use super::{lock, Store};
use crate::cause::RemovalCause;
use crate::error::StoreError;
use crate::key::{describe_key, validate_key, KeyParts};
use std::borrow::Cow;
use std::sync::atomic::Ordering;

use super::write_ops::parse_integer;

/// One write, described in full before it runs.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    pub key: &'a [u8],
    pub value: NewValue<'a>,
    pub ttl: TtlRule,
    pub version: VersionRule,
    pub edges: EdgeRule<'a>,
    pub condition: Condition<'a>,
    pub counter: WriteCounter,
    /// Return the live value the key held before the write (Redis's SET … GET), whether or
    /// not the write stores.
    pub return_old: bool,
}

/// The value a write stores.
#[derive(Debug, Clone, Copy)]
pub enum NewValue<'a> {
    Bytes(&'a [u8]),
    /// The stored integer (0 if the key is absent) plus `delta`, stored as ASCII decimal.
    /// NotAnInteger if the stored value is not one (see `parse_integer`); Overflow, storing
    /// nothing, if the result leaves `-limit..=limit` or i64.
    AddInteger { delta: i64, limit: i64 },
    /// The stored value, as it is: a write of metadata (the TTL) only. Stores only if the key
    /// is present, and is not a new value, so the key's dependents stay.
    Unchanged,
}

/// The TTL the entry has after the write. Either way `ms` is checked (1 to `MAX_TTL_MS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlRule {
    /// Expire `ms` from now (`None`: never).
    Set(Option<u64>),
    /// Keep the live entry's TTL (or its lack of one); a new entry gets `ms` as for `Set`.
    Keep(Option<u64>),
}

/// The version the entry has after the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRule {
    /// No version: the entry is unversioned after the write, whatever it was before.
    Unversioned,
    /// Store with this version unless the live entry carries a higher one: then
    /// VersionConflict, counted in `versionConflicts`, and the stored entry stays.
    Checked(u64),
    /// Keep the live entry's version (or its lack of one); a new entry is unversioned.
    Keep,
}

impl From<Option<u64>> for VersionRule {
    fn from(version: Option<u64>) -> VersionRule {
        version.map_or(VersionRule::Unversioned, VersionRule::Checked)
    }
}

/// What the write does with what its key depends on. (What depends on the key is decided by
/// the value, see the module docs.)
#[derive(Debug, Clone, Copy)]
pub enum EdgeRule<'a> {
    /// From now on the key depends on exactly these keys (an empty list: on nothing). The
    /// old edges are dropped before this write's cascade runs and the new ones recorded
    /// after it, so a value is never removed by the cascade its own write started, even
    /// through a cycle. The new edges are charged, and may evict to make room.
    Replace(&'a [&'a [u8]]),
    /// The key keeps what it depended on: it is still removed when one of those changes.
    Keep,
    /// From now on the key depends on nothing.
    Clear,
}

/// When the write stores, judged on the live entry (an expired entry is removed first, and
/// counts as absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    Always,
    /// Only if the key is absent (Redis's NX; `cas` expecting nothing).
    IfAbsent,
    /// Only if the key is present (Redis's XX; `expire`).
    IfPresent,
    /// Only if the key is present with exactly this value (`cas`).
    IfValue(&'a [u8]),
}

/// Which statistics counter the write bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteCounter {
    /// `putCalls`: counted once the key, `dependsOn` and TTL are valid, under the shard lock
    /// and before anything else is decided, so also when the condition fails or the write is
    /// then refused (VersionConflict, ValueTooLarge, NotAnInteger, Overflow).
    Put,
    /// `tableChangedUpsertCalls`: counted only when the write stored.
    TableChangedUpsert,
    /// No counter (`expire`).
    None,
}

/// What a write did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Whether the condition held and the entry was stored.
    pub stored: bool,
    /// Entries evicted to make room for the entry and its dependency edges (not counting
    /// the entry's dependents, which are removed, not evicted).
    pub evicted: u32,
    /// The value before the write, if `return_old` asked for it and the key was present.
    pub old: Option<Vec<u8>>,
    /// The integer stored, for [`NewValue::AddInteger`].
    pub integer: Option<i64>,
}

impl<'a> Write<'a> {
    /// A plain `set`: always stores `value` with a new TTL, unversioned, depending on
    /// nothing, counted in `putCalls`.
    pub fn set(key: &'a [u8], value: &'a [u8], ttl_ms: Option<u64>) -> Write<'a> {
        Write {
            key,
            value: NewValue::Bytes(value),
            ttl: TtlRule::Set(ttl_ms),
            version: VersionRule::Unversioned,
            edges: EdgeRule::Clear,
            condition: Condition::Always,
            counter: WriteCounter::Put,
            return_old: false,
        }
    }
}

impl Store {
    /// Runs one write: checks the key, the dependencies named and the TTL; under the key's
    /// shard lock decides from the live entry whether and what to store, checks the size
    /// limits, stores, and evicts to restore the budget and caps; then, outside the lock,
    /// applies the write's [`EdgeRule`] and removes the key's dependents.
    pub fn write(&self, write: Write<'_>) -> Result<Written, StoreError> {
        let key = write.key;
        let parts = validate_key(key).map_err(|problem| StoreError::invalid_key(key, problem))?;
        if let EdgeRule::Replace(deps) = write.edges {
            Self::check_dependencies(deps)?;
        }
        let ttl_ms = match write.ttl {
            TtlRule::Set(ms) | TtlRule::Keep(ms) => ms,
        };
        Self::check_ttl(ttl_ms)?;
        let fresh_deadline = self.deadline_after(ttl_ms);
        let (home, hash) = self.locate(key);
        let mut written = match self.write_in_shard(&write, parts, home, hash, fresh_deadline) {
            Ok(written) => written,
            Err(err) => {
                // Removing an expired entry first may have queued its dependents.
                self.settle();
                return Err(err);
            }
        };
        if !written.stored {
            self.settle();
            return Ok(written);
        }
        // The key's own edges. Old ones go before this write's cascade runs (`settle`), new
        // ones are recorded after it: see `EdgeRule::Replace`.
        if !matches!(write.edges, EdgeRule::Keep) && self.has_dependencies() {
            self.forget_dependencies(key);
        }
        self.settle();
        if let EdgeRule::Replace(deps) = write.edges {
            if !deps.is_empty() {
                self.record_dependencies(key, deps);
                // The edges are charged too: make room for them as for any write.
                if self.over_budget() {
                    written.evicted += self.evict_elsewhere(home);
                    self.settle();
                }
            }
        }
        if write.counter == WriteCounter::TableChangedUpsert {
            self.table_changed_upsert_calls.fetch_add(1, Ordering::Relaxed);
        }
        Ok(written)
    }

    /// The part of `write` under the shard lock, and the evictions that follow it.
    fn write_in_shard(&self, write: &Write<'_>, parts: KeyParts, home: usize, hash: u32, fresh_deadline: Option<u64>) -> Result<Written, StoreError> {
        let key = write.key;
        let mut shard = lock(&self.shards[home]);
        if write.counter == WriteCounter::Put {
            shard.counters.put_calls += 1;
        }
        let mut found = shard.find(hash, key);
        if let Some(slot) = found {
            if self.is_expired(&shard, slot) {
                self.remove_slot(&mut shard, slot, RemovalCause::Expired);
                found = None;
            }
        }
        let old = if write.return_old { found.map(|slot| shard.value(slot).to_vec()) } else { None };
        let holds = match write.condition {
            Condition::Always => true,
            Condition::IfAbsent => found.is_none(),
            Condition::IfPresent => found.is_some(),
            Condition::IfValue(expected) => found.is_some_and(|slot| shard.value(slot) == expected),
        };
        let not_stored = Written { stored: false, evicted: 0, old, integer: None };
        if !holds {
            return Ok(not_stored);
        }
        if let (Some(slot), VersionRule::Checked(attempted)) = (found, write.version) {
            if let Some(stored) = shard.version(slot).filter(|&stored| attempted < stored) {
                shard.counters.version_conflicts += 1;
                return Err(StoreError::VersionConflict { stored, attempted });
            }
        }
        let (value, integer) = match write.value {
            NewValue::Bytes(bytes) => (Cow::Borrowed(bytes), None),
            NewValue::AddInteger { delta, limit } => {
                let current = match found {
                    Some(slot) => {
                        let value = shard.value(slot);
                        parse_integer(value).ok_or_else(|| StoreError::NotAnInteger { value_preview: describe_key(&value[..value.len().min(40)]) })?
                    }
                    None => 0,
                };
                let next = current.checked_add(delta).filter(|n| n.unsigned_abs() <= limit.unsigned_abs()).ok_or(StoreError::Overflow { current, delta, limit })?;
                (Cow::Owned(next.to_string().into_bytes()), Some(next))
            }
            NewValue::Unchanged => match found {
                // Copied: `replace` writes it back into the entry it is borrowed from.
                Some(slot) => (Cow::Owned(shard.value(slot).to_vec()), None),
                None => return Ok(not_stored),
            },
        };
        let deadline = match (write.ttl, found) {
            (TtlRule::Keep(_), Some(slot)) => shard.deadline(slot),
            _ => fresh_deadline,
        };
        let version = match write.version {
            VersionRule::Unversioned => None,
            VersionRule::Checked(version) => Some(version),
            VersionRule::Keep => found.and_then(|slot| shard.version(slot)),
        };
        self.check_fits(key, parts, value.len(), deadline.is_some(), version.is_some())?;
        if !matches!(write.value, NewValue::Unchanged) && self.has_dependencies() {
            // A new value: what was derived from the old one must go.
            self.queue_cascade(key);
        }
        let slot = match found {
            Some(slot) => {
                let (old, new) = shard.replace(slot, &value, deadline, version);
                if new != old {
                    self.charged.fetch_add(new, Ordering::AcqRel);
                    self.charged.fetch_sub(old, Ordering::AcqRel);
                }
                slot
            }
            None => {
                let (slot, new) = shard.insert(hash, key, parts, &value, deadline, version);
                shard.counters.insertions += 1;
                self.charged.fetch_add(new, Ordering::AcqRel);
                self.items.fetch_add(1, Ordering::AcqRel);
                slot
            }
        };
        let (mut evicted, cap) = self.evict_in_shard(&mut shard, slot);
        drop(shard);
        evicted += self.evict_after_write(home, cap);
        Ok(Written { stored: true, evicted, old: not_stored.old, integer })
    }
}
