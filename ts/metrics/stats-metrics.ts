// Which Prometheus metric each stats() number becomes. Numbers operators know from
// memcached_exporter and redis_exporter get those names (with our prefix, base units and
// `_total` on counters); every other number is exported as localcached_<snake_case of its
// name>. The Record type makes a new stats field a compile error here until it is placed.

import type { DaemonStatsField, StatsField } from '../stats'

export const PREFIX = 'localcached_'

export type NumberField = StatsField | DaemonStatsField | 'hitRate'

export type StatsMetric =
  /** Exported under its own name: `localcached_<snake_case>`, `_total` when a counter. */
  | { kind: 'counter' | 'gauge'; help: string }
  /** Exported by a named metric (registry.ts builds it); `metric` says which. */
  | { kind: 'named'; metric: string }

const counter = (help: string): StatsMetric => ({ kind: 'counter', help })
const gauge = (help: string): StatsMetric => ({ kind: 'gauge', help })
const named = (metric: string): StatsMetric => ({ kind: 'named', metric })

export const STATS_METRICS: Record<NumberField, StatsMetric> = {
  startUnixMs: named('start_time_seconds'),
  getCalls: counter('Gets that reached the store.'),
  getHits: named('keyspace_hits_total'),
  getMisses: named('keyspace_misses_total'),
  putCalls: counter('Writes that reached the store.'),
  delCalls: counter('Deletes with a valid key.'),
  invalidateCalls: counter('Single-key invalidations asked for.'),
  tableChangedUpsertCalls: counter('Successful table-changed upserts.'),
  evictions: named('items_evicted_total'),
  expiredRemovals: named('expired_keys_total'),
  bytesCurrent: named('current_bytes'),
  itemsCurrent: named('current_items'),
  subscribersCurrent: gauge('Event subscribers connected now.'),
  bytesMax: named('limit_bytes'),
  shards: gauge('Store shards.'),
  eventsPublished: named('events_published_total'),
  eventsDropped: counter('Events a slow subscriber could not take (replaced by one lagged event per run).'),
  laggedNotices: named('subscriber_lagged_total'),
  insertions: counter('New keys stored.'),
  versionConflicts: counter('Versioned writes refused because the stored version was higher.'),
  invalidations: named('invalidations_total'),
  maxKeys: gauge('The entry-count limit, 0 if none.'),
  dependencyRemovals: named('invalidations_total'),
  trackingClients: named('tracking_clients'),
  trackingKeys: named('tracking_keys'),
  trackingPushes: counter('Invalidations pushed to near caches.'),
  trackingLaggedFlushes: counter('Near caches told to flush because they fell behind.'),
  trackingEvictedKeys: counter('Tracked keys forgotten (and invalidated) past --max-tracked-keys.'),
  leasesCurrent: named('load_leases_current'),
  leasesGranted: named('load_leases_total'),
  leasesRefused: named('load_leases_total'),
  connectionsCurrent: named('current_connections'),
  connectionsTotal: named('connections_total'),
  connectionsRejected: named('connections_rejected_total'),
  readBytes: named('read_bytes_total'),
  writtenBytes: named('written_bytes_total'),
  // The cross-host bridge (docs/multi-host.md); 0 without --bridge.
  bridgeConnected: gauge('1 while the cross-host bridge reads from its engine.'),
  bridgePublished: counter('Bridge messages the engine acknowledged.'),
  bridgeReceived: counter('Well-formed bridge messages read from other hosts.'),
  bridgeApplied: counter('Remote changes applied.'),
  bridgeRejected: counter('Malformed or foreign messages read from the bridge and ignored.'),
  bridgeGaps: counter('Bridge gaps detected (changes from another host may have been missed).'),
  bridgeFlushes: counter('Store flushes the bridge caused (gaps, or the offline policy).'),
  bridgeOutboxCurrent: gauge('Changes waiting to be sent to the bridge engine.'),
  bridgeLagMsP99: named('bridge_lag_p99_seconds'),
  // The shared second tier (docs/tiers.md); 0 without --l2.
  l2Hits: counter('Local misses that L2 answered with a value.'),
  l2Misses: counter('Local misses that L2 had nothing for.'),
  l2Errors: counter('L2 commands that failed or timed out.'),
  l2Fallbacks: counter('Reads and writes served local-only because L2 failed, its breaker was open, or a repair was pending.'),
  l2BreakerOpen: gauge('1 while the L2 breaker is open (L2 is not tried).'),
  l2LeasesGranted: counter('Fleet-wide load leases granted in L2 (getOrLoad single flight across hosts).'),
  l2LeasesRefused: counter('Fleet-wide load leases refused in L2: another host holds the key.'),
  l2LeasesExpired: counter('Fleet-wide load leases held on this host that ran out before their holder filled or released them.'),
  hitRate: gauge('Gets that hit over all gets since the start (prefer rate() of the hit and miss counters).'),
}

/** 'tableChangedUpsertCalls' → 'table_changed_upsert_calls'. */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()
}

/** The name a generically exported field gets. */
export function genericMetricName(field: NumberField, kind: 'counter' | 'gauge'): string {
  return `${PREFIX}${snakeCase(field)}${kind === 'counter' ? '_total' : ''}`
}
