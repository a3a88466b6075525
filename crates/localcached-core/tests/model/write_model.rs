//! The reference for the write descriptor: entries with values, deadlines and versions, the
//! dependency edges between keys, and the counters writes bump, kept the obvious way (maps
//! and sets, a cascade computed by brute force). No byte budget pressure: the test that uses
//! it gives the store room for everything, so nothing is evicted and the model is exact.

use localcached_core::constants::{ENTRY_OVERHEAD_BYTES, GROUP_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES, VERSION_OVERHEAD_BYTES};
use localcached_core::deps::EDGE_OVERHEAD_BYTES;
use localcached_core::key::validate_key;
use localcached_core::store::parse_integer;
use localcached_core::RemovalCause;
use std::collections::{BTreeMap, BTreeSet};

pub type Removals = Vec<(Vec<u8>, RemovalCause)>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub value: Vec<u8>,
    pub deadline: Option<u64>,
    pub version: Option<u64>,
}

/// The value a model write stores (mirrors `NewValue`).
pub enum Value<'a> {
    Bytes(&'a [u8]),
    Add { delta: i64, limit: i64 },
    Unchanged,
}

/// What the model write does with the key's own edges (mirrors `EdgeRule`).
pub enum Edges<'a> {
    Replace(&'a [Vec<u8>]),
    Keep,
    Clear,
}

pub enum Cond<'a> {
    Always,
    IfAbsent,
    IfPresent,
    IfValue(&'a [u8]),
}

pub enum Version {
    Unversioned,
    Checked(u64),
    Keep,
}

pub struct ModelWrite<'a> {
    pub key: &'a [u8],
    pub value: Value<'a>,
    /// `(keep, ms)`: keep the live entry's TTL (a new entry gets `ms`), or set `ms`.
    pub ttl: (bool, Option<u64>),
    pub version: Version,
    pub edges: Edges<'a>,
    pub cond: Cond<'a>,
    /// Counted in putCalls (otherwise, if `upsert`, in tableChangedUpsertCalls on success).
    pub put: bool,
    pub upsert: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    VersionConflict,
    NotAnInteger,
    Overflow,
}

/// What a model write did: stored, the old value, the integer stored.
pub type Outcome = (bool, Option<Vec<u8>>, Option<i64>);

#[derive(Default)]
pub struct WriteModel {
    pub entries: BTreeMap<Vec<u8>, Entry>,
    /// key → what it depends on (only stored keys have edges).
    pub deps: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>>,
    pub now: u64,
    pub puts: u64,
    pub upserts: u64,
    pub conflicts: u64,
    pub insertions: u64,
    pub dependency_removals: u64,
}

impl WriteModel {
    fn live(&self, key: &[u8]) -> Option<&Entry> {
        self.entries.get(key).filter(|e| e.deadline.is_none_or(|d| d > self.now))
    }

    /// Charged bytes. Each shard charges its own record for a table, so the caller says
    /// which shard holds a key (the hash is seeded at random; the placement is the store's).
    pub fn bytes(&self, shard_of: impl Fn(&[u8]) -> usize) -> u64 {
        let mut tables = BTreeSet::new();
        let mut total = 0;
        for (key, e) in &self.entries {
            total += (key.len() + e.value.len()) as u64
                + ENTRY_OVERHEAD_BYTES
                + if e.deadline.is_some() { TTL_OVERHEAD_BYTES } else { 0 }
                + if e.version.is_some() { VERSION_OVERHEAD_BYTES } else { 0 };
            tables.insert((shard_of(key), key[..validate_key(key).unwrap().table_end].to_vec()));
        }
        total += tables.iter().map(|(_, t)| GROUP_OVERHEAD_BYTES + t.len() as u64).sum::<u64>();
        for (key, deps) in &self.deps {
            total += deps.iter().map(|d| 2 * (d.len() + key.len()) as u64 + EDGE_OVERHEAD_BYTES).sum::<u64>();
        }
        total
    }

    /// Removes `key`'s dependents, transitively: each edge to a changed key is consumed, and
    /// each dependent removed takes its own edges with it.
    fn cascade(&mut self, start: &[u8], out: &mut Removals) {
        let mut queue = vec![start.to_vec()];
        while let Some(changed) = queue.pop() {
            let dependents: Vec<Vec<u8>> = self.deps.iter().filter(|(_, d)| d.contains(&changed)).map(|(k, _)| k.clone()).collect();
            for k in &dependents {
                let own = self.deps.get_mut(k).unwrap();
                own.remove(&changed);
                if own.is_empty() {
                    self.deps.remove(k);
                }
            }
            for k in dependents {
                if self.entries.remove(&k).is_some() {
                    self.deps.remove(&k);
                    self.dependency_removals += 1;
                    out.push((k.clone(), RemovalCause::Dependency));
                    queue.push(k);
                }
            }
        }
    }

    /// Removes `key` (reporting `cause` if it is reported) and its dependents.
    pub fn remove(&mut self, key: &[u8], cause: Option<RemovalCause>, out: &mut Removals) {
        self.entries.remove(key);
        self.deps.remove(key);
        if let Some(cause) = cause {
            out.push((key.to_vec(), cause));
        }
        self.cascade(key, out);
    }

    /// Removes `key` if it has expired; returns whether it had.
    pub fn expire_if_due(&mut self, key: &[u8], out: &mut Removals) -> bool {
        let due = self.entries.get(key).is_some_and(|e| e.deadline.is_some_and(|d| d <= self.now));
        if due {
            self.remove(key, Some(RemovalCause::Expired), out);
        }
        due
    }

    /// `delete` (`invalidate: false`) or `invalidate`: a live key goes with its dependents;
    /// `invalidate` of an absent key still removes its dependents (it may be a tag).
    pub fn delete(&mut self, key: &[u8], invalidate: bool, out: &mut Removals) -> bool {
        if self.expire_if_due(key, out) {
            return false;
        }
        let existed = self.entries.contains_key(key);
        if existed || invalidate {
            self.remove(key, None, out);
        }
        existed
    }

    pub fn sweep(&mut self, out: &mut Removals) -> usize {
        let due: Vec<Vec<u8>> = self.entries.iter().filter(|(_, e)| e.deadline.is_some_and(|d| d <= self.now)).map(|(k, _)| k.clone()).collect();
        // Every expired entry goes first (as expired), then their dependents: the store
        // runs the cascade once the sweep is done.
        for k in &due {
            self.entries.remove(k);
            self.deps.remove(k);
            out.push((k.clone(), RemovalCause::Expired));
        }
        for k in &due {
            self.cascade(k, out);
        }
        due.len()
    }

    pub fn write(&mut self, w: ModelWrite<'_>, out: &mut Removals) -> Result<Outcome, Failure> {
        if w.put {
            self.puts += 1;
        }
        self.expire_if_due(w.key, out);
        let live = self.entries.get(w.key).cloned();
        let old = live.as_ref().map(|e| e.value.clone());
        let holds = match w.cond {
            Cond::Always => true,
            Cond::IfAbsent => live.is_none(),
            Cond::IfPresent => live.is_some(),
            Cond::IfValue(expected) => old.as_deref() == Some(expected),
        };
        if !holds {
            return Ok((false, old, None));
        }
        if let (Some(e), Version::Checked(v)) = (&live, &w.version) {
            if e.version.is_some_and(|stored| *v < stored) {
                self.conflicts += 1;
                return Err(Failure::VersionConflict);
            }
        }
        let (value, integer) = match w.value {
            Value::Bytes(b) => (b.to_vec(), None),
            Value::Add { delta, limit } => {
                let current = match &old {
                    Some(v) => parse_integer(v).ok_or(Failure::NotAnInteger)?,
                    None => 0,
                };
                let next = current.checked_add(delta).filter(|n| n.unsigned_abs() <= limit.unsigned_abs()).ok_or(Failure::Overflow)?;
                (next.to_string().into_bytes(), Some(next))
            }
            Value::Unchanged => match &old {
                Some(v) => (v.clone(), None),
                None => return Ok((false, old, None)),
            },
        };
        let fresh = w.ttl.1.map(|ms| self.now + ms);
        let deadline = match (&live, w.ttl.0) {
            (Some(e), true) => e.deadline,
            _ => fresh,
        };
        let version = match w.version {
            Version::Unversioned => None,
            Version::Checked(v) => Some(v),
            Version::Keep => live.as_ref().and_then(|e| e.version),
        };
        if live.is_none() {
            self.insertions += 1;
        }
        self.entries.insert(w.key.to_vec(), Entry { value, deadline, version });
        if !matches!(w.edges, Edges::Keep) {
            self.deps.remove(w.key);
        }
        if !matches!(w.value, Value::Unchanged) {
            self.cascade(w.key, out);
        }
        if let Edges::Replace(deps) = w.edges {
            let own: BTreeSet<Vec<u8>> = deps.iter().filter(|d| d.as_slice() != w.key).cloned().collect();
            if !own.is_empty() {
                self.deps.insert(w.key.to_vec(), own);
            }
        }
        if w.upsert {
            self.upserts += 1;
        }
        Ok((true, old, integer))
    }

    /// What a read sees: the live entry, or nothing.
    pub fn read(&self, key: &[u8]) -> Option<&Entry> {
        self.live(key)
    }
}
