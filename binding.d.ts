// Types for exactly what the native `.node` file exports (crates/localcached-node).
// This surface is raw and terse on purpose; the friendly API is in ts/.

/** Options read by the native constructor; every field is optional. */
export interface RawStoreOptions {
  maxBytes?: number
  shards?: number
  maxValueBytes?: number
  /** 0 turns the sweeper thread off. */
  sweepIntervalMs?: number
  clock?: 'system' | 'manual'
  maxKeys?: number
  /** `[[svc, bytes], …]`. */
  svcCaps?: Array<[string, number]>
}

/**
 * Drained removals, flat: `[key, cause, key, cause, …, dropped]` where cause is
 * 1 (evicted), 2 (expired) or 5 (dependency) and `dropped` counts removals lost to overflow.
 */
export type RawRemovalBatch = Array<string | number>

/**
 * One store's functions. Each is bound to the store natively, so call them as plain
 * functions; they stay valid (throwing `Closed`) after `close()`.
 */
export interface RawStore {
  /** Registers the slab (at most 32 KiB) that `get` copies values into; resets its offset. */
  setScratch(scratch: Buffer): void
  /**
   * ≥ 0: a hit copied into the slab, packed as `offset << 16 | length`; `READ_MISS`: miss;
   * `READ_MISS_EXPIRED`: miss because it expired (a removal is queued); a Buffer: the value,
   * when it did not fit in what is left of the slab.
   */
  get(key: string): number | Buffer
  /**
   * A hit: the value's length n, with the value copied to `target[offset..]` only if
   * n ≤ target.length − offset (else nothing is written). `READ_MISS` or
   * `READ_MISS_EXPIRED` for a miss. Counted as a get. BadArgument for a target that is not
   * a Buffer/Uint8Array or an offset that is not an integer from 0 to target.length.
   */
  getInto(key: string, target: Uint8Array, offset: number): number
  /** A benchmark probe: reads the key as every keyed call does and returns; touches no store. */
  noop(key: string): void
  /** Returns 1 when removals wait to be drained (evictions, a dependency cascade), else 0. VersionConflict if `version` is older than the stored one. */
  set(key: string, value: Uint8Array | string, ttlMs: number | undefined, version?: number, dependsOn?: string[]): number
  /** `set` of the key `svc:table:pk`, counted as an upsert; returns as `set` does. */
  tableChangedUpsert(svc: string, table: string, pk: string, value: Uint8Array | string, ttlMs: number | undefined, version?: number): number
  /**
   * The fast batch read: keys joined by '\n', results into `out` as `get` packs them,
   * `READ_IN_OVERFLOW` where the value is in `overflow[i]` as its own Buffer.
   */
  mgetPacked(joinedKeys: string, count: number, out: Int32Array, overflow: Buffer[]): void
  /**
   * A run of gets (a daemon door's consecutive GETs) in one call: the key i is the bytes
   * `source[spans[2i]..spans[2i+1]]`. `results[i]`: the value's length n ≥ 0 when it was
   * copied into `target` (values follow each other from `target[0]`), `READ_MISS`,
   * `READ_MISS_EXPIRED` (its removal is queued), or `READ_IN_OVERFLOW` when it did not fit
   * in what is left of `target` and is in `overflow[i]`. Returns how many keys were read:
   * fewer than `count` after a value in overflow, before a key that broke the key rule (then
   * `failure` holds `[code, message]`; nothing was counted), before a non-ASCII key left to
   * `get` (`failure` untouched), or with `stopAtMiss` after a miss. Each key is counted as `get` counts it. BadArgument for an
   * argument of the wrong type, a span outside `source`, `results` shorter than `count`, or a
   * `target`/`results` sharing bytes with another argument.
   */
  getRun(source: Uint8Array, spans: Int32Array, count: number, target: Uint8Array, results: Int32Array, overflow: Buffer[], failure: unknown[], stopAtMiss?: boolean): number
  /**
   * A run of plain puts (`set(key, value)` without options) in one call: put i stores
   * `source[spans[4i+2]..spans[4i+3]]` under the key `source[spans[4i]..spans[4i+1]]`.
   * Returns `2 × done + pending`: `done` puts stored; `pending` 1 when the last one left
   * removals to drain (the run stops there). Stops before a put that failed (storing
   * nothing; `failure` holds `[code, message]`) or before a non-ASCII key left to `set`.
   */
  putRun(source: Uint8Array, spans: Int32Array, count: number, failure: unknown[]): number
  /** A miss as `get` returns it, or `[value as get returns it, version | null, ttlMs remaining | null]`. */
  getWithMeta(key: string): number | [number | Buffer, number | null, number | null]
  /** All or nothing: every key and value is checked before any is stored. Returns 1 when removals wait to be drained. */
  mset(keys: string[], values: Array<Uint8Array | string>, ttlMs: number | undefined): number
  /** For each key, whether it existed. */
  mdel(keys: string[]): boolean[]
  /** How many of the keys are present (a key named twice counts twice). */
  exists(keys: string[]): number
  /** The new value; NotAnInteger, or Overflow outside ±(2^53 − 1). */
  incr(key: string, delta: number, ttlMs: number | undefined): number
  /** Whether it swapped; `expected` null means "only if absent". */
  cas(key: string, expected: Uint8Array | string | null, next: Uint8Array | string): boolean
  /** `[keys, next cursor | null]`. */
  scan(cursor: string | null, svc: string | undefined, table: string | undefined, prefix: string | undefined, limit: number): [string[], string | null]
  /** Drops every entry (no removal notices); returns how many. */
  clear(): number
  /** Redis's SET: condition 0 always, 1 only if absent (NX), 2 only if present (XX); KEEPTTL; GET. */
  setIf(key: string, value: Uint8Array | string, ttlMs: number | undefined, condition: 0 | 1 | 2, keepTtl: boolean, wantOld: boolean): [boolean, Buffer | null]
  /** Sets (or with null removes) a live entry's TTL; returns whether it existed. */
  expire(key: string, ttlMs: number | null): boolean
  /** incr over the whole i64 range, in decimal text (Redis's INCRBY). */
  incrText(key: string, delta: string, ttlMs: number | undefined): string
  /** Each removes the matching entries (no removal notices) and returns how many. */
  invalidateTable(svc: string, table: string): number
  invalidateService(svc: string): number
  invalidatePrefix(prefix: string): number
  has(key: string): boolean
  delete(key: string): boolean
  invalidate(key: string): boolean
  sweep(): number
  advanceClock(ms: number): void
  setRecording(on: boolean): void
  drainRemovals(): RawRemovalBatch
  statsBinary(): Buffer
  /**
   * Writes a snapshot of the store to `path` on a background thread (the JS thread keeps
   * serving), at idle priority unless `idle` is false: through `<path>.tmp-<pid>-<n>` (mode
   * 0600), fsynced, renamed into place. `meta` (at most 64 KiB) is kept in the header as is.
   * A second save of the same store waits for the first. Closing the store cancels a running
   * save. Rejects with SnapshotIo (the previous file stays) or BadArgument.
   */
  saveSnapshot(path: string, meta?: Buffer | Uint8Array, idle?: boolean): Promise<RawSaveReport>
  /**
   * Loads the snapshot at `path` into this store, which must be empty, on a background
   * thread, hottest entries first, within the store's budget and caps. Rejects with
   * SnapshotIo (including a missing file), SnapshotCorrupt, SnapshotIncompatible,
   * SnapshotTooOld (saved more than `maxAgeMs` ago) or BadArgument; a rejected load leaves
   * the store empty.
   */
  loadSnapshot(path: string, maxAgeMs?: number): Promise<RawLoadReport>
  close(): void
}

/** What `saveSnapshot` wrote: entries, and the file's size in bytes. */
export interface RawSaveReport {
  entries: number
  bytes: number
}

/** What `loadSnapshot` restored. */
export interface RawLoadReport {
  loaded: number
  skippedExpired: number
  /** Over the byte budget or key limit, a service cap, or maxValueBytes. */
  skippedOverBudget: number
  /** When the snapshot was saved, ms since the epoch. */
  savedAtMs: number
  /** The `meta` given to the save (empty if none). */
  meta: Buffer
}

/** `onRemovals` is called on the JS thread with batches the sweeper thread queued. */
export declare function createStore(
  options: RawStoreOptions | undefined,
  onRemovals: (batch: RawRemovalBatch) => void,
): RawStore

export declare const ENTRY_OVERHEAD_BYTES: number
export declare const TTL_OVERHEAD_BYTES: number
export declare const VERSION_OVERHEAD_BYTES: number
export declare const GROUP_OVERHEAD_BYTES: number
export declare const MAX_KEY_BYTES: number
export declare const DEFAULT_MAX_BYTES: number
export declare const DEFAULT_MAX_VALUE_BYTES: number
export declare const DEFAULT_SWEEP_INTERVAL_MS: number
export declare const REMOVAL_QUEUE_CAPACITY: number
/** What `get`, `getWithMeta` and `mgetPacked` return for a miss (-1). */
export declare const READ_MISS: number
/** What `get`, `getWithMeta` and `mgetPacked` return for a miss because the entry expired; its removal is queued (-2). */
export declare const READ_MISS_EXPIRED: number
/** What `mgetPacked` writes to `out[i]` when the value did not fit in the slab and is in `overflow[i]` instead (-3). */
export declare const READ_IN_OVERFLOW: number

/**
 * The process-wide store called `name`, shared by every worker thread: created by the first
 * opener with its options (a later open with other options throws BadArgument), freed when
 * the last handle is closed or collected.
 */
export declare function openStore(
  name: string,
  options: RawStoreOptions | undefined,
  onRemovals: (batch: RawRemovalBatch) => void,
): RawStore

/** Tunes the process allocator for a cache daemon (glibc: fixed 68 KiB mmap threshold, 2 arenas); returns whether it did. */
export declare function tuneAllocatorForDaemon(): boolean
