//! Saving a snapshot of a live store.
//!
//! The save copies each shard's order hottest first (`Shard::hottest_first_order`: the
//! visited slots, then the others, each part head to tail, newest first; one list walk per
//! shard lock, 4 bytes per entry), then copies entries out in batches of at
//! most `SNAPSHOT_BATCH_ENTRIES` entries or `SNAPSHOT_BATCH_BYTES` bytes per lock hold, so
//! a writer never waits long behind it. An entry removed since the order was copied is
//! skipped; a slot reused meanwhile is saved as its new entry (a key can then appear twice,
//! and a load keeps its first copy). Expired entries are left out. Visited bits and the hand
//! are not saved, the order carries them: a loaded store starts with every entry unvisited,
//! as if newly inserted in the saved order, so its first victims are the entries not read.
//!
//! Shards are interleaved by rank: the next batch always comes from the shard that is
//! proportionally least far along, so the file runs hottest to coldest across the whole
//! store, and a load into a smaller budget keeps the hottest entries of every shard.
//!
//! The file is written through a buffer to `<path>.tmp-<pid>-<n>` (mode 0600), fsynced,
//! renamed over `<path>` and its directory fsynced; on any failure before the rename the
//! temporary file is removed and the old file stays. Memory grows by the write buffer and
//! one batch, never by the data.

use super::error::SnapshotError;
use super::format::{encode_deps, encode_header, encode_record_head, Output};
use super::wall_now_ms;
use crate::constants::{SNAPSHOT_BATCH_BYTES, SNAPSHOT_IO_BUFFER_BYTES, SNAPSHOT_MAX_META_BYTES};
use crate::store::SavedEntry;
use crate::Store;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Default)]
pub struct SaveOptions<'a> {
    /// Opaque bytes kept in the header (the daemon's bridge position), at most
    /// `SNAPSHOT_MAX_META_BYTES`.
    pub meta: &'a [u8],
    /// Wall-clock now, in ms since the epoch; `None`: the system's (tests fix it).
    pub now_wall_ms: Option<u64>,
    /// Checked before each batch and before the rename: once set, the save stops with
    /// `Cancelled` and the old file stays (the binding sets it when the store closes).
    pub cancel: Option<&'a AtomicBool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveReport {
    pub entries: u64,
    /// The file's size.
    pub bytes: u64,
}

/// Numbers the temporary files of this process, so two saves never share one.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Saves `store` to `path` (see the module docs).
pub fn save(store: &Store, path: &Path, options: &SaveOptions<'_>) -> Result<SaveReport, SnapshotError> {
    check_meta(options.meta)?;
    let _serialized = store.snapshot_guard();
    let temp = temp_path(path);
    let result = create_private(&temp).map_err(SnapshotError::io("create temporary file")).and_then(|file| {
        let (report, file) = write_to(store, BufWriter::with_capacity(SNAPSHOT_IO_BUFFER_BYTES, file), options)?;
        let file = file.into_inner().map_err(|e| SnapshotError::Io { op: "write", source: e.into_error() })?;
        file.sync_all().map_err(SnapshotError::io("fsync"))?;
        drop(file);
        if options.cancel.is_some_and(|c| c.load(Ordering::Acquire)) {
            return Err(SnapshotError::Cancelled);
        }
        fs::rename(&temp, path).map_err(SnapshotError::io("rename into place"))?;
        Ok(report)
    });
    match result {
        Ok(report) => {
            // The rename is done; make it durable. (Failing here leaves the new file in place.)
            sync_dir(path).map_err(SnapshotError::io("fsync directory"))?;
            Ok(report)
        }
        Err(err) => {
            let _ = fs::remove_file(&temp);
            Err(err)
        }
    }
}

/// Writes a snapshot of `store` to `out` (no temporary file, no fsync): what `save` does
/// inside its file, and what tests use to get a snapshot's bytes.
pub fn save_to<W: Write>(store: &Store, out: W, options: &SaveOptions<'_>) -> Result<(SaveReport, W), SnapshotError> {
    check_meta(options.meta)?;
    let _serialized = store.snapshot_guard();
    write_to(store, out, options)
}

fn check_meta(meta: &[u8]) -> Result<(), SnapshotError> {
    if meta.len() > SNAPSHOT_MAX_META_BYTES {
        return Err(SnapshotError::MetaTooLarge { len: meta.len(), limit: SNAPSHOT_MAX_META_BYTES });
    }
    Ok(())
}

fn write_to<W: Write>(store: &Store, out: W, options: &SaveOptions<'_>) -> Result<(SaveReport, W), SnapshotError> {
    let wall = || options.now_wall_ms.unwrap_or_else(wall_now_ms);
    let mut out = Output::new(out);
    let mut heads = Vec::with_capacity(SNAPSHOT_BATCH_BYTES + 4096);
    encode_header(&mut heads, wall(), options.meta);
    out.write(&heads).map_err(SnapshotError::io("write"))?;
    let orders = store.snapshot_orders();
    let mut next = vec![0usize; orders.len()];
    let mut records = 0u64;
    // Per record of a batch: where its head is in `heads`, and its dependencies in `deps`.
    let mut marks: Vec<(usize, usize)> = Vec::new();
    let mut deps = Vec::new();
    let mut dep_ends: Vec<usize> = Vec::new();
    while let Some(shard) = least_along(&orders, &next) {
        if options.cancel.is_some_and(|c| c.load(Ordering::Acquire)) {
            return Err(SnapshotError::Cancelled);
        }
        heads.clear();
        marks.clear();
        let now_wall = wall();
        next[shard] = store.snapshot_batch(shard, &orders[shard], next[shard], |entry: SavedEntry<'_>, now| {
            let expiry_wall_ms = match entry.deadline {
                None => 0,
                Some(at) if at <= now => return,
                Some(at) => now_wall.saturating_add(at - now),
            };
            let start = heads.len();
            encode_record_head(&mut heads, entry.key, entry.version, expiry_wall_ms, entry.value);
            marks.push((start, heads.len()));
        });
        // Dependencies outside the shard lock, all of the batch's under one graph lock.
        deps.clear();
        dep_ends.clear();
        store.read_dependencies(|graph| {
            for &(start, _) in &marks {
                let key = &heads[start + 2..start + 2 + heads[start + 1] as usize];
                encode_deps(&mut deps, graph.map_or(&[], |g| g.depends_on(key)));
                dep_ends.push(deps.len());
            }
        });
        let mut dep_start = 0;
        for (&(start, end), &dep_end) in marks.iter().zip(&dep_ends) {
            out.write(&heads[start..end]).map_err(SnapshotError::io("write"))?;
            out.write(&deps[dep_start..dep_end]).map_err(SnapshotError::io("write"))?;
            dep_start = dep_end;
        }
        records += marks.len() as u64;
    }
    out.finish(records).map_err(SnapshotError::io("write"))?;
    let mut inner = out.inner;
    inner.flush().map_err(SnapshotError::io("write"))?;
    Ok((SaveReport { entries: records, bytes: out.written }, inner))
}

/// The shard with entries left whose position is the smallest fraction of its order.
fn least_along(orders: &[Vec<u32>], next: &[usize]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, order) in orders.iter().enumerate() {
        if next[i] >= order.len() {
            continue;
        }
        best = match best {
            // next[i] / len(i) < next[b] / len(b), without division.
            Some(b) if (next[i] as u128) * (orders[b].len() as u128) >= (next[b] as u128) * (order.len() as u128) => Some(b),
            _ => Some(i),
        };
    }
    best
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(format!(".tmp-{}-{}", std::process::id(), TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)));
    PathBuf::from(name)
}

/// A new file readable and writable by its owner only (mode 0600 on Unix).
fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes a rename in `path`'s directory durable (Unix; elsewhere the rename is all we do).
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
