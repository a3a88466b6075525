// Every cache operation the daemon offers, each in one place: the store call, the delivery of
// the removals it causes, what near caches and load leases are told, and which event it
// publishes. The native protocol's handlers, the RESP commands (and later doors) only parse
// arguments and shape replies; none of them touches the store or decides what to publish.
// It is over 500 lines on purpose: one rule, one place (STYLE.md), and these are the rules.
//
// The rules, once:
// - Every change to a key (a write of any kind, a delete, an invalidation, an eviction, an
//   expiry, a dependency removal) is told to the tracker (near caches drop it) and ends any
//   load lease on it, whatever the request's publish flag says.
// - A scoped invalidation tells the tracker the scope and ends the leases in it; clear tells
//   every near cache to flush and ends every lease.
// - A request publishes when its `publish` flag says so, else when --publish-default does.
//   Removals a request causes (evictions, dependency removals) follow that same decision;
//   expiries follow --publish-default.
// - Which event: a delete of a key that existed, and an invalidation (present or not), publish
//   `invalidate`; an upsert publishes `table_changed`; a scope publishes one
//   `invalidate_scope`; clear publishes `flush`. Other writes publish nothing of their own (the
//   reference design's rule: a writer that wants others to drop a key says so with an
//   upsert), unless --publish-writes is on: then each key they change also publishes
//   `invalidate{cause: 'write'}`, so that processes caching from events drop what was
//   overwritten. (An upsert announces itself with `table_changed` either way.)
// - Every change a request caused (not evictions, expiries or dependency removals, which each
//   host decides for itself) is also handed to the change sink, the bridge's one way in. A
//   change from another host is applied through applyRemote(), by the same rules, and is never
//   handed back to the sink.
// - With L2 (docs/tiers.md): a local miss of get, mget and getWithMeta asks L2, and the answer
//   is a promise (the doors keep a connection's replies in order behind it); every change a
//   request caused runs its L2 step before the sink's message about it is sent; under
//   --l2-write through the doors also hold the request's reply until that step settled
//   (takeAckWait). Any change of a key discards an L2 read of it in flight (the fill rule).

import { READ_CODES, type EntryMeta, type KeysOptions, type KeysPage, type NativeStore, type SetIfOptions, type SetIfResult, type SetOptions, type TtlOptions } from '../native-store'
import type { RunOutcome } from '../native-store-runs'
import type { CacheEvent } from '../protocol/events'
import type { InvalidationScope } from '../protocol/messages'
import type { RemovalNotice } from '../removals'
import type { Leases } from './leases'
import type { BridgeFlushReason, Change, ChangeSink, KeyChangeKind } from './change'
import type { PubSub } from './pubsub'
import type { Tracker, TrackingPeer } from './tracking'
import type { L2Step, L2Tier } from '../l2/tier'
import { completeValues, metaOf, valueOf } from '../l2/reads'

const READ_MISS = READ_CODES.miss
const READ_IN_OVERFLOW = READ_CODES.inOverflow

/** An answer now, or (a local miss that asks L2) later. */
export type MaybeAsync<T> = T | Promise<T>

/** Every write takes this: `publish` overrides --publish-default for this one request. */
export interface PublishOption {
  publish?: boolean
}

export interface OperationParts {
  store: NativeStore
  pubsub: PubSub
  tracker: Tracker
  leases: Leases
  publishDefault: boolean
  /** --publish-writes: writes that publish also publish `invalidate{cause: 'write'}` per key. */
  publishWrites?: boolean
}

export class Operations {
  readonly #store: NativeStore
  readonly #pubsub: PubSub
  readonly #tracker: Tracker
  readonly #leases: Leases
  readonly publishDefault: boolean
  readonly publishWrites: boolean
  /** The publish decision of the write in progress, while the store is running it. */
  #writePublishes: boolean | undefined
  /** The bridge's way in; none without a bridge. */
  #sink: ChangeSink | undefined
  /** False while the offline policy makes reads miss (the bridge lost contact too long ago). */
  #readsServed = true
  /** The shared second tier, when --l2 is set. */
  #l2: L2Tier | undefined
  /** Under --l2-write through: the L2 steps the current request's reply waits for. */
  #ackWait: Promise<unknown> | undefined

  constructor(parts: OperationParts) {
    this.#store = parts.store
    this.#pubsub = parts.pubsub
    this.#tracker = parts.tracker
    this.#leases = parts.leases
    this.publishDefault = parts.publishDefault
    this.publishWrites = parts.publishWrites ?? false
    this.#store.onRemoval((removal) => this.#removed(removal))
  }

  /** Local misses ask `l2`, and every change runs its L2 step, from now on. */
  setL2(l2: L2Tier | undefined): void {
    this.#l2 = l2
    l2?.setFill((key, entry, ttlMs) => {
      const options = ttlMs === undefined && entry.version === undefined ? undefined : { ttlMs, version: entry.version }
      try {
        this.#store.set(key, entry.value, options)
      } catch {
        // Not storable here (larger than this host's --max-value-bytes, say): answered, not kept.
      }
    })
  }

  /**
   * The L2 steps the last request's reply must wait for (--l2-write through), taken once by the
   * door that answers it; undefined when it may answer now. Never rejects.
   */
  takeAckWait(): Promise<unknown> | undefined {
    const wait = this.#ackWait
    this.#ackWait = undefined
    return wait
  }

  /** Request-caused changes go to `sink` from now on (the bridge). */
  setChangeSink(sink: ChangeSink | undefined): void {
    this.#sink = sink
  }

  // --- reads ------------------------------------------------------------------------------

  get(key: string): MaybeAsync<Buffer | undefined> {
    if (!this.#readsServed) return undefined
    const value = this.#store.get(key)
    if (value !== undefined || this.#l2 === undefined) return value
    const pending = this.#l2.read([key])[0]
    return pending && valueOf(pending)
  }

  /** Every local miss is asked of L2 in one round trip. */
  mget(keys: readonly string[]): MaybeAsync<Array<Buffer | undefined>> {
    if (!this.#readsServed) return keys.map(() => undefined)
    const values = this.#store.mget(keys)
    if (this.#l2 === undefined) return values
    const missed: number[] = []
    for (let i = 0; i < values.length; i++) if (values[i] === undefined) missed.push(i)
    if (missed.length === 0) return values
    return completeValues(values, missed, this.#l2.read(missed.map((i) => keys[i])))
  }

  exists(keys: readonly string[]): number {
    if (!this.#readsServed) return 0
    return this.#store.exists(keys)
  }

  /** With `tracking`, a hit is remembered so that the peer's near cache hears of its next change. */
  getWithMeta(key: string, tracking?: TrackingPeer): MaybeAsync<EntryMeta | undefined> {
    if (!this.#readsServed) return undefined
    const meta = this.#store.getWithMeta(key)
    if (meta && tracking) this.#tracker.track(key, tracking)
    if (meta !== undefined || this.#l2 === undefined) return meta
    const pending = this.#l2.read([key])[0]
    if (pending === undefined) return undefined
    // A tracking peer is tracked as the fill lands; when the fill was discarded, it is sent
    // Invalidated{key} after the reply (written in this tick's microtasks), so its near cache
    // drops what it was just given.
    const track = tracking && ((discarded: boolean) => {
      this.#tracker.track(key, tracking)
      if (discarded) setImmediate(() => this.#tracker.changed(key))
    })
    return metaOf(pending, track)
  }

  /** The local entry's value, version and TTL, never asking L2 (TTL, PERSIST). */
  localMeta(key: string): EntryMeta | undefined {
    if (!this.#readsServed) return undefined
    return this.#store.getWithMeta(key)
  }

  keys(options: KeysOptions): KeysPage {
    return this.#store.keys(options)
  }

  // --- runs: many gets, or many plain puts, in one store call -------------------------------

  /**
   * Whether the doors may execute runs of puts (putRun): not with L2, whose steps of a write
   * are per key (each put then goes through put()). Runs of gets are always served.
   */
  get putRunsServed(): boolean {
    return this.#l2 === undefined
  }

  /**
   * get() of many keys given as bytes (NativeStore.runs.getRun): `run.results[i]` is key i's
   * result, its value copied into `target`. Returns how many keys were answered; the door
   * answers the request at that index through get() (or with `run.failure`) and goes on. With
   * L2 a run stops after a local miss, and `run.missAnswer` holds what get() answers for that
   * key (asking L2 before any later key is read, as one get() after another would).
   */
  getRun(source: Buffer, spans: Int32Array, count: number, target: Uint8Array, run: RunOutcome): number {
    if (!this.#readsServed) {
      run.prepare(count)
      run.results.fill(READ_MISS, 0, count)
      return count
    }
    const l2 = this.#l2
    const done = this.#store.runs.getRun(source, spans, count, target, run, l2 !== undefined)
    if (l2 === undefined || done === 0 || run.results[done - 1] >= 0 || run.results[done - 1] === READ_IN_OVERFLOW) return done
    // A miss asks L2, as get() does. A valid key (it was looked up) is ASCII.
    const key = source.toString('latin1', spans[2 * (done - 1)], spans[2 * (done - 1) + 1])
    const pending = l2.read([key])[0]
    run.missAnswer = { value: pending && valueOf(pending) }
    return done
  }

  /**
   * put() without options of many entries given as bytes (NativeStore.putRun), each with
   * all of put()'s consequences, in the same order as one put() after another. Returns how
   * many were stored; the door answers the request at that index with `run.failure`, or
   * through put(), and goes on.
   */
  putRun(source: Buffer, spans: Int32Array, count: number, run: RunOutcome): number {
    const done = this.#write(undefined, () => this.#store.runs.putRun(source, spans, count, run))
    for (let i = 0; i < done; i++) {
      // A stored key is valid, so ASCII: latin1 decodes it as put() received it.
      const key = source.toString('latin1', spans[4 * i], spans[4 * i + 1])
      // The removals the last put left are delivered as set() delivers them: after the
      // puts before it have had their consequences, before its own.
      if (i === done - 1 && run.removalsPending) this.#write(undefined, () => this.#store.runs.deliverRemovals())
      // No L2 step: runs of puts are not used with L2 (putRunsServed).
      this.#wrote(key, undefined, undefined, null)
    }
    return done
  }

  // --- writes -----------------------------------------------------------------------------

  put(key: string, value: Uint8Array, options: SetOptions & PublishOption = {}): void {
    const { ttlMs, version, dependsOn } = options
    // A plain write (RESP's SET fast path) passes no options object for the store to check.
    const storeOptions = ttlMs === undefined && version === undefined && dependsOn === undefined ? undefined : { ttlMs, version, dependsOn }
    this.#write(options.publish, () => this.#store.set(key, value, storeOptions))
    // An entry with dependencies is not shared through L2: a fill there would lose them.
    this.#wrote(key, options.publish, options.version, dependsOn === undefined ? { op: 'set', key, value, ttlMs, version } : { op: 'delete', key })
  }

  /** Stores `svc:table:pk` and tells other processes the row changed (`table_changed`). */
  upsert(svc: string, table: string, pk: string, value: Uint8Array, options: TtlOptions & { version?: number } & PublishOption = {}): void {
    const publishes = this.#publishes(options.publish)
    this.#write(publishes, () => this.#store.tableChangedUpsert(svc, table, pk, value, { ttlMs: options.ttlMs, version: options.version }))
    const key = `${svc}:${table}:${pk}`
    this.#changed(key)
    if (publishes) this.#publish({ type: 'table_changed', key })
    this.#announce({ kind: 'upsert', key, version: options.version, published: publishes }, { op: 'set', key, value, ttlMs: options.ttlMs, version: options.version })
  }

  /** All or nothing (see NativeStore.mset). */
  mset(entries: ReadonlyArray<readonly [string, Uint8Array]>, options: TtlOptions & PublishOption = {}): void {
    this.#write(options.publish, () => this.#store.mset(entries, { ttlMs: options.ttlMs }))
    for (const [key, value] of entries) this.#wrote(key, options.publish, undefined, { op: 'set', key, value, ttlMs: options.ttlMs, version: undefined })
  }

  setIf(key: string, value: Uint8Array, options: SetIfOptions & PublishOption = {}): SetIfResult {
    const result = this.#write(options.publish, () => this.#store.setIf(key, value, { ttlMs: options.ttlMs, when: options.when, keepTtl: options.keepTtl, returnOld: options.returnOld }))
    if (result.stored) this.#wrote(key, options.publish)
    return result
  }

  incr(key: string, delta: number, options: TtlOptions & PublishOption = {}): number {
    const value = this.#write(options.publish, () => this.#store.incr(key, delta, { ttlMs: options.ttlMs }))
    this.#wrote(key, options.publish)
    return value
  }

  /** incr over the signed 64-bit range (Redis's INCRBY). */
  incrInt64(key: string, delta: bigint, options: TtlOptions & PublishOption = {}): bigint {
    const value = this.#write(options.publish, () => this.#store.incrInt64(key, delta, { ttlMs: options.ttlMs }))
    this.#wrote(key, options.publish)
    return value
  }

  /** Whether it swapped; `expected` null means "only if absent". */
  cas(key: string, expected: Uint8Array | null, next: Uint8Array, options: PublishOption = {}): boolean {
    const swapped = this.#write(options.publish, () => this.#store.cas(key, expected, next))
    if (swapped) this.#wrote(key, options.publish)
    return swapped
  }

  /**
   * A new TTL for a live entry (null removes its TTL); returns whether the entry existed. A
   * TTL of 0 or less deletes the key, as Redis's EXPIRE does, and is a delete in every way.
   * Near caches re-read a key whose TTL changed rather than outlive it.
   */
  expire(key: string, ttlMs: number | null, options: PublishOption = {}): boolean {
    if (ttlMs !== null && ttlMs <= 0) return this.del(key, options)
    const existed = this.#write(options.publish, () => this.#store.expire(key, ttlMs))
    if (existed) this.#wrote(key, options.publish)
    return existed
  }

  // --- removals ---------------------------------------------------------------------------

  /** Whether the key existed. */
  del(key: string, options: PublishOption = {}): boolean {
    const publishes = this.#publishes(options.publish)
    const existed = this.#write(publishes, () => this.#store.delete(key))
    if (existed) this.#deleted(key, publishes)
    // Crosses even when absent here: another host (or L2) may hold the key.
    this.#announce({ kind: 'delete', key, published: publishes && existed }, { op: 'delete', key })
    return existed
  }

  /** For each key, whether it existed. */
  mdel(keys: readonly string[], options: PublishOption = {}): boolean[] {
    const publishes = this.#publishes(options.publish)
    const existed = this.#write(publishes, () => this.#store.mdelEach(keys))
    for (let i = 0; i < keys.length; i++) if (existed[i]) this.#deleted(keys[i], publishes)
    if (this.#sink || this.#l2) for (let i = 0; i < keys.length; i++) this.#announce({ kind: 'delete', key: keys[i], published: publishes && existed[i] }, { op: 'delete', key: keys[i] })
    return existed
  }

  /** The value it removed, if any (Redis's GETDEL). */
  getDel(key: string, options: PublishOption = {}): Buffer | undefined {
    // A local read (never L2), missing as get() does under the bridge's offline policy; the
    // delete still happens, whatever the read saw.
    const value = this.#readsServed ? this.#store.get(key) : undefined
    return this.del(key, options) ? value : undefined
  }

  /**
   * Removes the key and what depends on it; returns whether it existed. Published even when
   * it was absent: other processes may hold it in caches of their own.
   */
  invalidate(key: string, options: PublishOption = {}): boolean {
    const publishes = this.#publishes(options.publish)
    const existed = this.#write(publishes, () => this.#store.invalidate(key))
    this.#changed(key)
    if (publishes) this.#publish({ type: 'invalidate', key })
    this.#announce({ kind: 'invalidate', key, published: publishes }, { op: 'delete', key })
    return existed
  }

  /** Removes every entry in the scope; returns how many. One event, not one per key. */
  invalidateScope(scope: InvalidationScope, options: PublishOption = {}): number {
    const publishes = this.#publishes(options.publish)
    const removed = this.#scope(scope, publishes, undefined)
    this.#announce({ kind: 'scope', scope, published: publishes }, { op: 'bump', scope })
    return removed
  }

  /** Removes every entry; returns how many there were. */
  clear(options: PublishOption = {}): number {
    const publishes = this.#publishes(options.publish)
    const removed = this.#clear(publishes, undefined)
    this.#announce({ kind: 'clear', published: publishes }, { op: 'bump', scope: 'clear' })
    return removed
  }

  // --- changes from other hosts (the bridge) ----------------------------------------------

  /**
   * Applies a change another host's request caused, as a local one would be: near caches get
   * their pushes, leases end, and local subscribers get the event iff the origin published,
   * with `origin` added. A write removes the local copy (values never cross) unless the local
   * entry's version is at least the remote one's. Never handed to the change sink.
   */
  applyRemote(change: Change, origin: string): void {
    // The origin's L2 step failed: do it from here, so L2 cannot refill what is dropped now.
    if (change.l2Failed && this.#l2) this.#l2.repair(change.kind === 'scope' ? { op: 'bump', scope: change.scope } : change.kind === 'clear' ? { op: 'bump', scope: 'clear' } : { op: 'delete', key: change.key })
    switch (change.kind) {
      case 'scope':
        this.#scope(change.scope, change.published, origin)
        return
      case 'clear':
        this.#clear(change.published, origin)
        return
      default:
        this.#applyRemoteKey(change.kind, change.key, change.version, change.published, origin)
    }
  }

  /**
   * The bridge missed changes (a gap) or lost contact for too long: nothing here can be
   * trusted. Empties the store, flushes every near cache and tells every subscriber, whatever
   * --publish-default says.
   */
  flushForBridge(reason: BridgeFlushReason): void {
    this.#write(false, () => this.#store.clear())
    this.#tracker.flushAll(reason)
    this.#leases.clear()
    this.#l2?.changedAll()
    this.#publish({ type: 'flush', reason })
  }

  /**
   * The offline policy `miss`: while false, reads miss, so nothing possibly stale is served;
   * near caches are flushed once when reads stop being served.
   */
  serveReads(served: boolean): void {
    if (served === this.#readsServed) return
    this.#readsServed = served
    if (!served) {
      this.#tracker.flushAll('bridge_offline')
      this.#leases.clear()
      this.#l2?.changedAll()
    }
  }

  #applyRemoteKey(kind: KeyChangeKind, key: string, version: number | undefined, published: boolean, origin: string): void {
    if (version !== undefined && (kind === 'write' || kind === 'upsert')) {
      const local = this.#store.getWithMeta(key)
      if (local !== undefined && local.version !== null && local.version >= version) return
    }
    // invalidate() also removes what depends on the key here, as the local write would have.
    this.#write(published, () => this.#store.invalidate(key))
    this.#changed(key)
    if (!published) return
    if (kind === 'upsert') this.#publish({ type: 'table_changed', key, origin })
    else if (kind === 'write') this.#publish({ type: 'invalidate', key, cause: 'write', origin })
    else this.#publish({ type: 'invalidate', key, origin })
  }

  #scope(scope: InvalidationScope, publishes: boolean, origin: string | undefined): number {
    const { removed } = this.#write(publishes, () => {
      switch (scope.scope) {
        case 'table':
          return this.#store.invalidateTable(scope.svc, scope.table)
        case 'service':
          return this.#store.invalidateService(scope.svc)
        case 'prefix':
          return this.#store.invalidatePrefix(scope.prefix)
      }
    })
    this.#tracker.changedScope(scope)
    this.#leases.changedScope(scope)
    this.#l2?.changedScope(scope)
    if (publishes) this.#publish({ type: 'invalidate_scope', ...scope, ...scopeNames(scope), removed, ...(origin === undefined ? {} : { origin }) })
    return removed
  }

  #clear(publishes: boolean, origin: string | undefined): number {
    const removed = this.#write(publishes, () => this.#store.clear())
    this.#tracker.flushAll('clear')
    this.#leases.clear()
    this.#l2?.changedAll()
    if (publishes) this.#publish(origin === undefined ? { type: 'flush' } : { type: 'flush', origin })
    return removed
  }

  // --- load leases ------------------------------------------------------------------------

  /**
   * Grants `holder` the lease on `key` unless another live holder has it: in L2 when L2 is on
   * (fleet-wide, l2/leases.ts), else, or when L2 does not answer, here. `holderId` names the
   * holder in the L2 token.
   */
  lease(key: string, holder: object, ttlMs: number, holderAlive: (holder: object) => boolean, holderId = 0): MaybeAsync<boolean> {
    this.#store.has(key) // checks the key: a lease on a key that can never be stored is a bug
    if (this.#l2 === undefined) return this.#leases.acquire(key, holder, ttlMs, holderAlive)
    return this.#l2.leases.acquire(key, holder, holderId, ttlMs).then((granted) => (granted === 'fallback' ? this.#leases.acquire(key, holder, ttlMs, holderAlive) : granted))
  }

  releaseLease(key: string, holder: object): MaybeAsync<boolean> {
    const local = this.#leases.release(key, holder)
    const shared = this.#l2?.leases.release(key, holder)
    return shared === undefined ? local : shared.then(() => true)
  }

  releaseLeases(holder: object): void {
    this.#leases.releaseAll(holder)
    this.#l2?.leases.releaseAll(holder)
  }

  /**
   * A loader's fill (`Put{lease}`). With L2, it is stored (in L2 and here, and announced) only
   * while `holder` still holds the key's lease; otherwise it is a no-op, so a late loader
   * cannot spread an old value. A lease taken here while L2 was away makes it a plain put, as
   * does an L2 that does not answer the fill. Without L2 the flag changes nothing.
   */
  putLeased(key: string, value: Uint8Array, options: SetOptions & PublishOption, holder: object): MaybeAsync<void> {
    const l2 = this.#l2
    if (l2 === undefined || options.dependsOn !== undefined) return this.put(key, value, options)
    const fill = l2.leases.fill(key, holder, value, options.ttlMs, options.version)
    if (fill === undefined) {
      if (this.#leases.release(key, holder)) this.put(key, value, options)
      return
    }
    return fill.outcome.then((outcome) => {
      if (outcome === 'fallback') {
        this.put(key, value, options)
        return this.takeAckWait()?.then(() => undefined)
      }
      if (outcome === 'refused' || fill.pending.discarded) return
      // In L2 already: kept here and announced, with no step of its own.
      const { ttlMs, version } = options
      this.#write(options.publish, () => this.#store.set(key, value, ttlMs === undefined && version === undefined ? undefined : { ttlMs, version }))
      this.#wrote(key, options.publish, version, null)
    })
  }

  // --- the rules ----------------------------------------------------------------------------

  #publishes(requested: boolean | undefined): boolean {
    return requested ?? this.publishDefault
  }

  /** Runs a store call with its publish decision visible to the removal listener. */
  #write<T>(publish: boolean | undefined, run: () => T): T {
    this.#writePublishes = this.#publishes(publish)
    try {
      return run()
    } finally {
      this.#writePublishes = undefined
    }
  }

  /** A key's value or presence changed: near caches drop it and a lease on it is over. */
  #changed(key: string): void {
    this.#tracker.changed(key)
    this.#leases.changed(key)
    this.#l2?.changedKey(key)
  }

  /**
   * A write (other than an upsert, which announces itself) changed the key. Its L2 step stores
   * the value when the write says all of it (put, mset); other writes (incr, setIf, cas,
   * expire) delete the key in L2, and the next reader loads it.
   */
  #wrote(key: string, publish: boolean | undefined, version?: number, step: L2Step | null = { op: 'delete', key }): void {
    this.#changed(key)
    const published = this.publishWrites && this.#publishes(publish)
    if (published) this.#publish({ type: 'invalidate', key, cause: 'write' })
    this.#announce({ kind: 'write', key, version, published }, step)
  }

  /** Runs the change's L2 step (if L2 is on and it has one) and hands the change to the sink, its message waiting for that step. */
  #announce(change: Change, step: L2Step | null): void {
    const l2 = this.#l2
    if (l2 === undefined || step === null) {
      this.#sink?.(change)
      return
    }
    const settled = l2.step(step)
    if (l2.writeThrough) this.#ackWait = this.#ackWait === undefined ? settled : Promise.all([this.#ackWait, settled])
    this.#sink?.(change, settled)
  }

  #deleted(key: string, publishes: boolean): void {
    this.#changed(key)
    if (publishes) this.#publish({ type: 'invalidate', key })
  }

  #publish(event: CacheEvent): void {
    this.#pubsub.publish(event)
  }

  /**
   * Removals the store reports: evictions and dependency removals happen inside a write and
   * follow its publish decision; expiries (lazy, or by the sweeper) follow --publish-default.
   */
  #removed(removal: RemovalNotice): void {
    if (removal.cause === 'overflow') {
      // Notices were lost: nobody can know which keys changed.
      this.#pubsub.laggedAll(removal.dropped)
      this.#tracker.flushAll('lagged')
      this.#leases.clear()
      this.#l2?.changedAll()
      return
    }
    this.#changed(removal.key)
    if (removal.cause === 'expired') {
      if (this.publishDefault) this.#publish({ type: 'evicted', key: removal.key, reason: 'expired' })
      return
    }
    if (!(this.#writePublishes ?? this.publishDefault)) return
    if (removal.cause === 'evicted') this.#publish({ type: 'evicted', key: removal.key, reason: 'memory_pressure' })
    else this.#publish({ type: 'invalidate', key: removal.key, cause: 'dependency' })
  }
}

/** A scope's svc and table, where it names them, so subscribers' filters apply to its event. */
function scopeNames(scope: InvalidationScope): { svc?: string; table?: string } {
  if (scope.scope !== 'prefix') return {}
  const [svc, table, rest] = scope.prefix.split(':')
  if (rest !== undefined) return { svc, table }
  if (table !== undefined) return { svc }
  return {}
}
