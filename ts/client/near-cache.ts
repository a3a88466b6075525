// The near cache: an in-process NativeStore in front of the daemon, kept coherent by the
// daemon's tracking pushes on the client's own connection (see ts/server/tracking.ts and
// docs/near-cache.md for the guarantees).
//
// The fill rule: a miss fetches with `GetWithMeta{track}` and fills only if no invalidation
// touching that key (by key, scope or flush) arrived while the fetch was in flight, and the
// cache stayed usable throughout. Otherwise the fill is discarded (counted in discardedFills)
// and the fetched value is only returned, never cached.

import { NativeStore } from '../native-store'
import { LocalCachedError } from '../errors'
import type { Invalidation, InvalidationScope, Push } from '../protocol/messages'

export interface NearCacheOptions {
  /** Byte budget of the in-process store (same accounting as NativeStore). */
  maxBytes: number
  /** Longest a value stays in the near cache; the daemon's own TTL also bounds it. */
  ttlMs?: number
  /** Largest value kept near; larger ones are always read from the daemon. Default 1 MiB. */
  maxValueBytes?: number
  /**
   * Called after an invalidation from the daemon was applied: the keys, the scope, or `all`
   * (a flush). For caches derived from near values, and for measuring propagation. Must not throw.
   */
  onInvalidated?: (push: NearInvalidation) => void
}

export type NearInvalidation = Invalidation

export interface NearCacheStats {
  hits: number
  misses: number
  /** Keys dropped because they changed (pushes, scopes, this client's own writes). */
  invalidations: number
  /** Whole-cache flushes: clear, lagged, reconnect, missed heartbeats. */
  flushes: number
  /** The same flushes by reason. */
  flushReasons: Record<FlushReason, number>
  /** Fetched values not cached because the key changed while the fetch was in flight. */
  discardedFills: number
  /** Entries and bytes held now. */
  entries: number
  bytes: number
  /** Whether reads are served near right now (false while disconnected or heartbeats are missing). */
  active: boolean
}

type Invalidated = Extract<Push, { type: 'Invalidated' }>

/** clear: a clear/FLUSHALL; lagged: the daemon could not deliver every push; reset: the connection broke; silence: no heartbeat for 3 intervals. */
export type FlushReason = 'clear' | 'lagged' | 'reset' | 'silence' | 'bridge_gap' | 'bridge_offline'

interface Fill {
  dirty: boolean
}

/** Heartbeats missed before the near cache stops trusting the connection. */
const MISSED_HEARTBEATS = 3

export class NearCache {
  readonly #store: NativeStore
  readonly #ttlMs: number | undefined
  readonly #maxValueBytes: number
  readonly #fills = new Map<string, Fill>()
  readonly #onInvalidated: ((push: NearInvalidation) => void) | undefined
  #connected = false
  #silent = false
  #lastMessageAt = 0
  #watchdog: NodeJS.Timeout | undefined
  readonly #counts = { hits: 0, misses: 0, invalidations: 0, flushes: 0, discardedFills: 0 }
  readonly #flushReasons: Record<FlushReason, number> = { clear: 0, lagged: 0, reset: 0, silence: 0, bridge_gap: 0, bridge_offline: 0 }

  constructor(options: NearCacheOptions) {
    if (typeof options !== 'object' || options === null) throw new LocalCachedError('BadArgument', 'nearCache takes { maxBytes, ttlMs? }')
    if (options.ttlMs !== undefined && (!Number.isSafeInteger(options.ttlMs) || options.ttlMs < 1)) {
      throw new LocalCachedError('BadArgument', `nearCache.ttlMs must be a positive integer, got ${String(options.ttlMs)}`)
    }
    this.#maxValueBytes = options.maxValueBytes ?? 1024 * 1024
    this.#store = new NativeStore({ maxBytes: options.maxBytes, maxValueBytes: this.#maxValueBytes })
    this.#ttlMs = options.ttlMs
    if (options.onInvalidated !== undefined && typeof options.onInvalidated !== 'function') throw new LocalCachedError('BadArgument', 'nearCache.onInvalidated must be a function')
    this.#onInvalidated = options.onInvalidated
  }

  /** Whether reads may be served near: connected, tracking on, heartbeats arriving. */
  get active(): boolean {
    return this.#connected && !this.#silent
  }

  /** A near hit, or undefined (counted as a miss) when absent or the cache is not active. */
  lookup(key: string): Buffer | undefined {
    if (!this.active) return undefined
    const value = this.#store.get(key)
    if (value === undefined) this.#counts.misses++
    else this.#counts.hits++
    return value
  }

  /** A near hit with its remaining TTL (for getOrLoad's staleness check). */
  lookupMeta(key: string): { value: Buffer; ttlMs: number | null } | undefined {
    if (!this.active) return undefined
    const meta = this.#store.getWithMeta(key)
    if (meta === undefined) {
      this.#counts.misses++
      return undefined
    }
    this.#counts.hits++
    return { value: meta.value, ttlMs: meta.ttlMs }
  }

  /** Starts a fill of `key`; pass the token to finishFill with what the daemon returned. */
  beginFill(key: string): Fill | undefined {
    if (!this.active || this.#fills.has(key)) return undefined
    const fill: Fill = { dirty: false }
    this.#fills.set(key, fill)
    return fill
  }

  finishFill(key: string, fill: Fill | undefined, value: Buffer | null, daemonTtlMs: number | null): void {
    if (fill === undefined) return
    if (this.#fills.get(key) === fill) this.#fills.delete(key)
    if (fill.dirty || !this.active) {
      this.#counts.discardedFills++
      return
    }
    if (value === null || value.length > this.#maxValueBytes) return
    const ttlMs = minTtl(this.#ttlMs, daemonTtlMs)
    try {
      this.#store.set(key, value, { ttlMs })
    } catch (err) {
      // Too large for the near budget: it is simply read from the daemon each time.
      if (!(err instanceof LocalCachedError && err.code === 'ValueTooLarge')) throw err
    }
  }

  abandonFill(key: string, fill: Fill | undefined): void {
    if (fill !== undefined && this.#fills.get(key) === fill) this.#fills.delete(key)
  }

  /** This client changed `key` (its write was acknowledged, or its outcome is unknown). */
  drop(key: string): void {
    const fill = this.#fills.get(key)
    if (fill) fill.dirty = true
    if (this.#store.delete(key)) this.#counts.invalidations++
  }

  #dropScope(scope: InvalidationScope): void {
    let removed: number
    let prefix: string
    if (scope.scope === 'table') {
      removed = this.#store.invalidateTable(scope.svc, scope.table).removed
      prefix = `${scope.svc}:${scope.table}:`
    } else if (scope.scope === 'service') {
      removed = this.#store.invalidateService(scope.svc).removed
      prefix = `${scope.svc}:`
    } else {
      removed = this.#store.invalidatePrefix(scope.prefix).removed
      prefix = scope.prefix
    }
    this.#counts.invalidations += removed
    for (const [key, fill] of this.#fills) if (key.startsWith(prefix)) fill.dirty = true
  }

  /** Drops everything, and every fill in flight. */
  #flush(reason: FlushReason): void {
    this.#flushReasons[reason]++
    for (const fill of this.#fills.values()) fill.dirty = true
    this.#fills.clear()
    this.#store.clear()
    this.#counts.flushes++
  }

  /** Drops what changed: keys, a scope, or everything. Pushes and this client's own writes both come here. */
  invalidate(what: Invalidation): void {
    if ('keys' in what) for (const key of what.keys) this.drop(key)
    else if ('all' in what) this.#flush(what.reason)
    else this.#dropScope(what)
  }

  /** Every message on the connection proves it alive; an Invalidated push also says what changed. */
  onMessage(message: { type: string }): void {
    this.#lastMessageAt = Date.now()
    if (this.#silent) this.#silent = false // heard again: fills from here on are ordered after the flush
    if (message.type !== 'Invalidated') return
    const push = message as Invalidated
    this.invalidate(push)
    if (this.#onInvalidated) {
      const { type: _type, ...what } = push
      try {
        this.#onInvalidated(what as NearInvalidation)
      } catch (err) {
        process.nextTick(() => {
          throw err
        })
      }
    }
  }

  /** Tracking is on for a new connection: start serving near, and watching heartbeats. */
  connected(heartbeatMs: number): void {
    this.#connected = true
    this.#silent = false
    this.#lastMessageAt = Date.now()
    clearInterval(this.#watchdog)
    this.#watchdog = setInterval(() => {
      if (this.#connected && !this.#silent && Date.now() - this.#lastMessageAt > MISSED_HEARTBEATS * heartbeatMs) {
        // The daemon may be hung or the connection dead: nothing near can be trusted.
        this.#silent = true
        this.#flush('silence')
      }
    }, heartbeatMs)
    this.#watchdog.unref()
  }

  /** The connection ended: invalidations may be lost, so nothing near can be trusted. */
  disconnected(): void {
    if (!this.#connected) return
    this.#connected = false
    clearInterval(this.#watchdog)
    this.#flush('reset')
  }

  stats(): NearCacheStats {
    const s = this.#store.stats()
    return { ...this.#counts, flushReasons: { ...this.#flushReasons }, entries: s.itemsCurrent, bytes: s.bytesCurrent, active: this.active }
  }

  close(): void {
    this.#connected = false
    clearInterval(this.#watchdog)
    this.#store.close()
  }
}

function minTtl(a: number | undefined, b: number | null): number | undefined {
  if (a === undefined) return b ?? undefined
  if (b === null) return a
  return Math.min(a, b)
}
