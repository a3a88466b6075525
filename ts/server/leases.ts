// Load leases: stampede protection across processes for getOrLoad. The first client to miss a
// key takes a short lease and runs its loader; the others see the lease refused and wait for
// the value (or for the lease to run out). A lease ends when its holder releases it, when the
// key changes in any way (the loaded value arriving, a delete, an invalidation, a scope that
// covers it, clear), when it expires, or when its holder disconnects.

import { LocalCachedError } from '../errors'
import type { InvalidationScope } from '../protocol/messages'

interface Lease {
  holder: object
  expiresAt: number
}

export class Leases {
  readonly #leases = new Map<string, Lease>()
  readonly #max: number
  readonly #now: () => number
  /** Leases granted and refused since start, for tests and INFO-style reporting. */
  granted = 0
  refused = 0

  constructor(max: number, now: () => number = Date.now) {
    this.#max = max
    this.#now = now
  }

  get size(): number {
    return this.#leases.size
  }

  /** Grants the lease unless another live holder has it. `holderAlive` tells a vanished holder. */
  acquire(key: string, holder: object, ttlMs: number, holderAlive: (holder: object) => boolean): boolean {
    const now = this.#now()
    const current = this.#leases.get(key)
    if (current !== undefined && current.holder !== holder && current.expiresAt > now && holderAlive(current.holder)) {
      this.refused++
      return false
    }
    if (current === undefined && this.#leases.size >= this.#max) {
      this.#sweep(now, holderAlive)
      if (this.#leases.size >= this.#max) throw new LocalCachedError('LimitExceeded', `the daemon already holds ${this.#max} load leases`)
    }
    this.#leases.set(key, { holder, expiresAt: now + ttlMs })
    this.granted++
    return true
  }

  /** Ends `holder`'s lease on `key`; returns whether it held one. */
  release(key: string, holder: object): boolean {
    const current = this.#leases.get(key)
    if (current === undefined || current.holder !== holder) return false
    this.#leases.delete(key)
    return true
  }

  /** The key was written or removed: whoever was loading it is done or moot. */
  changed(key: string): void {
    if (this.#leases.size !== 0) this.#leases.delete(key)
  }

  /** Every key in the scope was removed: their loads are moot. */
  changedScope(scope: InvalidationScope): void {
    if (this.#leases.size === 0) return
    const prefix = scope.scope === 'table' ? `${scope.svc}:${scope.table}:` : scope.scope === 'service' ? `${scope.svc}:` : scope.prefix
    for (const key of this.#leases.keys()) if (key.startsWith(prefix)) this.#leases.delete(key)
  }

  /** The store was emptied (or its removal notices were lost): every load is moot. */
  clear(): void {
    this.#leases.clear()
  }

  releaseAll(holder: object): void {
    for (const [key, lease] of this.#leases) if (lease.holder === holder) this.#leases.delete(key)
  }

  #sweep(now: number, holderAlive: (holder: object) => boolean): void {
    for (const [key, lease] of this.#leases) if (lease.expiresAt <= now || !holderAlive(lease.holder)) this.#leases.delete(key)
  }
}
