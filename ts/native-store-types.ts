// The options and results of NativeStore's methods: the embedded store's public shapes.

export interface NativeStoreOptions {
  /** Byte budget for keys + values + per-entry overhead. Default 64 MiB. */
  maxBytes?: number
  /** Shard count, rounded up to a power of two. Default: 4 × cores. */
  shards?: number
  /** Largest value accepted. Default 1 MiB. */
  maxValueBytes?: number
  /** How often the sweeper thread removes expired entries. Default 1000; 0 turns it off. */
  sweepIntervalMs?: number
  /** 'manual' makes time move only through advanceClock(), for tests. Default 'system'. */
  clock?: 'system' | 'manual'
  /** At most this many entries; past it, entries are evicted as for maxBytes (SIEVE per shard). */
  maxKeys?: number
  /**
   * Byte caps per service, e.g. `{ orders: 64 * 1024 * 1024 }`: a service over its cap
   * evicts its own least recently used entries, never another service's. The write that
   * takes it over evicts first from its key's own shard, exactly the service's least
   * recently used entries there (across all its tables, never the entry just written),
   * then if still over, from the other shards one at a time in shard order (next index,
   * wrapping), each exact LRU within the service (its own list, apart from the shard's
   * SIEVE queue), across shards an approximation. "Used" means stored or read by a hit
   * (`has` and scans do not count).
   * Each entry of a capped service is charged 8 bytes more (its service recency links).
   */
  svcCaps?: Record<string, number>
}

export interface TtlOptions {
  /** Time to live in milliseconds, a positive integer. Omit for no expiry. */
  ttlMs?: number
}

export interface SetOptions extends TtlOptions {
  /**
   * A non-negative integer (a row's database version or LSN, say). A write whose version is
   * lower than the stored entry's is refused with VersionConflict and the stored value stays;
   * an equal version is accepted. A write without a version always succeeds and leaves the
   * entry unversioned.
   */
  version?: number
  /**
   * Keys this value was derived from: when any of them is invalidated, deleted, replaced,
   * evicted or expires, this entry is removed too (transitively, and safely through cycles),
   * and reported to onRemoval with cause 'dependency'. A tag is a dependency on a key that is
   * never stored: depend on `tags:product:42`, then `invalidate('tags:product:42')`.
   */
  dependsOn?: readonly string[]
}

/** tableChangedUpsert()'s options: an upsert carries a TTL and a version, never dependencies. */
export interface UpsertOptions extends TtlOptions {
  /** As SetOptions.version. */
  version?: number
}

/** How setIf() decides whether to store. */
export interface SetIfOptions extends TtlOptions {
  /** 'always' (default), 'absent' (Redis's NX) or 'present' (Redis's XX). */
  when?: 'always' | 'absent' | 'present'
  /** Keep the entry's current TTL instead of applying `ttlMs` (Redis's KEEPTTL). */
  keepTtl?: boolean
  /** Also return the value stored before this call (Redis's GET option). */
  returnOld?: boolean
}

export interface SetIfResult {
  /** Whether the value was stored. */
  stored: boolean
  /** The previous value when `returnOld` was asked (null if there was none), else null. */
  old: Buffer | null
}

/** Largest and smallest values incrInt64() works with: a signed 64-bit integer. */
export const INT64_MAX = 2n ** 63n - 1n
export const INT64_MIN = -(2n ** 63n)

export interface EntryMeta {
  value: Buffer
  version: number | null
  /** Milliseconds left before it expires, or null if it has no TTL. */
  ttlMs: number | null
}

export interface KeysOptions {
  svc?: string
  table?: string
  /** Keys that start with this. */
  prefix?: string
  /** At most this many keys per call (default 100, at most 100000). */
  limit?: number
  /** Where the previous call stopped; omit to start. */
  cursor?: string
}

export interface KeysPage {
  keys: string[]
  /** Pass back to continue; null when the scan is done. */
  cursor: string | null
}

export type Value = Buffer | Uint8Array | string

export interface SaveSnapshotOptions {
  /** Opaque bytes kept in the snapshot's header (at most 64 KiB), handed back on load. */
  meta?: Buffer | Uint8Array
  /**
   * 'idle' (default): the save thread runs at the lowest CPU priority (SCHED_IDLE on Linux), so
   * it never takes CPU from serving; on a saturated machine it waits for idle time. 'normal':
   * an ordinary thread, for a save that must finish promptly and serves nobody meanwhile.
   */
  priority?: 'idle' | 'normal'
}

export interface SaveSnapshotResult {
  /** Entries written (expired ones are left out). */
  entries: number
  /** The file's size in bytes. */
  bytes: number
}

export interface FromSnapshotOptions extends NativeStoreOptions {
  /** Start empty (status 'rejected', code SnapshotTooOld) if the snapshot is older than this. */
  snapshotMaxAgeMs?: number
}

/** How NativeStore.fromSnapshot() started the store (`store.snapshotLoad`). */
export interface SnapshotLoad {
  /** 'missing': no file, the store starts empty; 'rejected': the file could not be used. */
  status: 'loaded' | 'missing' | 'rejected'
  loaded: number
  skippedExpired: number
  /** Left out for the byte budget, key limit, a service cap or maxValueBytes (the coldest). */
  skippedOverBudget: number
  /** When the snapshot was saved (ms since the epoch); 0 unless loaded. */
  savedAtMs: number
  /** The save's `meta`, when loaded. */
  meta?: Buffer
  /** Why the file was rejected: a LocalCachedError code and message. */
  reason?: { code: string; message: string }
  /** Where a rejected file was moved (`<file>.corrupt-<ISO time without colons>`). */
  movedTo?: string
}

/**
 * What get(), getWithMeta() and mgetPacked() return instead of a packed slab position (and
 * getInto() instead of a length): a miss, a miss that found the entry expired (its removal
 * is queued), and (mgetPacked only) a value handed over in the overflow array. The binding exports the same numbers as
 * READ_MISS, READ_MISS_EXPIRED and READ_IN_OVERFLOW; tests/limits.test.ts checks they agree.
 */
export const READ_CODES = { miss: -1, missExpired: -2, inOverflow: -3 } as const
