// Fleet-wide single flight (docs/tiers.md): getOrLoad's load lease, held in L2 when L2 is on.
//
// - A lease is `SET NX PX` of a token (host id, bridge epoch, connection id, random) under the
//   key's lease name; the same token renews it. Every write script ends it (layout.ts).
// - Release, and a holder's disconnect, is compare-and-delete: only a lease still holding the
//   token goes, so a late release never ends someone else's lease.
// - The loader's fill (`Put{lease}`) is stored in L2 only while its token still holds the lease
//   (one script), and kept here only if no change of the key arrived while that ran (the fill
//   rule, as for an L2 read). A refused fill is a no-op: a late loader cannot spread an old value.
// - A holder that dies (with its host) frees the lease when its PX runs out. A lease held here
//   that ran out before its holder filled or released it is counted in `expired`.
// - When L2 cannot answer (down, breaker open), `acquire` says 'fallback' and the caller takes a
//   local lease instead (one load per host for that key).

import { randomBytes } from 'node:crypto'
import type { InvalidationScope } from '../protocol/messages'
import type { L2Client } from './client'
import { encodeEntry } from './layout'

interface Held {
  holder: object
  token: string
  expiresAt: number
}

/** A fill in flight: a change of its key that arrives before the answer keeps it out of the host store. */
export interface PendingFill {
  discarded: boolean
}

export type FillOutcome = 'stored' | 'refused' | 'fallback'

export class L2Leases {
  readonly #client: L2Client
  readonly #prefix: string
  readonly #maxTtlMs: number
  readonly #fellBack: (err: unknown) => void
  /** Leases granted in L2 to this host's connections, by key. */
  readonly #held = new Map<string, Held>()
  readonly #fills = new Map<string, PendingFill>()
  #owner = `?:${randomBytes(4).toString('hex')}`
  granted = 0
  refused = 0
  #expired = 0

  constructor(client: L2Client, prefix: string, maxTtlMs: number, fellBack: (err: unknown) => void) {
    this.#client = client
    this.#prefix = prefix
    this.#maxTtlMs = maxTtlMs
    this.#fellBack = fellBack
  }

  /** The host part of every token from now on (the bridge's host id and epoch). */
  setOwner(hostId: string, epoch: string): void {
    this.#owner = `${hostId}:${epoch}`
  }

  get expired(): number {
    this.#sweep(Date.now())
    return this.#expired
  }

  /** Takes `holder`'s lease on `key` in L2; 'fallback' when L2 did not answer. */
  async acquire(key: string, holder: object, holderId: number, ttlMs: number): Promise<boolean | 'fallback'> {
    const now = Date.now()
    const mine = this.#held.get(key)
    const token = mine !== undefined && mine.holder === holder && mine.expiresAt > now ? mine.token : `${this.#owner}:${holderId}:${randomBytes(6).toString('hex')}`
    let granted: boolean
    try {
      granted = await this.#client.lease(this.#prefix, key, token, ttlMs)
    } catch (err) {
      this.#fellBack(err)
      return 'fallback'
    }
    if (!granted) {
      this.refused++
      return false
    }
    this.granted++
    const previous = this.#held.get(key)
    if (previous !== undefined && previous.token !== token) this.#countIfExpired(previous, now)
    this.#held.set(key, { holder, token, expiresAt: Date.now() + ttlMs })
    return true
  }

  /** Ends `holder`'s L2 lease on `key`: undefined when it holds none here. */
  release(key: string, holder: object): Promise<void> | undefined {
    const held = this.#held.get(key)
    if (held === undefined || held.holder !== holder) return undefined
    this.#held.delete(key)
    this.#countIfExpired(held, Date.now())
    return this.#compareAndDelete([[key, held.token]])
  }

  /** A holder disconnected: its leases end (compare-and-delete, one round trip). */
  releaseAll(holder: object): void {
    const ended: Array<[string, string]> = []
    for (const [key, held] of this.#held) {
      if (held.holder !== holder) continue
      this.#held.delete(key)
      this.#countIfExpired(held, Date.now())
      ended.push([key, held.token])
    }
    if (ended.length > 0) void this.#compareAndDelete(ended)
  }

  /**
   * The loader's fill: stored in L2 only while `holder`'s token holds the lease. Undefined when
   * `holder` holds no L2 lease on `key` here (it ran out, or a change ended it). `pending` is
   * what the caller checks before keeping the value locally.
   */
  fill(key: string, holder: object, value: Uint8Array, ttlMs: number | undefined, version: number | undefined): { pending: PendingFill; outcome: Promise<FillOutcome> } | undefined {
    const held = this.#held.get(key)
    if (held === undefined || held.holder !== holder) return undefined
    this.#held.delete(key)
    const pending: PendingFill = { discarded: false }
    this.#fills.set(key, pending)
    const now = Date.now()
    const px = Math.max(1, Math.min(ttlMs ?? this.#maxTtlMs, this.#maxTtlMs))
    const entry = encodeEntry(value, version, ttlMs === undefined ? undefined : now + ttlMs)
    const outcome = this.#client.fill(this.#prefix, key, entry, px, version, held.token).then(
      (stored): FillOutcome => {
        if (!stored) this.#countIfExpired(held, Date.now())
        return stored ? 'stored' : 'refused'
      },
      (err): FillOutcome => {
        this.#fellBack(err)
        return 'fallback'
      },
    )
    return {
      pending,
      outcome: outcome.finally(() => {
        if (this.#fills.get(key) === pending) this.#fills.delete(key)
      }),
    }
  }

  /** A change of `key` arrived: a fill in flight is not kept here, and a lease held here is over (L2's write script ended it). */
  changedKey(key: string): void {
    const fill = this.#fills.get(key)
    if (fill !== undefined) {
      fill.discarded = true
      this.#fills.delete(key)
    }
    const held = this.#held.get(key)
    if (held === undefined) return
    this.#held.delete(key)
    this.#countIfExpired(held, Date.now())
    // Changes that ran no L2 script (an eviction or expiry here) leave the L2 lease: end it.
    void this.#compareAndDelete([[key, held.token]])
  }

  /** A scope changed: its fills in flight are not kept; its leases were orphaned by the bump. */
  changedScope(scope: InvalidationScope): void {
    if (this.#fills.size === 0 && this.#held.size === 0) return
    const prefix = scope.scope === 'table' ? `${scope.svc}:${scope.table}:` : scope.scope === 'service' ? `${scope.svc}:` : scope.prefix
    for (const key of [...this.#fills.keys(), ...this.#held.keys()]) if (key.startsWith(prefix)) this.#forget(key)
  }

  changedAll(): void {
    for (const fill of this.#fills.values()) fill.discarded = true
    this.#fills.clear()
    this.#sweep(Date.now())
    this.#held.clear()
  }

  #forget(key: string): void {
    const fill = this.#fills.get(key)
    if (fill !== undefined) fill.discarded = true
    this.#fills.delete(key)
    const held = this.#held.get(key)
    if (held !== undefined) this.#countIfExpired(held, Date.now())
    this.#held.delete(key)
  }

  async #compareAndDelete(held: Array<[string, string]>): Promise<void> {
    try {
      await this.#client.release(this.#prefix, held)
    } catch (err) {
      // Not ended in L2: it runs out by its PX.
      this.#fellBack(err)
    }
  }

  #countIfExpired(held: Held, now: number): void {
    if (held.expiresAt <= now) this.#expired++
  }

  /** Leases held here that ran out before their holder filled or released them. */
  #sweep(now: number): void {
    for (const [key, held] of this.#held) {
      if (held.expiresAt > now) continue
      this.#expired++
      this.#held.delete(key)
    }
  }
}
