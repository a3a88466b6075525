// The daemon's state apart from any transport: the store, the pub/sub, the tracking table and
// the load leases, with the operations over them (operations.ts) that every door shares.

import { NativeStore } from '../native-store'
import { PubSub } from './pubsub'
import { Tracker } from './tracking'
import { Leases } from './leases'
import { Operations } from './operations'
import { decodeStats, withDaemonFields, type Stats } from '../stats'
import type { ResolvedServeOptions } from './options'
import { CommandCounts } from './command-counts'
import { Traffic } from './traffic'
import { Readiness } from './readiness'
import { NO_BRIDGE_STATS, type Bridge } from '../bridge/bridge'
import { DaemonSnapshots, noSnapshotFile, type SnapshotSaveResult } from './snapshots'
import type { SnapshotOptions } from './options'
import type { Logger } from '../logger'
import { NO_L2_STATS, type L2Tier } from '../l2/tier'

export class Daemon {
  readonly #store: NativeStore
  readonly pubsub: PubSub
  /** Which keys near-cache clients hold; told of every change, whatever `publish` says. */
  readonly tracker: Tracker
  readonly leases: Leases
  /** Every operation a door may run. */
  readonly ops: Operations
  /** Commands answered at each door, counted there (metrics). */
  readonly commands = new CommandCounts()
  /** Connections and bytes at each door. */
  readonly traffic = new Traffic()
  /** Held by whatever must finish before the daemon is ready (/readyz). */
  readonly readiness = new Readiness()
  /** The cross-host bridge, when --bridge is set (serve() attaches it once connected). */
  bridge: Bridge | undefined
  /** Warm restart, when --snapshot is set. */
  snapshots: DaemonSnapshots | undefined
  /** The shared second tier, when --l2 is set (serve() attaches it before the bridge). */
  l2: L2Tier | undefined

  constructor(options: ResolvedServeOptions) {
    this.#store = new NativeStore({
      maxBytes: options.maxBytes,
      maxValueBytes: options.maxValueBytes,
      shards: options.shards,
      sweepIntervalMs: options.sweepIntervalMs,
      maxKeys: options.maxKeys,
      svcCaps: options.svcCaps,
    })
    this.pubsub = new PubSub(options.subscriberQueue)
    this.tracker = new Tracker(options.maxTrackedKeys, options.maxPendingReplyBytes)
    this.leases = new Leases(options.maxLeases)
    this.ops = new Operations({ store: this.#store, pubsub: this.pubsub, tracker: this.tracker, leases: this.leases, publishDefault: options.publishDefault, publishWrites: options.publishWrites })
  }

  /** The store's stats (docs/stats-format.md) with the daemon's own fields filled in. */
  statsBinary(): Buffer {
    const events = this.pubsub.counters
    const traffic = this.traffic.total()
    return withDaemonFields(this.#store.statsBinary(), {
      subscribersCurrent: this.pubsub.size,
      eventsPublished: events.published,
      eventsDropped: events.dropped,
      laggedNotices: events.lagged,
      trackingClients: this.tracker.peers,
      trackingKeys: this.tracker.counters.trackedKeys,
      trackingPushes: this.tracker.counters.pushes,
      trackingLaggedFlushes: this.tracker.counters.lagged,
      trackingEvictedKeys: this.tracker.counters.evictedTracking,
      leasesCurrent: this.leases.size,
      leasesGranted: this.leases.granted,
      leasesRefused: this.leases.refused,
      connectionsCurrent: traffic.currentConnections,
      connectionsTotal: traffic.connectionsTotal,
      connectionsRejected: traffic.connectionsRejected,
      readBytes: traffic.readBytes,
      writtenBytes: traffic.writtenBytes,
      ...(this.bridge?.stats() ?? NO_BRIDGE_STATS),
      ...(this.l2?.stats() ?? NO_L2_STATS),
    })
  }

  /** Saves and loads --snapshot's file from this daemon's store, recording the bridge's position. */
  enableSnapshots(options: SnapshotOptions, log: Logger): DaemonSnapshots {
    this.snapshots = new DaemonSnapshots(this.#store, options, log, () => this.bridge?.position())
    return this.snapshots
  }

  /** The Snapshot request and RESP SAVE: BadRequest without --snapshot. */
  saveSnapshot(): Promise<SnapshotSaveResult> {
    if (this.snapshots === undefined) return Promise.reject(noSnapshotFile())
    return this.snapshots.save()
  }

  /**
   * Drops what a snapshot loaded, before any client connected: nothing to tell anyone, and
   * (unlike a Clear) nothing for the bridge to send to other hosts.
   */
  dropLoaded(): void {
    this.#store.clear()
  }

  stats(): Stats {
    return decodeStats(this.statsBinary())
  }

  close(): void {
    this.pubsub.closeAll()
    this.#store.close()
  }
}
