// getOrLoad for NativeStore and LocalCachedClient: read-through with stampede protection.
//
// - In one process, concurrent misses of a key share one loader call (single flight).
// - Across processes (the client), a short lease in the daemon picks one loader; the others
//   poll for its value until the lease would have run out, then load themselves.
// - Stale-while-revalidate: a value is written with TTL ttlMs + staleWhileRevalidateMs and is
//   stale once its remaining TTL is at most staleWhileRevalidateMs; inside that window the
//   stale value is returned at once while one background load refreshes it.
// - A loader that throws, rejects or hangs is bounded by loaderTimeoutMs, reported as
//   LoaderFailed / LoaderTimeout, and never cached.

import { LocalCachedError } from '../errors'
import { rejectUnknownOptions } from '../option-check'

/** The options getOrLoad takes (each checked by resolveOptions below). */
const GET_OR_LOAD_OPTIONS: ReadonlySet<string> = new Set(['ttlMs', 'staleWhileRevalidateMs', 'lockTimeoutMs', 'loaderTimeoutMs', 'onBackgroundError'])

export type LoadedValue = Buffer | Uint8Array | string
export type Loader = (key: string) => LoadedValue | Promise<LoadedValue>

export interface GetOrLoadOptions {
  /** TTL of a loaded value. Required with staleWhileRevalidateMs. */
  ttlMs?: number
  /** After ttlMs, keep serving the old value this long while one loader refreshes it. Default 0. */
  staleWhileRevalidateMs?: number
  /** How long other callers wait for the loading one (and the daemon lease's length). Default 5000. */
  lockTimeoutMs?: number
  /** How long the loader may take. Default lockTimeoutMs. */
  loaderTimeoutMs?: number
  /** Where a background refresh's failure goes (the stale value was already returned). */
  onBackgroundError?: (err: LocalCachedError) => void
}

export interface StoredForLoad {
  value: Buffer
  ttlMs: number | null
}

/** What getOrLoad needs from a cache: reads with TTL, writes, and optionally a lease. */
export interface LoadBackend {
  /** The stored value with its remaining TTL; a copy with at most `staleBelowMs` left may be re-read at the source. */
  read(key: string, staleBelowMs: number): StoredForLoad | null | Promise<StoredForLoad | null>
  /** `leased`: this process holds the load lease (the daemon stores a leased fill only while the lease holds). */
  write(key: string, value: Buffer, ttlMs: number | undefined, leased?: boolean): void | Promise<void>
  /** Takes the cross-process load lease; resolves false if another process holds it. */
  lease?(key: string, ttlMs: number): Promise<boolean>
  release?(key: string): Promise<void>
}

interface ResolvedLoadOptions {
  ttlMs: number | undefined
  swrMs: number
  lockTimeoutMs: number
  loaderTimeoutMs: number
  onBackgroundError: ((err: LocalCachedError) => void) | undefined
}

const MAX_POLL_MS = 50

function positive(value: unknown, name: string, fallback: number | undefined, allowZero = false): number | undefined {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new LocalCachedError('BadArgument', `getOrLoad: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer of milliseconds, got ${String(value)}`)
  }
  return value
}

function resolveOptions(options: GetOrLoadOptions): ResolvedLoadOptions {
  const ttlMs = positive(options.ttlMs, 'ttlMs', undefined)
  const swrMs = positive(options.staleWhileRevalidateMs, 'staleWhileRevalidateMs', 0, true)!
  if (swrMs > 0 && ttlMs === undefined) throw new LocalCachedError('BadArgument', 'getOrLoad: staleWhileRevalidateMs needs ttlMs (a value without a TTL never goes stale)')
  const lockTimeoutMs = positive(options.lockTimeoutMs, 'lockTimeoutMs', 5000)!
  const loaderTimeoutMs = positive(options.loaderTimeoutMs, 'loaderTimeoutMs', lockTimeoutMs)!
  if (options.onBackgroundError !== undefined && typeof options.onBackgroundError !== 'function') {
    throw new LocalCachedError('BadArgument', 'getOrLoad: onBackgroundError must be a function')
  }
  return { ttlMs, swrMs, lockTimeoutMs, loaderTimeoutMs, onBackgroundError: options.onBackgroundError }
}

function toBuffer(value: LoadedValue, key: string): Buffer {
  if (typeof value === 'string') return Buffer.from(value)
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  throw new LocalCachedError('LoaderFailed', `loader for ${key} returned ${value === null ? 'null' : typeof value}, not a Buffer, Uint8Array or string`)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export class LoadCoordinator {
  readonly #backend: LoadBackend
  readonly #flights = new Map<string, Promise<Buffer>>()

  constructor(backend: LoadBackend) {
    this.#backend = backend
  }

  async getOrLoad(key: string, loader: Loader, options: GetOrLoadOptions = {}): Promise<Buffer> {
    if (typeof loader !== 'function') throw new LocalCachedError('BadArgument', 'getOrLoad: loader must be a function')
    rejectUnknownOptions('getOrLoad()', options, GET_OR_LOAD_OPTIONS)
    const resolved = resolveOptions(options)
    const stored = await this.#backend.read(key, resolved.swrMs)
    if (stored !== null) {
      if (resolved.swrMs === 0 || stored.ttlMs === null || stored.ttlMs > resolved.swrMs) return stored.value
      // Stale, inside its window: answer now, refresh once in the background.
      if (!this.#flights.has(key)) {
        this.#start(key, loader, resolved).catch((err: LocalCachedError) => resolved.onBackgroundError?.(err))
      }
      return stored.value
    }
    const flight = this.#flights.get(key)
    if (flight) return this.#join(flight)
    return this.#start(key, loader, resolved)
  }

  async #join(flight: Promise<Buffer>): Promise<Buffer> {
    return Buffer.from(await flight) // each caller gets its own copy
  }

  #start(key: string, loader: Loader, options: ResolvedLoadOptions): Promise<Buffer> {
    const flight = this.#load(key, loader, options).finally(() => this.#flights.delete(key))
    this.#flights.set(key, flight)
    return flight
  }

  async #load(key: string, loader: Loader, options: ResolvedLoadOptions): Promise<Buffer> {
    const backend = this.#backend
    let leased = false
    if (backend.lease) {
      const deadline = Date.now() + options.lockTimeoutMs
      const first = await this.#takeLease(key, options.lockTimeoutMs, options.swrMs)
      if (Buffer.isBuffer(first)) return first
      leased = first
      if (!leased) {
        const theirs = await this.#waitForValue(key, deadline, options.lockTimeoutMs)
        if (theirs === 'leased') leased = true
        else if (theirs !== null) return theirs
        else {
          // Their lease ran out without a value: load here, with the lease if it is free now.
          const again = await this.#takeLease(key, options.lockTimeoutMs, options.swrMs)
          if (Buffer.isBuffer(again)) return again
          leased = again
        }
      }
    }
    let value: Buffer
    try {
      value = await this.#runLoader(key, loader, options.loaderTimeoutMs)
    } catch (err) {
      if (leased) await backend.release?.(key).catch(() => {})
      throw err
    }
    // Writing the value also ends the lease in the daemon, which lets the waiters see it.
    try {
      await backend.write(key, value, options.ttlMs === undefined ? undefined : options.ttlMs + options.swrMs, leased)
    } catch (err) {
      if (leased) await backend.release?.(key).catch(() => {})
      throw err
    }
    return value
  }

  /**
   * Polls for the lease holder's value. Between polls it asks for the lease again: a holder
   * whose loader failed releases it, and one that vanished loses it, so a waiter takes over
   * at once instead of waiting out lockTimeoutMs.
   */
  async #waitForValue(key: string, deadline: number, leaseMs: number): Promise<Buffer | 'leased' | null> {
    const backend = this.#backend
    for (let delay = 1; Date.now() < deadline; delay = Math.min(delay * 2, MAX_POLL_MS)) {
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())))
      const stored = await backend.read(key, 0)
      if (stored !== null) return stored.value
      // Taken over (a holder whose loader failed releases, one that vanished loses it).
      const taken = await this.#takeLease(key, leaseMs, 0)
      if (Buffer.isBuffer(taken)) return taken
      if (taken) return 'leased'
    }
    return null
  }

  /**
   * Takes the lease, then reads once more: a loader elsewhere may have written the value
   * between our miss and our lease (the write is what ended its lease). Then the value is
   * returned and the lease given back, so that the loader never runs for a key that has one.
   * A value within `swrMs` of expiry is the stale one a refresh is replacing: it does not count.
   */
  async #takeLease(key: string, leaseMs: number, swrMs: number): Promise<Buffer | boolean> {
    const backend = this.#backend
    if (!backend.lease || !(await backend.lease(key, leaseMs))) return false
    let late: StoredForLoad | null
    try {
      late = await backend.read(key, 0)
    } catch (err) {
      await backend.release?.(key).catch(() => {})
      throw err
    }
    if (late === null || (late.ttlMs !== null && late.ttlMs <= swrMs)) return true
    await backend.release?.(key).catch(() => {})
    return late.value
  }

  async #runLoader(key: string, loader: Loader, timeoutMs: number): Promise<Buffer> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LocalCachedError('LoaderTimeout', `loader for ${key} did not settle within ${timeoutMs} ms; nothing was cached`)), timeoutMs)
    })
    try {
      const loaded = await Promise.race([Promise.resolve().then(() => loader(key)), timeout])
      return toBuffer(loaded, key)
    } catch (err) {
      if (err instanceof LocalCachedError && (err.code === 'LoaderTimeout' || err.code === 'LoaderFailed')) throw err
      throw new LocalCachedError('LoaderFailed', `loader for ${key} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    } finally {
      clearTimeout(timer)
    }
  }
}
