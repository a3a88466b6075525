//! Loading a snapshot into an empty store.
//!
//! One pass: each record is checked and inserted as it is read, and only at the trailer is
//! the checksum known; if anything is wrong there (or earlier), the store is cleared, so a
//! failed load leaves it empty, as it started. We insert while reading rather than verify
//! in a first pass because a snapshot can be gigabytes: a first pass would read it twice
//! (from disk, on a cold start), and the store being loaded is new and not yet serving, so
//! nobody sees its partial contents. Every length is bounded before it is allocated (see
//! `format.rs`), so even a corrupt file costs at most one `maxValueBytes` value at a time.
//!
//! Order: records come hottest first (see `save.rs`), and each is inserted at the tail of
//! its shard's SIEVE queue (unvisited), so every shard's queue order is the saved one. Once an
//! entry would take the store over its byte budget (or key limit), no further entry is
//! inserted: what is left is colder. An entry over its service's cap or over `maxValueBytes` is skipped alone.
//! Expired entries (wall-clock now at or past their expiry) are skipped; the others get
//! their remaining TTL on the store's clock. Versions and dependency edges come back with
//! their entries. When an entry is left out, what was restored depending on it is removed,
//! as it would have been when it expired or was evicted; an entry read after one of its
//! dependencies was left out keeps its edge, as a tag.

use super::error::SnapshotError;
use super::format::{read_header, read_record, Input, TAG_END, TAG_ENTRY};
use super::wall_now_ms;
use crate::constants::SNAPSHOT_IO_BUFFER_BYTES;
use crate::key::validate_key;
use crate::store::Restored;
use crate::Store;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

#[derive(Debug, Default, Clone, Copy)]
pub struct LoadOptions {
    /// Refuse (`TooOld`) a snapshot saved longer ago than this.
    pub max_age_ms: Option<u64>,
    /// Wall-clock now, in ms since the epoch; `None`: the system's (tests fix it).
    pub now_wall_ms: Option<u64>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadReport {
    pub loaded: u64,
    pub skipped_expired: u64,
    /// Over the byte budget or key limit, a service cap or `maxValueBytes`.
    pub skipped_over_budget: u64,
    /// When the snapshot was saved, wall-clock ms since the epoch.
    pub saved_at_ms: u64,
    /// The caller's blob given to the save.
    pub meta: Vec<u8>,
}

/// Loads the snapshot at `path` into `store`, which must be empty.
pub fn load(store: &Store, path: &Path, options: &LoadOptions) -> Result<LoadReport, SnapshotError> {
    let file = File::open(path).map_err(SnapshotError::io("open"))?;
    let len = file.metadata().map_err(SnapshotError::io("stat"))?.len();
    load_from(store, BufReader::with_capacity(SNAPSHOT_IO_BUFFER_BYTES, file), Some(len), options)
}

/// Loads a snapshot from `reader` (of `len` bytes, if known) into `store`, which must be
/// empty. On error the store is left empty.
pub fn load_from<R: Read>(store: &Store, reader: R, len: Option<u64>, options: &LoadOptions) -> Result<LoadReport, SnapshotError> {
    let _serialized = store.snapshot_guard();
    if !store.is_empty() {
        return Err(SnapshotError::StoreNotEmpty);
    }
    let result = read_into(store, Input::new(reader, len), options);
    if result.is_err() {
        store.clear();
    }
    result
}

fn read_into<R: Read>(store: &Store, mut input: Input<R>, options: &LoadOptions) -> Result<LoadReport, SnapshotError> {
    let header = read_header(&mut input)?;
    let now_wall = options.now_wall_ms.unwrap_or_else(wall_now_ms);
    if let Some(max_age_ms) = options.max_age_ms {
        let age_ms = now_wall.saturating_sub(header.saved_at_ms);
        if age_ms > max_age_ms {
            return Err(SnapshotError::TooOld { age_ms, max_age_ms });
        }
    }
    let mut report = LoadReport { saved_at_ms: header.saved_at_ms, meta: header.meta, ..LoadReport::default() };
    let mut records = 0u64;
    let mut full = false;
    loop {
        let at = input.offset;
        match input.u8()? {
            TAG_ENTRY => {}
            TAG_END => break,
            tag => return Err(input.corrupt(at, format!("unknown record tag {tag:#04x}"))),
        }
        let record = read_record(&mut input, store.max_value_bytes())?;
        records += 1;
        let expired = record.expiry_wall_ms != 0 && record.expiry_wall_ms <= now_wall;
        let restored = match (&record.value, expired, full) {
            (_, true, _) => None,
            (Some(value), false, false) => {
                let parts = validate_key(&record.key).map_err(|p| input.corrupt(at, format!("invalid key: {p}")))?;
                let deadline = (record.expiry_wall_ms != 0).then(|| store.clock().now_ms().saturating_add(record.expiry_wall_ms - now_wall));
                let deps: Vec<&[u8]> = record.deps.iter().map(Vec::as_slice).collect();
                Some(store.restore_entry(&record.key, parts, value, deadline, record.version, &deps))
            }
            _ => Some(Restored::DoesNotFit),
        };
        match restored {
            Some(Restored::Inserted) => report.loaded += 1,
            Some(Restored::Duplicate) => {}
            None | Some(Restored::OverBudget | Restored::DoesNotFit) => {
                if restored.is_none() {
                    report.skipped_expired += 1;
                } else {
                    report.skipped_over_budget += 1;
                }
                full |= restored == Some(Restored::OverBudget);
                store.restore_skipped(&record.key);
            }
        }
    }
    let count_at = input.offset;
    let count = input.u64()?;
    let computed = input.checksum();
    let stored = u32::from_le_bytes(input.read_unchecked::<4>()?);
    if stored != computed {
        return Err(SnapshotError::ChecksumMismatch { stored, computed });
    }
    if count != records {
        return Err(input.corrupt(count_at, format!("the trailer counts {count} records, the file has {records}")));
    }
    if !input.at_end()? {
        return Err(input.corrupt(input.offset, "bytes after the trailer"));
    }
    Ok(report)
}
