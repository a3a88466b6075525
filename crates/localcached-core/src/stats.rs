//! Store statistics and their binary form. The layout is documented in
//! `docs/stats-format.md`: a 4-byte magic `LCST`, a `u16` layout version, a `u16` field
//! count, then that many little-endian `u64` fields in the order of [`FIELD_NAMES`].
//! New fields are only ever appended, so an old reader keeps working on a newer stats blob.
//!
//! The core writes fields 12 and 15–17 (the daemon's pub/sub counters) as 0; the daemon
//! fills them, and appends fields of its own after the last field here, before the
//! per-service section. A reader finds that section from the header's field count.

pub const STATS_MAGIC: [u8; 4] = *b"LCST";
pub const STATS_VERSION: u16 = 1;
pub const STATS_HEADER_BYTES: usize = 8;

/// Field order on the wire; the JS decoder keeps the same table.
pub const FIELD_NAMES: [&str; 23] = [
    "startUnixMs",
    "getCalls",
    "getHits",
    "getMisses",
    "putCalls",
    "delCalls",
    "invalidateCalls",
    "tableChangedUpsertCalls",
    "evictions",
    "expiredRemovals",
    "bytesCurrent",
    "itemsCurrent",
    "subscribersCurrent",
    "bytesMax",
    "shards",
    "eventsPublished",
    "eventsDropped",
    "laggedNotices",
    "insertions",
    "versionConflicts",
    "invalidations",
    "maxKeys",
    "dependencyRemovals",
];

pub const STATS_BYTES: usize = STATS_HEADER_BYTES + FIELD_NAMES.len() * 8;

/// One service's share of the store, summed over its tables and shards.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceStats {
    pub name: Vec<u8>,
    pub bytes: u64,
    pub items: u64,
    pub hits: u64,
    pub misses: u64,
    /// The service's byte cap, 0 if none.
    pub cap: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub start_unix_ms: u64,
    pub get_calls: u64,
    pub get_hits: u64,
    pub get_misses: u64,
    pub put_calls: u64,
    pub del_calls: u64,
    pub invalidate_calls: u64,
    pub table_changed_upsert_calls: u64,
    pub evictions: u64,
    pub expired_removals: u64,
    pub bytes_current: u64,
    pub items_current: u64,
    /// Daemon-only (field 12): 0 from the core.
    pub subscribers_current: u64,
    pub bytes_max: u64,
    pub shards: u64,
    /// Daemon-only (fields 15–17): 0 from the core.
    pub events_published: u64,
    pub events_dropped: u64,
    pub lagged_notices: u64,
    pub insertions: u64,
    pub version_conflicts: u64,
    pub invalidations: u64,
    /// 0 when there is no key limit.
    pub max_keys: u64,
    pub dependency_removals: u64,
    /// Per service, after the fixed fields (see the module docs).
    pub services: Vec<ServiceStats>,
}

impl Stats {
    fn fields(&self) -> [u64; 23] {
        [
            self.start_unix_ms,
            self.get_calls,
            self.get_hits,
            self.get_misses,
            self.put_calls,
            self.del_calls,
            self.invalidate_calls,
            self.table_changed_upsert_calls,
            self.evictions,
            self.expired_removals,
            self.bytes_current,
            self.items_current,
            self.subscribers_current,
            self.bytes_max,
            self.shards,
            self.events_published,
            self.events_dropped,
            self.lagged_notices,
            self.insertions,
            self.version_conflicts,
            self.invalidations,
            self.max_keys,
            self.dependency_removals,
        ]
    }

    /// The fixed header and fields, then the per-service section: a `u32` count, and per
    /// service a `u8` name length, the name, and `bytes, items, hits, misses, cap` as `u64`s.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; STATS_BYTES];
        out[..4].copy_from_slice(&STATS_MAGIC);
        out[4..6].copy_from_slice(&STATS_VERSION.to_le_bytes());
        out[6..8].copy_from_slice(&(FIELD_NAMES.len() as u16).to_le_bytes());
        for (i, value) in self.fields().iter().enumerate() {
            let at = STATS_HEADER_BYTES + i * 8;
            out[at..at + 8].copy_from_slice(&value.to_le_bytes());
        }
        out.extend_from_slice(&(self.services.len() as u32).to_le_bytes());
        for s in &self.services {
            let name = &s.name[..s.name.len().min(u8::MAX as usize)];
            out.push(name.len() as u8);
            out.extend_from_slice(name);
            for v in [s.bytes, s.items, s.hits, s.misses, s.cap] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// Decodes a stats blob; fields beyond the ones this version knows are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Stats, String> {
        if bytes.len() < STATS_HEADER_BYTES || bytes[..4] != STATS_MAGIC {
            return Err("not a stats blob: missing LCST magic".into());
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != STATS_VERSION {
            return Err(format!("unsupported stats layout version {version}"));
        }
        let count = u16::from_le_bytes([bytes[6], bytes[7]]) as usize;
        if count < FIELD_NAMES.len() || bytes.len() < STATS_HEADER_BYTES + count * 8 {
            return Err(format!("stats blob too short: {count} fields in {} bytes", bytes.len()));
        }
        let field = |i: usize| {
            let at = STATS_HEADER_BYTES + i * 8;
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let mut services = Vec::new();
        let mut at = STATS_HEADER_BYTES + count * 8;
        if bytes.len() >= at + 4 {
            let n = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize;
            at += 4;
            for _ in 0..n {
                let len = *bytes.get(at).ok_or("stats service section truncated")? as usize;
                let end = at + 1 + len + 40;
                if bytes.len() < end {
                    return Err("stats service section truncated".into());
                }
                let name = bytes[at + 1..at + 1 + len].to_vec();
                let v = |i: usize| {
                    let mut word = [0u8; 8];
                    word.copy_from_slice(&bytes[at + 1 + len + i * 8..at + 1 + len + i * 8 + 8]);
                    u64::from_le_bytes(word)
                };
                services.push(ServiceStats { name, bytes: v(0), items: v(1), hits: v(2), misses: v(3), cap: v(4) });
                at = end;
            }
        }
        Ok(Stats {
            services,
            start_unix_ms: field(0),
            get_calls: field(1),
            get_hits: field(2),
            get_misses: field(3),
            put_calls: field(4),
            del_calls: field(5),
            invalidate_calls: field(6),
            table_changed_upsert_calls: field(7),
            evictions: field(8),
            expired_removals: field(9),
            bytes_current: field(10),
            items_current: field(11),
            subscribers_current: field(12),
            bytes_max: field(13),
            shards: field(14),
            events_published: field(15),
            events_dropped: field(16),
            lagged_notices: field(17),
            insertions: field(18),
            version_conflicts: field(19),
            invalidations: field(20),
            max_keys: field(21),
            dependency_removals: field(22),
        })
    }
}
