//! Limits of the binding's arguments that localcached-core does not define. Each belongs
//! with the core's constants (`localcached_core::constants`) once the core owns it; until
//! then this is their one place in the binding.

/// Most keys one `mgetPacked` call may carry: the wire protocol's batch limit
/// (`MAX_BATCH_KEYS` in ts/protocol/messages.ts).
pub const MAX_BATCH_KEYS: usize = 10_000;

/// Largest `limit` of one `scan` call: the wire protocol's (ts/protocol/messages.ts). The
/// core bounds each call's work by `SCAN_EXAMINE_PER_KEY` times this.
pub const MAX_SCAN_KEYS: u64 = 100_000;

/// Longest sweeper interval `sweepIntervalMs` accepts: one day (0 turns the sweeper off).
pub const MAX_SWEEP_INTERVAL_MS: u64 = 24 * 3600 * 1000;

/// Longest name of a shared store (`openStore`), in UTF-8 bytes.
pub const MAX_STORE_NAME_BYTES: usize = 200;
