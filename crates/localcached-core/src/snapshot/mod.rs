//! Warm-restart snapshots: a store's entries written to one file and read back into a new
//! store, hottest first (each shard's visited entries, then the others), so a restarted process starts with
//! the working set it had.
//!
//! - `format.rs`: the file layout (header, records, trailer) and its checked reader;
//! - `crc32c.rs`: the checksum over the whole file, and why it is a CRC;
//! - `save.rs`: writing a snapshot of a live store, a few hundred entries per shard-lock
//!   hold, through a temporary file renamed into place;
//! - `load.rs`: reading one into an empty store, within its budget and caps;
//! - `error.rs`: what can be wrong, each with its JS error code.
//!
//! Saves and loads of one store are serialized (the store's snapshot lock): a second save
//! waits for the first, then writes its own, newer file.

mod crc32c;
mod error;
pub mod format;
mod load;
mod save;

pub use error::SnapshotError;
pub use load::{load, load_from, LoadOptions, LoadReport};
pub use save::{save, save_to, SaveOptions, SaveReport};

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it). Snapshots
/// keep expiries as wall-clock times: the store's own clock starts at 0 in each process.
pub fn wall_now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
