//! Every tunable of the core in one place, each with the reason for its value.

/// [`MAX_KEY_BYTES`] as a literal token, so that messages built with `concat!` (the key
/// rule, `key::KEY_RULE`) spell the same number as the constant and cannot drift from it.
macro_rules! max_key_bytes {
    () => {
        250
    };
}
pub(crate) use max_key_bytes;

/// Keys are `svc:table:pk`; 250 bytes matches memcached's key limit, which is what most
/// teams already size their keys against, and lets a key length fit in a `u8`.
pub const MAX_KEY_BYTES: usize = max_key_bytes!();

/// Default byte budget of an embedded store: large enough for a useful working set,
/// small enough that forgetting to set it never surprises a container's memory limit.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Default largest single value. A cache entry above 1 MiB is nearly always a mistake
/// (Memcached uses the same default), and it bounds the cost of one copy on the hot path.
pub const DEFAULT_MAX_VALUE_BYTES: u64 = 1024 * 1024;

/// Hard ceiling for `maxValueBytes`: values cross N-API as `i32` lengths on the get path.
pub const MAX_VALUE_BYTES_LIMIT: u64 = 1 << 30;

/// What one entry costs beyond its key and value bytes, measured on x86-64 glibc by
/// `crates/localcached-node/tests/entry_overhead.rs` (mean 73.5, worst 80.0 over 16 store
/// sizes; the test fails if this constant drifts more than 6 bytes from the measured mean):
/// - 40 bytes: the slab slot (`Box<[u8]>` 16, SIEVE queue links 8, expiry-heap position 4,
///   table group id with the visited bit, and group links 12);
/// - ~2.5 bytes: the slab's spare capacity (it grows by an eighth at a time);
/// - ~14 bytes: the 8-byte hash-index slot at the index's average load (it doubles at 3/4);
/// - ~17 bytes: the allocator's 8-byte chunk header, its 16-byte rounding, and the two
///   header bytes (key length, flags) stored in front of the key.
pub const ENTRY_OVERHEAD_BYTES: u64 = 74;

/// What a table's group costs while it has entries (its `Group` record, its slot in the
/// name map at the map's average load, and the allocator's share of its name), charged on
/// top of its name's length. Estimated from the struct sizes, not measured.
pub const GROUP_OVERHEAD_BYTES: u64 = 160;

/// Per shard, services counted by name in stats; more share one `(other)` row, so a client
/// inventing service names cannot grow the stats without bound.
pub const MAX_TRACKED_SERVICES: usize = 1024;

/// Most keys one entry may depend on: enough for any derived value, and it bounds the
/// work and memory one `set` can add to the dependency graph.
pub const MAX_DEPENDENCIES: usize = 1024;

/// Extra cost of an entry written with a version: the 8-byte version stored with its key.
pub const VERSION_OVERHEAD_BYTES: u64 = 8;

/// Extra cost of an entry of a service with a byte cap (`svcCaps`): its two 4-byte links in
/// its service's recency list in the shard, stored with its key (so the cap evicts exactly
/// the service's least recently used entry of the shard in O(1)). Entries of uncapped
/// services do not carry them.
pub const CAPPED_OVERHEAD_BYTES: u64 = 8;

/// How many slab slots one scan call may examine per key it is asked for, so a filtered
/// scan of a large store still returns in bounded time (possibly with fewer keys).
pub const SCAN_EXAMINE_PER_KEY: usize = 10;

/// Extra cost of an entry that has a TTL: its 16-byte slot in the shard's expiry heap.
pub const TTL_OVERHEAD_BYTES: u64 = 16;

/// Shards per available core when the caller does not choose. More shards than cores keep
/// two threads from colliding on one lock; a small multiple keeps each shard a fair sample
/// of the whole store, so per-shard eviction stays close to global eviction (see `store.rs`).
pub const SHARDS_PER_CORE: usize = 4;

/// Upper bound on shards: beyond this, empty shards cost more than contention saves.
pub const MAX_SHARDS: usize = 1024;

/// Largest removal hand-off queue. A record holds a key inline (252 bytes), so a full queue
/// costs at most ~4 MiB; past it, records are counted as dropped and reported once.
pub const REMOVAL_QUEUE_CAPACITY: usize = 16 * 1024;

/// Records a removal queue keeps allocated after a drain (~252 KiB at 252 bytes each):
/// enough for a steady trickle between drains without reallocating, while the memory a
/// burst grew the queue to is given back.
pub const REMOVAL_QUEUE_RETAINED: usize = 1024;

/// Default sweeper interval: expired entries linger at most this long past their TTL
/// unless a read finds them first (a read never returns them).
pub const DEFAULT_SWEEP_INTERVAL_MS: u64 = 1000;

/// The largest TTL we accept: JavaScript's `Number.MAX_SAFE_INTEGER`, so every TTL a JS
/// caller can express exactly is accepted and none silently rounds.
pub const MAX_TTL_MS: u64 = (1 << 53) - 1;

/// Most keys one batch call may name where the binding bounds a batch (its packed `mget`
/// lookup, `MAX_BATCH` there today). A batch runs on the JS thread: at a few hundred nanoseconds per key, 10,000
/// keys keep one call within a few milliseconds, and their arguments within 2.5 MB of keys
/// (10,000 × `MAX_KEY_BYTES`). The core itself accepts any length; the binding enforces it.
pub const MAX_BATCH_KEYS: usize = 10_000;

/// Most keys one `scan` call may return (its `limit`). With `SCAN_EXAMINE_PER_KEY` that
/// bounds one call at 1,000,000 slots examined, and its reply at 25 MB of keys (100,000 ×
/// `MAX_KEY_BYTES`). The core itself accepts any limit; the binding enforces it.
pub const MAX_SCAN_LIMIT: usize = 100_000;

/// Most entries a snapshot save copies per shard-lock hold: a writer waits behind one batch
/// at most, a few tens of microseconds for small entries.
pub const SNAPSHOT_BATCH_ENTRIES: usize = 256;

/// A snapshot save interleaves shards by rank in at least this many steps per shard (a
/// batch is at most 1/64 of its shard's entries), so the file's order is within ~1.5% of
/// global insertion order and a smaller budget on load keeps the newest of every shard.
pub const SNAPSHOT_INTERLEAVE_STEPS: usize = 64;

/// Most value and key bytes a snapshot save copies per shard-lock hold (one larger entry is
/// copied alone): 256 KiB copies in ~20 µs, and it is the save's whole extra memory beside
/// its write buffer and the slot order it copies (4 bytes per entry).
pub const SNAPSHOT_BATCH_BYTES: usize = 256 * 1024;

/// Buffer between a snapshot save and its file, and a load and its file: large enough that
/// a 200 MB snapshot is ~800 system calls, small enough to be no memory concern.
pub const SNAPSHOT_IO_BUFFER_BYTES: usize = 256 * 1024;

/// Largest caller `meta` blob in a snapshot header. The daemon keeps its bridge position
/// and name there (a few hundred bytes of CBOR); 64 KiB leaves room and bounds what a
/// corrupt header can make a load allocate.
pub const SNAPSHOT_MAX_META_BYTES: usize = 64 * 1024;
