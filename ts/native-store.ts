// NativeStore: the embedded cache. Values live in Rust memory, off the V8 heap, under a
// byte budget. This class only adapts arguments and results; the store is in crates/.

import { loadBinding } from './loader'
import { fromNative, LocalCachedError } from './errors'
import { decodeStats, type Stats } from './stats'
import { dispatchRemovals, type RemovalListener } from './removals'
import type { RawStore } from '../binding'
import { LoadCoordinator, type GetOrLoadOptions, type Loader } from './load/get-or-load'
import { typedCache, type Cache, type TypedOptions } from './typed'
import { checkNativeStoreOptions } from './native-store-options'

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
  /** At most this many entries; past it, least recently used entries are evicted. */
  maxKeys?: number
  /**
   * Byte caps per service, e.g. `{ orders: 64 * 1024 * 1024 }`: a service over its cap
   * evicts its own least recently used entries, never another service's.
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

/**
 * get() copies values into a slab and hands back a Buffer view of the copied region. Each
 * region is handed out once, so every returned Buffer is the caller's own (like Buffers
 * from Node's own pool, it shares an ArrayBuffer with others). A view costs ~55 ns here
 * against ~170 ns for allocating and copying again. 16 KiB keeps what one retained Buffer
 * can pin small; a new slab is taken once less than SLAB_MIN_FREE is left, so values up to
 * that size always take this path (larger ones may come back as their own Buffer).
 */
const SLAB_BYTES = 16 * 1024
const SLAB_MIN_FREE = 2 * 1024

// get() returns -1 for a miss and -2 for a miss that found the entry expired.
const MISS_EXPIRED = -2

/** The raw native functions behind each store, for the daemon inside this package only. */
const rawStores = new WeakMap<NativeStore, RawStore>()

export function rawStoreOf(store: NativeStore): RawStore {
  const raw = rawStores.get(store)
  if (!raw) throw new LocalCachedError('Internal', 'not a NativeStore')
  return raw
}

/** Set only while NativeStore.open constructs a handle (keeps the constructor's signature plain). */
let openingShared: string | undefined

export class NativeStore {
  readonly #native: RawStore
  #slab: ArrayBuffer
  #slabFree = 0
  /** Reused between mget calls: where the native side writes each key's result. */
  #mgetResults = new Int32Array(128)
  // Held apart from `this`: the native side keeps the removal callback alive, and the
  // callback must not keep the store alive, or an unclosed store could never be collected.
  readonly #listeners = new Set<RemovalListener>()

  constructor(options: NativeStoreOptions = {}) {
    checkNativeStoreOptions(options)
    const binding = loadBinding()
    const listeners = this.#listeners
    try {
      const raw = { ...options, svcCaps: options.svcCaps ? Object.entries(options.svcCaps) : undefined }
      const onRemovals = (batch: Array<string | number>) => dispatchRemovals(listeners, batch)
      this.#native = openingShared === undefined ? binding.createStore(raw, onRemovals) : binding.openStore(openingShared, raw, onRemovals)
    } catch (err) {
      throw fromNative(err)
    }
    this.#slab = this.#newSlab()
    rawStores.set(this, this.#native)
  }

  /**
   * A handle to the process-wide store called `name`, shared by every worker thread of this
   * process (each worker opens it by name). The first opener's options win; opening it with
   * different options throws BadArgument. Closing a handle (or terminating its worker)
   * leaves the store to the other handles; it is freed with the last one.
   */
  static open(name: string, options: NativeStoreOptions = {}): NativeStore {
    if (typeof name !== 'string') throw new LocalCachedError('BadArgument', 'name must be a string')
    openingShared = name
    try {
      return new NativeStore(options)
    } finally {
      openingShared = undefined
    }
  }

  #newSlab(): ArrayBuffer {
    const slab = Buffer.allocUnsafeSlow(SLAB_BYTES)
    this.#native.setScratch(slab)
    this.#slabFree = SLAB_BYTES
    return slab.buffer
  }

  /** The value as a Buffer the caller owns, or undefined on a miss. */
  get(key: string): Buffer | undefined {
    let result: number | Buffer
    try {
      result = this.#native.get(key)
    } catch (err) {
      throw fromNative(err)
    }
    return this.#value(result)
  }

  /** Turns a native read result into the caller's Buffer (or undefined for a miss). */
  #value(result: number | Buffer): Buffer | undefined {
    if (typeof result !== 'number') return result
    if (result >= 0) {
      const offset = result >>> 16
      const length = result & 0xffff
      const out = Buffer.from(this.#slab, offset, length)
      this.#slabFree = SLAB_BYTES - offset - length
      if (this.#slabFree < SLAB_MIN_FREE) this.#slab = this.#newSlab()
      return out
    }
    if (result === MISS_EXPIRED) this.#deliverRemovals()
    return undefined
  }

  set(key: string, value: Value, options?: SetOptions): void {
    let evicted: number
    try {
      evicted = this.#native.set(key, value, options?.ttlMs, options?.version, options?.dependsOn as string[] | undefined)
    } catch (err) {
      throw fromNative(err)
    }
    if (evicted !== 0) this.#deliverRemovals()
  }

  /** Values (or undefined for misses) in key order; one call into the store. */
  mget(keys: readonly string[]): Array<Buffer | undefined> {
    // Start from a fresh slab when little is left, so a batch of small values fits in it.
    if (this.#slabFree < SLAB_BYTES / 2) this.#slab = this.#newSlab()
    const n = keys.length
    if (this.#mgetResults.length < n) this.#mgetResults = new Int32Array(Math.max(n, this.#mgetResults.length * 2))
    const packed = this.#mgetResults
    const overflow: Buffer[] = []
    // One string read for all keys: '\n' can be no part of a valid key.
    this.#call(() => this.#native.mgetPacked(keys.join('\n'), n, packed, overflow))
    const slab = this.#slab
    let end = SLAB_BYTES - this.#slabFree
    const out = new Array<Buffer | undefined>(n)
    for (let i = 0; i < n; i++) {
      const r = packed[i]
      if (r >= 0) {
        const offset = r >>> 16
        const length = r & 0xffff
        if (offset + length > end) end = offset + length
        out[i] = Buffer.from(slab, offset, length)
      } else out[i] = r === -3 ? overflow[i] : undefined
    }
    this.#slabFree = SLAB_BYTES - end
    if (this.#slabFree < SLAB_MIN_FREE) this.#slab = this.#newSlab()
    this.#deliverRemovals()
    return out
  }

  /** Stores every entry or none: all keys and values are checked first. */
  mset(entries: ReadonlyArray<readonly [string, Value]>, options?: TtlOptions): void {
    const keys = entries.map((e) => e[0])
    const values = entries.map((e) => e[1])
    const evicted = this.#call(() => this.#native.mset(keys, values, options?.ttlMs))
    if (evicted !== 0) this.#deliverRemovals()
  }

  /** Deletes the keys; returns how many existed. */
  mdel(keys: readonly string[]): number {
    return this.mdelEach(keys).filter(Boolean).length
  }

  /** Deletes the keys; returns, for each, whether it existed. */
  mdelEach(keys: readonly string[]): boolean[] {
    const existed = this.#call(() => this.#native.mdel(keys as string[]))
    this.#deliverRemovals()
    return existed
  }

  /** How many of the keys are present (a key named twice counts twice, as Redis's EXISTS). */
  exists(keys: readonly string[]): number {
    const n = this.#call(() => this.#native.exists(keys as string[]))
    this.#deliverRemovals()
    return n
  }

  /**
   * Adds `delta` to the integer stored at `key` (stored as ASCII decimal, as Redis's INCR
   * does; a missing key counts as 0) and returns the new value. Atomic. NotAnInteger for a
   * value that is not one; Overflow (and nothing stored) for a result beyond ±(2^53 − 1).
   * `ttlMs` applies only when this call creates the key.
   */
  incr(key: string, delta = 1, options?: TtlOptions): number {
    const value = this.#call(() => this.#native.incr(key, delta, options?.ttlMs))
    this.#deliverRemovals()
    return value
  }

  /** The value with its version and remaining TTL, or undefined on a miss. */
  getWithMeta(key: string): EntryMeta | undefined {
    const result = this.#call(() => this.#native.getWithMeta(key))
    if (typeof result === 'number') {
      this.#value(result)
      return undefined
    }
    return { value: this.#value(result[0])!, version: result[1], ttlMs: result[2] }
  }

  /**
   * Stores `next` only if the current value equals `expected` (null: only if the key is
   * absent). Returns whether it swapped. The entry keeps its TTL and version.
   */
  cas(key: string, expected: Value | null, next: Value): boolean {
    const swapped = this.#call(() => this.#native.cas(key, expected, next))
    this.#deliverRemovals()
    return swapped
  }

  /**
   * A page of keys, walking the store in bounded steps. A key present for the whole scan is
   * returned at least once; keys added or removed meanwhile may or may not be. A page may
   * hold fewer keys than `limit` (even none) while `cursor` is not null.
   */
  keys(options: KeysOptions = {}): KeysPage {
    const [keys, cursor] = this.#call(() =>
      this.#native.scan(options.cursor ?? null, options.svc, options.table, options.prefix, options.limit ?? 100),
    )
    return { keys, cursor }
  }

  /** Removes every entry of the table; work is proportional to its size, not the store's. */
  invalidateTable(svc: string, table: string): { removed: number } {
    return { removed: this.#call(() => this.#native.invalidateTable(svc, table)) }
  }

  /** Removes every entry of the service. */
  invalidateService(svc: string): { removed: number } {
    return { removed: this.#call(() => this.#native.invalidateService(svc)) }
  }

  /**
   * Removes every entry whose key starts with `prefix`. A prefix that ends within
   * `svc:table:` takes whole tables; a longer one walks the one table it names.
   */
  invalidatePrefix(prefix: string): { removed: number } {
    return { removed: this.#call(() => this.#native.invalidatePrefix(prefix)) }
  }

  /** Removes every entry; returns how many there were. (No removal notices: it is one event.) */
  clear(): number {
    return this.#call(() => this.#native.clear())
  }

  /** Whether a live entry exists; not counted as a get and does not refresh recency. */
  has(key: string): boolean {
    return this.#keyCall(key, 'has')
  }

  /** Removes the key; returns whether it existed. */
  delete(key: string): boolean {
    return this.#keyCall(key, 'delete')
  }

  /** Removes the key as an invalidation (counted in invalidateCalls), and everything that depends on it; returns whether it existed. */
  invalidate(key: string): boolean {
    return this.#keyCall(key, 'invalidate')
  }

  /** Stores `svc:table:pk` built from its parts (counted in tableChangedUpsertCalls). */
  tableChangedUpsert(svc: string, table: string, pk: string, value: Value, options?: SetOptions): void {
    let evicted: number
    try {
      evicted = this.#native.tableChangedUpsert(svc, table, pk, value, options?.ttlMs, options?.version)
    } catch (err) {
      throw fromNative(err)
    }
    if (evicted !== 0) this.#deliverRemovals()
  }

  /** Removes expired entries now; returns how many. The sweeper thread also does this. */
  sweep(): number {
    const removed = this.#call(() => this.#native.sweep())
    this.#deliverRemovals()
    return removed
  }

  /** Moves a `clock: 'manual'` store's time forward. */
  advanceClock(ms: number): void {
    this.#call(() => this.#native.advanceClock(ms))
  }

  /**
   * Calls `listener` for every entry evicted for memory or removed by expiry, and once
   * with `{ cause: 'overflow', dropped }` if removals ever outpace delivery. Removals a
   * call causes are delivered before it returns; the sweeper's arrive on a later tick.
   * Returns a function that unsubscribes.
   */
  onRemoval(listener: RemovalListener): () => void {
    if (typeof listener !== 'function') throw new LocalCachedError('BadArgument', 'onRemoval takes a function')
    this.#call(() => this.#native.setRecording(true))
    this.#listeners.add(listener)
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0) {
        try {
          this.#native.setRecording(false)
        } catch {
          // Already closed: nothing is recording anyway.
        }
      }
    }
  }

  stats(): Stats {
    return decodeStats(this.statsBinary())
  }

  /** The stats exactly as the Rust core encoded them (docs/stats-format.md). */
  statsBinary(): Buffer {
    return this.#call(() => this.#native.statsBinary())
  }

  /** Frees every entry and stops the sweeper. Idempotent; later calls throw `Closed`. */
  /**
   * The value, or the loader's (stored with options.ttlMs) on a miss. Concurrent misses of a
   * key in this process call the loader once; see GetOrLoadOptions for stale-while-revalidate
   * and loader failures.
   */
  getOrLoad(key: string, loader: Loader, options?: GetOrLoadOptions): Promise<Buffer> {
    this.#loads ??= new LoadCoordinator({
      read: (k) => {
        const meta = this.getWithMeta(k)
        return meta ? { value: meta.value, ttlMs: meta.ttlMs } : null
      },
      write: (k, value, ttlMs) => this.set(k, value, { ttlMs }),
    })
    return this.#loads.getOrLoad(key, loader, options)
  }

  #loads: LoadCoordinator | undefined

  /** A Cache<T> over this store that encodes values with one codec ('raw', 'json', 'cbor' or yours). */
  typed<T>(options?: TypedOptions<T>): Cache<T> {
    return typedCache<T>(
      {
        get: async (key) => this.get(key) ?? null,
        set: async (key, value, setOptions) => this.set(key, value, setOptions),
        delete: async (key) => this.delete(key),
        getOrLoad: (key, loader, loadOptions) => this.getOrLoad(key, loader, loadOptions),
      },
      options,
    )
  }

  close(): void {
    this.#native.close()
    this.#listeners.clear()
  }

  #keyCall(key: string, op: 'has' | 'delete' | 'invalidate'): boolean {
    let result: boolean
    try {
      result = this.#native[op](key)
    } catch (err) {
      throw fromNative(err)
    }
    // An entry found expired was removed and its removal queued.
    if (this.#listeners.size !== 0) this.#deliverRemovals()
    return result
  }

  #deliverRemovals(): void {
    if (this.#listeners.size !== 0) dispatchRemovals(this.#listeners, this.#native.drainRemovals())
  }

  #call<T>(fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      throw fromNative(err)
    }
  }
}
