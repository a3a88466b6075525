// NativeStore: the embedded cache. Values live in Rust memory, off the V8 heap, under a
// byte budget. This class only adapts arguments and results; the store is in crates/.

import { fromNative, LocalCachedError } from './errors'
import { decodeStats, type Stats } from './stats'
import { dispatchRemovals, type RemovalListener } from './removals'
import type { RawStore } from '../binding'
import { LoadCoordinator, type GetOrLoadOptions, type Loader } from './load/get-or-load'
import { typedCache, type Cache, type TypedOptions } from './typed'
import { INT64_MAX, INT64_MIN, type EntryMeta, type FromSnapshotOptions, type KeysOptions, type KeysPage, type NativeStoreOptions, type SaveSnapshotOptions, type SaveSnapshotResult, type SetIfOptions, type SetIfResult, type SetOptions, type SnapshotLoad, type TtlOptions, type UpsertOptions, type Value, READ_CODES } from './native-store-types'
import { loadSnapshotInto } from './native-store-snapshot'
import { checkNativeStoreOptions, NATIVE_CALL_OPTIONS, openNative } from './native-store-options'
import { rejectUnknownOptions } from './option-check'
import { StoreRuns } from './native-store-runs'

export * from './native-store-types'

/** setIf's `when`, as the binding numbers it. */
const SET_CONDITIONS = { always: 0, absent: 1, present: 2 } as const

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

const READ_MISS_EXPIRED = READ_CODES.missExpired
const READ_IN_OVERFLOW = READ_CODES.inOverflow

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
  #snapshotLoad: SnapshotLoad | undefined
  /** @internal Runs of gets and plain puts for the daemon's doors; left out of the published types. */
  readonly runs = new StoreRuns(() => this.#native, () => this.#deliverRemovals())

  constructor(options: NativeStoreOptions = {}) {
    checkNativeStoreOptions(options)
    try {
      this.#native = openNative(options, openingShared, this.#listeners)
    } catch (err) {
      throw fromNative(err)
    }
    this.#slab = this.#newSlab()
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

  /**
   * A new store warmed from the snapshot at `path` (see `saveSnapshot`), loaded off the JS
   * thread, hottest entries first within `maxBytes` and the caps, with their remaining TTL,
   * versions and dependencies. A missing file gives an empty store; a corrupt, truncated,
   * foreign, incompatible or (with `snapshotMaxAgeMs`) too old one is moved aside to
   * `<file>.corrupt-<time>` and the store starts empty. `store.snapshotLoad` says which.
   */
  static async fromSnapshot(path: string, options: FromSnapshotOptions = {}): Promise<NativeStore> {
    const { snapshotMaxAgeMs, ...storeOptions } = options
    const store = new NativeStore(storeOptions)
    try {
      await store.loadSnapshot(path, { maxAgeMs: snapshotMaxAgeMs })
    } catch (err) {
      store.close()
      throw err
    }
    return store
  }

  /**
   * fromSnapshot()'s load into this store, which must be empty (else BadArgument): for an
   * owner that must hold the store before it is warm (the daemon answers /readyz meanwhile).
   * Never throws for the file itself; the result (also `snapshotLoad`) says what happened.
   */
  async loadSnapshot(path: string, options?: { maxAgeMs?: number }): Promise<SnapshotLoad> {
    if (options !== undefined) rejectUnknownOptions('store.loadSnapshot()', options, NATIVE_CALL_OPTIONS.loadSnapshot)
    this.#snapshotLoad = await loadSnapshotInto(this.#native, path, options?.maxAgeMs)
    return this.#snapshotLoad
  }

  /** How fromSnapshot() or loadSnapshot() warmed this store; undefined for one never loaded. */
  get snapshotLoad(): SnapshotLoad | undefined {
    return this.#snapshotLoad
  }

  /**
   * Writes every live entry (hottest first, with its TTL, version and dependencies) to
   * `path`, off the JS thread at idle priority, through a temporary file renamed into place
   * (mode 0600). A second save waits for the first; closing the store cancels it. Rejects
   * with SnapshotIo, keeping the previous file.
   */
  async saveSnapshot(path: string, options?: SaveSnapshotOptions): Promise<SaveSnapshotResult> {
    if (options !== undefined) rejectUnknownOptions('store.saveSnapshot()', options, NATIVE_CALL_OPTIONS.saveSnapshot)
    try {
      const priority = options?.priority
      if (priority !== undefined && priority !== 'idle' && priority !== 'normal') throw new LocalCachedError('BadArgument', `store.saveSnapshot(): priority must be 'idle' or 'normal', got ${String(priority)}`)
      return await this.#native.saveSnapshot(path, options?.meta, priority === undefined ? undefined : priority === 'idle')
    } catch (err) {
      throw fromNative(err)
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

  /**
   * get() into a buffer the caller owns: −1 on a miss, else the value's length n, written at
   * `target[offset..]` only if n ≤ target.length − offset (with less room, retry with a
   * bigger target). Counted exactly as get() is; skips get()'s slab and Buffer view.
   * BadArgument for a target not a Buffer/Uint8Array, or an offset not an integer in 0..target.length.
   */
  getInto(key: string, target: Uint8Array, offset = 0): number {
    let n: number
    try {
      n = this.#native.getInto(key, target, offset)
    } catch (err) {
      throw fromNative(err)
    }
    if (n === READ_MISS_EXPIRED) this.#deliverRemovals()
    return n >= 0 ? n : READ_CODES.miss
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
    if (result === READ_MISS_EXPIRED) this.#deliverRemovals()
    return undefined
  }

  set(key: string, value: Value, options?: SetOptions): void {
    if (options !== undefined) rejectUnknownOptions('store.set()', options, NATIVE_CALL_OPTIONS.set)
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
      } else out[i] = r === READ_IN_OVERFLOW ? overflow[i] : undefined
    }
    this.#slabFree = SLAB_BYTES - end
    if (this.#slabFree < SLAB_MIN_FREE) this.#slab = this.#newSlab()
    this.#deliverRemovals()
    return out
  }

  /** Stores every entry or none: all keys and values are checked first. */
  mset(entries: ReadonlyArray<readonly [string, Value]>, options?: TtlOptions): void {
    rejectUnknownOptions('store.mset()', options, NATIVE_CALL_OPTIONS.ttl)
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
    rejectUnknownOptions('store.incr()', options, NATIVE_CALL_OPTIONS.ttl)
    const value = this.#call(() => this.#native.incr(key, delta, options?.ttlMs))
    this.#deliverRemovals()
    return value
  }

  /**
   * incr() over the whole signed 64-bit range, as Redis's INCRBY: the stored value must be
   * a decimal integer within it (NotAnInteger otherwise) and so must the result (Overflow,
   * nothing stored). `ttlMs` applies only when this call creates the key.
   */
  incrInt64(key: string, delta: bigint, options?: TtlOptions): bigint {
    rejectUnknownOptions('store.incrInt64()', options, NATIVE_CALL_OPTIONS.ttl)
    if (typeof delta !== 'bigint' || delta < INT64_MIN || delta > INT64_MAX) {
      throw new LocalCachedError('BadArgument', 'delta must be a bigint within the signed 64-bit range')
    }
    const value = this.#call(() => this.#native.incrText(key, delta.toString(), options?.ttlMs))
    this.#deliverRemovals()
    return BigInt(value)
  }

  /**
   * Redis's SET with its options: store only if the key is `absent` or `present`, keep the
   * current TTL, and return the previous value. A stored value replaces the entry as set()
   * does (its version and dependencies are dropped, what depends on it is removed).
   */
  setIf(key: string, value: Value, options: SetIfOptions = {}): SetIfResult {
    rejectUnknownOptions('store.setIf()', options, NATIVE_CALL_OPTIONS.setIf)
    const when = options.when ?? 'always'
    if (!Object.prototype.hasOwnProperty.call(SET_CONDITIONS, when)) throw new LocalCachedError('BadArgument', `store.setIf(): when must be 'always', 'absent' or 'present', got ${JSON.stringify(when)}`)
    const condition = SET_CONDITIONS[when]
    for (const flag of ['keepTtl', 'returnOld'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new LocalCachedError('BadArgument', `store.setIf(): ${flag} must be true or false`)
    }
    if (options.keepTtl && options.ttlMs !== undefined) throw new LocalCachedError('BadArgument', 'keepTtl and ttlMs cannot be combined')
    const [stored, old] = this.#call(() => this.#native.setIf(key, value, options.ttlMs, condition, options.keepTtl === true, options.returnOld === true))
    this.#deliverRemovals()
    return { stored, old }
  }

  /**
   * Gives a live entry a new TTL, or with `null` removes its TTL (Redis's PERSIST); returns
   * whether the entry existed. The value, its version and what depends on it stay.
   */
  expire(key: string, ttlMs: number | null): boolean {
    if (ttlMs === undefined) throw new LocalCachedError('BadArgument', 'store.expire(): give a TTL in ms, or null to remove the TTL')
    const existed = this.#call(() => this.#native.expire(key, ttlMs))
    this.#deliverRemovals()
    return existed
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
    rejectUnknownOptions('store.keys()', options, NATIVE_CALL_OPTIONS.keys)
    const [keys, cursor] = this.#call(() =>
      this.#native.scan(options.cursor ?? null, options.svc, options.table, options.prefix, options.limit ?? 100),
    )
    return { keys, cursor }
  }

  /** Removes every entry of the table; work is proportional to its size, not the store's. */
  invalidateTable(svc: string, table: string): { removed: number } {
    return this.#scoped(() => this.#native.invalidateTable(svc, table))
  }

  /** Removes every entry of the service. */
  invalidateService(svc: string): { removed: number } {
    return this.#scoped(() => this.#native.invalidateService(svc))
  }

  /**
   * Removes every entry whose key starts with `prefix`. A prefix that ends within
   * `svc:table:` takes whole tables; a longer one walks the one table it names.
   */
  invalidatePrefix(prefix: string): { removed: number } {
    return this.#scoped(() => this.#native.invalidatePrefix(prefix))
  }

  /**
   * The entries a scope removes are not reported one by one (the scope is the notice), but
   * entries elsewhere that depend on them are, with cause 'dependency', before this returns.
   */
  #scoped(run: () => number): { removed: number } {
    const removed = this.#call(run)
    this.#deliverRemovals()
    return { removed }
  }

  /** Removes every entry; returns how many there were. (No removal notices: it is one event.) */
  clear(): number {
    return this.#call(() => this.#native.clear())
  }

  /** Whether a live entry exists; not counted as a get and does not mark the entry visited. */
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
  tableChangedUpsert(svc: string, table: string, pk: string, value: Value, options?: UpsertOptions): void {
    if (options !== undefined) rejectUnknownOptions('store.tableChangedUpsert()', options, NATIVE_CALL_OPTIONS.upsert)
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

  /** Frees every entry and stops the sweeper. Idempotent; later calls throw `Closed`. */
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
