// The shared second tier as the operation layer sees it (docs/tiers.md): reads that share one
// L2 round trip per key and obey the fill rule, the L2 step of every change, the repair of
// what an outage or another host's failed step left behind, and the counters.
//
// The fill rule: a read in flight is discarded by any change of its key (or of a scope or
// everything holding it) that arrives before its answer; the answer still goes to whoever
// asked, but it is not stored here, and a later miss starts a new read.

import type { InvalidationScope } from '../protocol/messages'
import type { Logger } from '../logger'
import { redactSecrets } from '../server/redact'
import { BreakerOpen, L2Client } from './client'
import { decodeEntry, encodeEntry, generationKey, type L2Entry } from './layout'
import { OutageList } from './outage'
import { L2Leases } from './leases'

import type { L2WriteMode } from './write-mode'

export interface L2Options {
  url: string
  prefix: string
  timeoutMs: number
  maxTtlMs: number
  breakerMs: number
  write: L2WriteMode
  /** The coherence checker's mutation: the fill rule is off (a discarded fill is stored). Never in production. */
  noDiscard?: boolean
}

/** What a change does in L2. Values cross only in `set`. */
export type L2Step =
  | { op: 'set'; key: string; value: Uint8Array; ttlMs: number | undefined; version: number | undefined }
  | { op: 'delete'; key: string }
  | { op: 'bump'; scope: InvalidationScope | 'clear' }

/** An L2 read in flight: every concurrent miss of its key on this host waits on it. */
export class PendingRead {
  /** A change of the key arrived before the answer: it is not stored here. */
  discarded = false
  #waiters: Array<(entry: L2Entry | undefined, discarded: boolean) => void> = []
  #settled = false
  #entry: L2Entry | undefined

  /**
   * Calls `waiter` when the answer comes (right after the fill, in the same tick, so that what
   * a waiter registers, a near cache's tracking say, is in place before any later change).
   */
  onSettled(waiter: (entry: L2Entry | undefined, discarded: boolean) => void): void {
    if (this.#settled) waiter(this.#entry, this.discarded)
    else this.#waiters.push(waiter)
  }

  settle(entry: L2Entry | undefined): void {
    this.#settled = true
    this.#entry = entry
    for (const waiter of this.#waiters.splice(0)) waiter(entry, this.discarded)
  }
}

export interface L2Stats {
  l2Hits: number
  l2Misses: number
  l2Errors: number
  l2Fallbacks: number
  l2BreakerOpen: number
  l2LeasesGranted: number
  l2LeasesRefused: number
  l2LeasesExpired: number
}

export const NO_L2_STATS: L2Stats = { l2Hits: 0, l2Misses: 0, l2Errors: 0, l2Fallbacks: 0, l2BreakerOpen: 0, l2LeasesGranted: 0, l2LeasesRefused: 0, l2LeasesExpired: 0 }

/** How long start-up waits for L2 before running local-only until it answers. */
const CONNECT_WAIT_MS = 2000

export class L2Tier {
  readonly options: L2Options
  readonly #client: L2Client
  readonly #log: Logger
  readonly #inFlight = new Map<string, PendingRead>()
  readonly #outage = new OutageList()
  /** Keys another host's failed step left in L2, being deleted here: not read from L2 meanwhile. */
  readonly #repairing = new Map<string, number>()
  /** Scope repairs in progress: no key is read from L2 meanwhile. */
  #repairingScopes = 0
  #flushingOutage = false
  #outageTimer: NodeJS.Timeout
  /** Stores an L2 hit locally (Operations's fill). */
  #fill: (key: string, entry: L2Entry, ttlMs: number | undefined) => void = () => {}
  /** getOrLoad's load leases, fleet-wide (leases.ts). */
  readonly leases: L2Leases
  hits = 0
  misses = 0
  fallbacks = 0

  constructor(options: L2Options, log: Logger) {
    this.options = options
    this.#log = log
    this.#client = new L2Client({
      url: options.url,
      timeoutMs: options.timeoutMs,
      breakerMs: options.breakerMs,
      trouble: (what, err) => log.warn({ err: redactSecrets(err instanceof Error ? err.message : String(err)) }, what),
    })
    this.#client.onBack(() => void this.#flushOutage())
    this.leases = new L2Leases(this.#client, options.prefix, options.maxTtlMs, (err) => this.#fellBack(err, 1))
    // A quiet daemon still repairs L2 soon after it returns.
    this.#outageTimer = setInterval(() => {
      if (!this.#outage.empty && this.#client.breaker.allows) void this.#flushOutage()
    }, Math.max(100, Math.min(options.breakerMs, 1000)))
    this.#outageTimer.unref()
  }

  static async start(options: L2Options, log: Logger): Promise<L2Tier> {
    const tier = new L2Tier(options, log)
    const up = await tier.#client.connect(CONNECT_WAIT_MS)
    if (up) log.info({ l2: redactSecrets(options.url), prefix: options.prefix, write: options.write }, 'L2 connected')
    else log.warn({ l2: redactSecrets(options.url) }, 'L2 did not answer at start: running local-only until it does')
    return tier
  }

  setFill(fill: (key: string, entry: L2Entry, ttlMs: number | undefined) => void): void {
    this.#fill = fill
  }

  get writeThrough(): boolean {
    return this.options.write === 'through'
  }

  // --- reads ------------------------------------------------------------------------------

  /**
   * The L2 reads for `keys` (local misses), one per key: a key already being read joins that
   * read; the others share one round trip. Undefined for a key L2 is not asked about (the
   * breaker is open, or L2 may hold something stale until a repair finishes).
   */
  read(keys: readonly string[]): Array<PendingRead | undefined> {
    const out: Array<PendingRead | undefined> = new Array(keys.length)
    const fresh: string[] = []
    const pendings: PendingRead[] = []
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]
      const joined = this.#inFlight.get(key)
      if (joined) {
        out[i] = joined
        continue
      }
      if (!this.#readable(key)) {
        this.fallbacks++
        continue
      }
      const pending = new PendingRead()
      this.#inFlight.set(key, pending)
      out[i] = pending
      fresh.push(key)
      pendings.push(pending)
    }
    if (fresh.length > 0) {
      this.#client.read(this.options.prefix, fresh).then(
        (found) => fresh.forEach((key, i) => this.#settle(key, pendings[i], found[i] ? decodeEntry(found[i]!) : undefined, false)),
        (err) => {
          this.#fellBack(err, fresh.length)
          fresh.forEach((key, i) => this.#settle(key, pendings[i], undefined, true))
        },
      )
    }
    return out
  }

  /** Counts the answer, fills the local store unless discarded, then tells the waiters. */
  #settle(key: string, pending: PendingRead, entry: L2Entry | undefined, failed: boolean): void {
    if (this.#inFlight.get(key) === pending) this.#inFlight.delete(key)
    const ttlMs = entry?.expiresAt === undefined ? undefined : entry.expiresAt - Date.now()
    const live = entry !== undefined && (ttlMs === undefined || ttlMs > 0) ? entry : undefined
    if (live) this.hits++
    else if (!failed) this.misses++
    if (live && (!pending.discarded || this.options.noDiscard === true)) this.#fill(key, live, ttlMs)
    pending.settle(live)
  }

  /** A change of `key` arrived: a read (or a loader's fill) of it in flight is not stored. */
  changedKey(key: string): void {
    this.leases.changedKey(key)
    const pending = this.#inFlight.get(key)
    if (pending === undefined) return
    pending.discarded = true
    this.#inFlight.delete(key)
  }

  /** A scope changed: reads of keys in it are not stored. */
  changedScope(scope: InvalidationScope): void {
    this.leases.changedScope(scope)
    const prefix = scope.scope === 'table' ? `${scope.svc}:${scope.table}:` : scope.scope === 'service' ? `${scope.svc}:` : scope.prefix
    for (const key of [...this.#inFlight.keys()]) if (key.startsWith(prefix)) this.changedKey(key)
  }

  /** Everything changed (clear, a bridge gap): no read in flight is stored. */
  changedAll(): void {
    this.leases.changedAll()
    for (const pending of this.#inFlight.values()) pending.discarded = true
    this.#inFlight.clear()
  }

  #readable(key: string): boolean {
    if (!this.#client.breaker.allows) return false
    // While a flush runs, the list is empty but its bumps and deletes have not all landed: a
    // read sent meanwhile could reach Redis before them and refill what the outage left stale.
    return this.#outage.empty && !this.#flushingOutage && this.#repairingScopes === 0 && !this.#repairing.has(key)
  }

  // --- writes -----------------------------------------------------------------------------

  /**
   * Runs a local change's step in L2. Never rejects: it resolves to `{ l2Failed: true }` when
   * L2 did not take the step (the bridge message says so, and the step is remembered for when
   * L2 returns).
   */
  async step(step: L2Step): Promise<{ l2Failed: true } | undefined> {
    try {
      await this.#run(step)
      return undefined
    } catch (err) {
      this.#fellBack(err, 1)
      this.#remember(step)
      return { l2Failed: true }
    }
  }

  /**
   * Another host's step did not reach L2: do it from here before trusting L2 for that key (or
   * scope) again. Reads of it skip L2 until this settles.
   */
  repair(step: Exclude<L2Step, { op: 'set' }>): void {
    if (step.op === 'delete') this.#repairing.set(step.key, (this.#repairing.get(step.key) ?? 0) + 1)
    else this.#repairingScopes++
    void this.step(step).finally(() => {
      if (step.op === 'bump') {
        this.#repairingScopes--
        return
      }
      const n = this.#repairing.get(step.key)! - 1
      if (n === 0) this.#repairing.delete(step.key)
      else this.#repairing.set(step.key, n)
    })
  }

  async #run(step: L2Step): Promise<void> {
    const prefix = this.options.prefix
    switch (step.op) {
      case 'set': {
        const now = Date.now()
        const expiresAt = step.ttlMs === undefined ? undefined : now + step.ttlMs
        const px = Math.max(1, Math.min(step.ttlMs ?? this.options.maxTtlMs, this.options.maxTtlMs))
        await this.#client.write(prefix, step.key, encodeEntry(step.value, step.version, expiresAt), px, step.version)
        return
      }
      case 'delete':
        await this.#client.delete(prefix, [step.key])
        return
      case 'bump':
        await this.#client.bump([generationKey(prefix, step.scope)])
    }
  }

  #remember(step: L2Step): void {
    if (step.op === 'bump') this.#outage.generation(generationKey(this.options.prefix, step.scope))
    else this.#outage.key(step.key)
  }

  #fellBack(err: unknown, count: number): void {
    this.fallbacks += count
    if (!(err instanceof BreakerOpen)) this.#log.debug({ err: redactSecrets(err instanceof Error ? err.message : String(err)) }, 'L2 step failed')
  }

  /** L2 answers again: delete and bump what it missed. */
  async #flushOutage(): Promise<void> {
    if (this.#flushingOutage || this.#outage.empty) return
    this.#flushingOutage = true
    const taken = this.#outage.take()
    try {
      const generations = taken.overflowed ? [generationKey(this.options.prefix, 'clear'), ...taken.generations] : taken.generations
      if (generations.length > 0) await this.#client.bump(generations)
      for (let i = 0; i < taken.keys.length; i += 1000) await this.#client.delete(this.options.prefix, taken.keys.slice(i, i + 1000))
      this.#log.info({ keys: taken.keys.length, generations: generations.length, overflowed: taken.overflowed }, 'L2 is back: removed what it missed during the outage')
    } catch {
      // Still away: put it all back (deleting twice is harmless) and try again later.
      for (const key of taken.keys) this.#outage.key(key)
      for (const name of taken.generations) this.#outage.generation(name)
      if (taken.overflowed) this.#outage.overflowed = true
    } finally {
      this.#flushingOutage = false
    }
  }

  stats(): L2Stats {
    return {
      l2Hits: this.hits,
      l2Misses: this.misses,
      l2Errors: this.#client.errors,
      l2Fallbacks: this.fallbacks,
      l2BreakerOpen: this.#client.breaker.open ? 1 : 0,
      l2LeasesGranted: this.leases.granted,
      l2LeasesRefused: this.leases.refused,
      l2LeasesExpired: this.leases.expired,
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#outageTimer)
    await this.#client.close()
  }
}
