// The limits the TypeScript layer names, each once. Those the Rust core also enforces are
// checked against the addon's own constants by tests/limits.test.ts, so the two cannot drift.

/** Longest key in bytes (the core's MAX_KEY_BYTES: memcached's key limit). */
export const MAX_KEY_BYTES = 250

/** Most keys (or entries) one batch request may carry: bounds a request's work and reply. */
export const MAX_BATCH_KEYS = 10_000

/** Most keys one scan page may return (the core's MAX_SCAN_LIMIT). */
export const MAX_SCAN_LIMIT = 100_000

/** Default for --max-tracked-keys: about 160 bytes each, so about 40 MB at most. */
export const DEFAULT_MAX_TRACKED_KEYS = 250_000

/** Default for --max-leases: one lease is a few dozen bytes; this bounds a runaway loader pool. */
export const DEFAULT_MAX_LEASES = 100_000

/** Longest RESP inline command line, as Redis's PROTO_INLINE_MAX_SIZE. */
export const RESP_MAX_INLINE_BYTES = 64 * 1024
