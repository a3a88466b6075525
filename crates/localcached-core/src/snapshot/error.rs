//! Why a snapshot could not be saved or loaded: one variant per thing that can be wrong,
//! each naming it, and the stable code the JS side exposes as `err.code`.

use std::fmt;
use std::io;

#[derive(Debug)]
pub enum SnapshotError {
    /// Reading or writing the file (or its directory) failed; `op` says which step.
    Io { op: &'static str, source: io::Error },
    /// The file does not start with the snapshot magic: not a snapshot (or a foreign file).
    NotSnapshot,
    /// The file ends at `offset`, inside the header, a record or the trailer.
    Truncated { offset: u64 },
    /// A field at `offset` is impossible (a length over its limit or past the file's end,
    /// an unknown record tag or flag, an invalid key, a wrong record count, bytes after the
    /// trailer).
    Corrupt { offset: u64, what: String },
    /// The checksum in the trailer is not that of the bytes before it.
    ChecksumMismatch { stored: u32, computed: u32 },
    /// Written by a format version this build does not read.
    UnsupportedVersion { found: u32, supported: u32 },
    /// Written under other key rules or limits (see `format::fingerprint`).
    FingerprintMismatch { found: u64, expected: u64 },
    /// Saved longer ago than the load's `max_age_ms` allows.
    TooOld { age_ms: u64, max_age_ms: u64 },
    /// A load needs an empty store.
    StoreNotEmpty,
    /// A save's `meta` is over `SNAPSHOT_MAX_META_BYTES`.
    MetaTooLarge { len: usize, limit: usize },
    /// The save was cancelled (its store was closed); the old file stays.
    Cancelled,
}

impl SnapshotError {
    pub fn io(op: &'static str) -> impl FnOnce(io::Error) -> SnapshotError {
        move |source| SnapshotError::Io { op, source }
    }

    /// The stable code of the JS error table (`ts/errors.ts`).
    pub fn code(&self) -> &'static str {
        match self {
            SnapshotError::Io { .. } | SnapshotError::Cancelled => "SnapshotIo",
            SnapshotError::NotSnapshot | SnapshotError::Truncated { .. } | SnapshotError::Corrupt { .. } | SnapshotError::ChecksumMismatch { .. } => "SnapshotCorrupt",
            SnapshotError::UnsupportedVersion { .. } | SnapshotError::FingerprintMismatch { .. } => "SnapshotIncompatible",
            SnapshotError::TooOld { .. } => "SnapshotTooOld",
            SnapshotError::StoreNotEmpty | SnapshotError::MetaTooLarge { .. } => "BadArgument",
        }
    }
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::Io { op, source } => write!(f, "snapshot {op} failed: {source}"),
            SnapshotError::NotSnapshot => f.write_str("not a localcached snapshot: the file does not start with the snapshot magic"),
            SnapshotError::Truncated { offset } => write!(f, "snapshot is truncated: it ends at byte {offset}, before its trailer"),
            SnapshotError::Corrupt { offset, what } => write!(f, "snapshot is corrupt at byte {offset}: {what}"),
            SnapshotError::ChecksumMismatch { stored, computed } => {
                write!(f, "snapshot checksum mismatch: the trailer says {stored:08x}, the bytes give {computed:08x}")
            }
            SnapshotError::UnsupportedVersion { found, supported } => {
                write!(f, "snapshot format version {found} is not supported (this build reads version {supported})")
            }
            SnapshotError::FingerprintMismatch { found, expected } => write!(
                f,
                "snapshot was written under other key rules or limits (fingerprint {found:016x}, this build has {expected:016x})"
            ),
            SnapshotError::TooOld { age_ms, max_age_ms } => {
                write!(f, "snapshot is {age_ms} ms old, over the allowed {max_age_ms} ms")
            }
            SnapshotError::StoreNotEmpty => f.write_str("a snapshot loads only into an empty store"),
            SnapshotError::MetaTooLarge { len, limit } => write!(f, "snapshot meta of {len} bytes is over {limit} bytes"),
            SnapshotError::Cancelled => f.write_str("snapshot save cancelled: the store was closed; the previous file is kept"),
        }
    }
}

impl std::error::Error for SnapshotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SnapshotError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
