// The daemon's state and semantics, apart from any transport: the store, the pub/sub, and
// the rules for which request publishes what (the reference design's, with its holes fixed).

import { NativeStore, rawStoreOf } from '../native-store'
import { PubSub } from './pubsub'
import { Tracker } from './tracking'
import type { InvalidationScope } from '../protocol/messages'
import { Leases } from './leases'
import type { CacheEvent } from '../protocol/events'
import type { ResolvedServeOptions } from './options'

export class Daemon {
  readonly store: NativeStore
  readonly pubsub: PubSub
  /** Which keys near-cache clients hold; told of every change, whatever `publish` says. */
  readonly tracker: Tracker
  readonly leases: Leases
  readonly publishDefault: boolean
  /** The publish decision of the write in progress, while the store is running it. */
  #writePublishes: boolean | undefined

  constructor(options: ResolvedServeOptions) {
    this.store = new NativeStore({
      maxBytes: options.maxBytes,
      maxValueBytes: options.maxValueBytes,
      shards: options.shards,
      sweepIntervalMs: options.sweepIntervalMs,
      maxKeys: options.maxKeys,
      svcCaps: options.svcCaps,
    })
    this.publishDefault = options.publishDefault
    const raw = rawStoreOf(this.store)
    this.pubsub = new PubSub(options.subscriberQueue, (count) => raw.setSubscribers(count))
    this.tracker = new Tracker(options.maxTrackedKeys, options.maxPendingReplyBytes)
    this.leases = new Leases(options.maxLeases)
    // Evictions happen inside a write, so they follow that write's publish decision;
    // expiries (lazy on a read, or by the sweeper) follow --publish-default.
    this.store.onRemoval((removal) => {
      if (removal.cause === 'overflow') {
        this.pubsub.laggedAll(removal.dropped)
        this.tracker.flushAll('lagged')
        return
      }
      this.changed(removal.key)
      if (removal.cause === 'evicted') {
        if (this.#writePublishes ?? this.publishDefault) this.publish({ type: 'evicted', key: removal.key, reason: 'memory_pressure' })
      } else if (removal.cause === 'dependency') {
        // Derived entries removed because something they depend on changed: they follow the
        // publish decision of the request that changed it (or the default, for expiry).
        if (this.#writePublishes ?? this.publishDefault) this.publish({ type: 'invalidate', key: removal.key, cause: 'dependency' })
      } else if (this.publishDefault) this.publish({ type: 'evicted', key: removal.key, reason: 'expired' })
    })
  }

  /**
   * Every change to a key's value or presence comes through here (or changedScope/cleared),
   * from both protocols, whatever the request's publish flag: near caches must drop it, and a
   * load lease on it is over.
   */
  changed(key: string): void {
    this.tracker.changed(key)
    this.leases.changed(key)
  }

  changedScope(scope: InvalidationScope): void {
    this.tracker.changedScope(scope)
  }

  /** The store was emptied. */
  cleared(): void {
    this.tracker.flushAll('clear')
  }

  publishes(requested: boolean | undefined): boolean {
    return requested ?? this.publishDefault
  }

  publish(event: CacheEvent): void {
    this.pubsub.publish(event)
  }

  /** Runs a store write with its publish decision visible to the eviction listener. */
  write<T>(publishes: boolean, run: () => T): T {
    this.#writePublishes = publishes
    try {
      return run()
    } finally {
      this.#writePublishes = undefined
    }
  }

  /** The stats blob exactly as Rust encodes it, with the event counters brought up to date. */
  statsBinary(): Buffer {
    const { published, dropped, lagged } = this.pubsub.takeCounters()
    if (published || dropped || lagged) rawStoreOf(this.store).recordEvents(published, dropped, lagged)
    return this.store.statsBinary()
  }

  close(): void {
    this.pubsub.closeAll()
    this.store.close()
  }
}
