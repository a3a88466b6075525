//! Limits of the binding's own arguments, which the core has no use for (the store's limits,
//! batch and scan sizes included, are `localcached_core::constants`).

/// Longest sweeper interval `sweepIntervalMs` accepts: one day (0 turns the sweeper off).
pub const MAX_SWEEP_INTERVAL_MS: u64 = 24 * 3600 * 1000;

/// Longest name of a shared store (`openStore`), in UTF-8 bytes.
pub const MAX_STORE_NAME_BYTES: usize = 200;
