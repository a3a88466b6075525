// NativeStore: the embedded cache. Values live in Rust memory, off the V8 heap, under a
// byte budget. This class only adapts arguments and results; the store is in crates/.

import { loadBinding } from './loader'
import { fromNative, LocalCachedError } from './errors'
import { decodeStats, type Stats } from './stats'
import { dispatchRemovals, type RemovalListener } from './removals'
import type { RawStore } from '../binding'

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
}

export interface SetOptions {
  /** Time to live in milliseconds, a positive integer. Omit for no expiry. */
  ttlMs?: number
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

export class NativeStore {
  readonly #native: RawStore
  #slab: ArrayBuffer
  #slabFree = 0
  // Held apart from `this`: the native side keeps the removal callback alive, and the
  // callback must not keep the store alive, or an unclosed store could never be collected.
  readonly #listeners = new Set<RemovalListener>()

  constructor(options: NativeStoreOptions = {}) {
    const binding = loadBinding()
    const listeners = this.#listeners
    try {
      this.#native = binding.createStore(options, (batch) => dispatchRemovals(listeners, batch))
    } catch (err) {
      throw fromNative(err)
    }
    this.#slab = this.#newSlab()
    rawStores.set(this, this.#native)
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
      evicted = this.#native.set(key, value, options?.ttlMs)
    } catch (err) {
      throw fromNative(err)
    }
    if (evicted !== 0) this.#deliverRemovals()
  }

  /** Whether a live entry exists; not counted as a get and does not refresh recency. */
  has(key: string): boolean {
    return this.#keyCall(key, 'has')
  }

  /** Removes the key; returns whether it existed. */
  delete(key: string): boolean {
    return this.#keyCall(key, 'delete')
  }

  /** Removes the key as an invalidation (counted in invalidateCalls); returns whether it existed. */
  invalidate(key: string): boolean {
    return this.#keyCall(key, 'invalidate')
  }

  /** Stores `svc:table:pk` built from its parts (counted in tableChangedUpsertCalls). */
  tableChangedUpsert(svc: string, table: string, pk: string, value: Value, options?: SetOptions): void {
    let evicted: number
    try {
      evicted = this.#native.tableChangedUpsert(svc, table, pk, value, options?.ttlMs)
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
