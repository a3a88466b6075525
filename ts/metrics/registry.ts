// The daemon's Prometheus metrics (prom-client), read on scrape: the Rust stats once per
// scrape, the doors' counters (command-counts.ts, traffic.ts) and the readiness gate. Nothing
// here runs per request. Names and labels: docs/operations.md.

import { Counter, Gauge, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client'
import { LAG_BUCKETS_SECONDS, NO_LAG, type LagHistogramSnapshot } from '../bridge/lag-histogram'
import type { Daemon } from '../server/daemon'
import type { Stats } from '../stats'
import type { Protocol } from '../server/command-counts'
import type { DoorTraffic } from '../server/traffic'
import { genericMetricName, PREFIX, STATS_METRICS, type NumberField } from './stats-metrics'

/** Services given their own label value; the rest are summed under OTHER_SERVICE. */
export const MAX_SERVICE_LABELS = 100
export const OTHER_SERVICE = '(other)'

const LINT_FAILING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

type Sample = [LabelValues<string>, number]

export interface DaemonMetrics {
  readonly registry: Registry
  /** The text exposition format, read now. */
  scrape(): Promise<string>
}

export function createDaemonMetrics(daemon: Daemon, version: string): DaemonMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  // prom-client names three gauges `_total`, which promtool's lint rejects; each only sums the
  // per-type gauge of the same name without the suffix, so nothing is lost.
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name)
  // One read of the store per scrape, shared by every metric below.
  let stats: Stats = daemon.stats()
  const PROTOCOLS: Protocol[] = ['native', 'resp']

  const define = (kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[], read: () => number | Sample[]) => {
    const samples = (): Sample[] => {
      const v = read()
      return typeof v === 'number' ? [[{}, v]] : v
    }
    if (kind === 'counter') {
      new Counter({ name, help, labelNames, registers: [registry], collect() {
        this.reset()
        for (const [labels, v] of samples()) this.inc(labels, v)
      } })
    } else {
      new Gauge({ name, help, labelNames, registers: [registry], collect() {
        this.reset()
        for (const [labels, v] of samples()) this.set(labels, v)
      } })
    }
  }
  const m = (name: string) => `${PREFIX}${name}`
  const byDoor = (field: keyof DoorTraffic) => () => PROTOCOLS.map((p): Sample => [{ protocol: p }, daemon.traffic.of(p)[field]])

  define('gauge', m('up'), 'Whether the daemon answers (always 1 when scraped).', [], () => 1)
  define('gauge', m('build_info'), 'The running version, as a label.', ['version'], () => [[{ version }, 1]])
  define('gauge', m('start_time_seconds'), 'When the store was created, Unix seconds.', [], () => stats.startUnixMs / 1000)
  define('gauge', m('uptime_seconds'), 'Seconds since the store was created.', [], () => Math.max(0, (Date.now() - stats.startUnixMs) / 1000))
  define('gauge', m('ready'), 'Whether /readyz answers 200.', [], () => (daemon.readiness.ready ? 1 : 0))
  define('gauge', m('loading'), 'Whether a snapshot load or a replay holds readiness.', [], () => (daemon.readiness.loading ? 1 : 0))

  define('gauge', m('snapshot_last_save_timestamp_seconds'), 'When the last snapshot was saved (or, after a warm start, when the loaded one was), Unix seconds; 0 before any or without --snapshot.', [], () => (daemon.snapshots?.lastSaveUnixMs ?? 0) / 1000)
  define('gauge', m('snapshot_last_save_duration_seconds'), 'How long the last snapshot save took.', [], () => (daemon.snapshots?.lastSaveDurationMs ?? 0) / 1000)
  define('counter', m('snapshot_saves_total'), 'Snapshot saves, by result (a failed save keeps the previous file).', ['result'], () => [
    [{ result: 'ok' }, daemon.snapshots?.saves ?? 0],
    [{ result: 'error' }, daemon.snapshots?.saveFailures ?? 0],
  ])

  define('counter', m('commands_total'), 'Commands answered, by operation, door and status (ok or the error code).', ['command', 'protocol', 'status'], () =>
    daemon.commands.entries().map((c): Sample => [{ command: c.command, protocol: c.protocol, status: c.status }, c.count]),
  )
  define('counter', m('item_too_large_total'), 'Writes refused with ValueTooLarge.', [], () => daemon.commands.errorsWithStatus('ValueTooLarge'))

  define('counter', m('keyspace_hits_total'), 'Gets that returned a value.', [], () => stats.getHits)
  define('counter', m('keyspace_misses_total'), 'Gets that found nothing (or an expired entry).', [], () => stats.getMisses)
  define('gauge', m('current_items'), 'Entries held now.', [], () => stats.itemsCurrent)
  define('gauge', m('current_bytes'), 'Bytes charged now (key + value + per-entry overhead).', [], () => stats.bytesCurrent)
  define('gauge', m('limit_bytes'), 'The byte budget (--max-bytes).', [], () => stats.bytesMax)
  define('counter', m('items_evicted_total'), 'Entries evicted to stay within the budget.', [], () => stats.evictions)
  define('counter', m('expired_keys_total'), 'Entries removed because their TTL ran out.', [], () => stats.expiredRemovals)

  const services = () => topServices(stats)
  define('gauge', m('service_bytes'), `Bytes charged per service (top ${MAX_SERVICE_LABELS} by bytes, the rest under ${OTHER_SERVICE}).`, ['service'], () => services().map(([s, v]): Sample => [{ service: s }, v.bytes]))
  define('gauge', m('service_items'), 'Entries held per service.', ['service'], () => services().map(([s, v]): Sample => [{ service: s }, v.items]))
  define('gauge', m('service_limit_bytes'), 'Byte cap per service (--svc-cap), for services with one.', ['service'], () => services().filter(([, v]) => v.cap > 0).map(([s, v]): Sample => [{ service: s }, v.cap]))
  define('counter', m('service_keyspace_hits_total'), 'Gets that returned a value, per service.', ['service'], () => services().map(([s, v]): Sample => [{ service: s }, v.hits]))
  define('counter', m('service_keyspace_misses_total'), 'Gets that found nothing, per service.', ['service'], () => services().map(([s, v]): Sample => [{ service: s }, v.misses]))

  define('gauge', m('current_connections'), 'Connections open now, by door.', ['protocol'], byDoor('currentConnections'))
  define('counter', m('connections_total'), 'Connections accepted, by door.', ['protocol'], byDoor('connectionsTotal'))
  define('counter', m('connections_rejected_total'), 'Connections refused by --max-connections, by door.', ['protocol'], byDoor('connectionsRejected'))
  define('counter', m('read_bytes_total'), 'Bytes read from clients, by door.', ['protocol'], byDoor('readBytes'))
  define('counter', m('written_bytes_total'), 'Bytes written to clients, by door.', ['protocol'], byDoor('writtenBytes'))

  // `invalidations` counts every entry removed by invalidation, the dependency removals too.
  define('counter', m('invalidations_total'), 'Entries removed by invalidation: kind="direct" (a key or scope named), kind="dependency" (a key it depends on changed).', ['kind'], () => [
    [{ kind: 'direct' }, Math.max(0, stats.invalidations - stats.dependencyRemovals)],
    [{ kind: 'dependency' }, stats.dependencyRemovals],
  ])
  define('counter', m('events_published_total'), 'Events queued to subscribers, once per subscriber.', [], () => stats.eventsPublished)
  define('counter', m('subscriber_lagged_total'), 'lagged events sent to slow subscribers.', [], () => stats.laggedNotices)
  // Base units: the lag's p99 in seconds (stats carry it in ms).
  define('gauge', m('bridge_lag_p99_seconds'), 'p99 over the last minute of a remote change\'s origin timestamp to applied here (includes clock skew between hosts).', [], () => (stats.bridgeLagMsP99 ?? 0) / 1000)
  registerLagHistogram(registry, m('bridge_lag_seconds'), () => daemon.bridge?.lagHistogram() ?? NO_LAG)
  define('gauge', m('tracking_clients'), 'Connections with a near cache (Track).', [], () => stats.trackingClients ?? 0)
  define('gauge', m('tracking_keys'), 'Keys remembered for near caches.', [], () => stats.trackingKeys ?? 0)
  define('counter', m('load_leases_total'), 'getOrLoad load leases asked for, by result.', ['result'], () => [
    [{ result: 'granted' }, stats.leasesGranted ?? 0],
    [{ result: 'refused' }, stats.leasesRefused ?? 0],
  ])
  define('gauge', m('load_leases_current'), 'Load leases held now.', [], () => stats.leasesCurrent ?? 0)

  // Every other stats number, under its own name.
  for (const [field, how] of Object.entries(STATS_METRICS) as Array<[NumberField, (typeof STATS_METRICS)[NumberField]]>) {
    if (how.kind === 'named') continue
    define(how.kind, genericMetricName(field, how.kind), how.help, [], () => stats[field] ?? 0)
  }

  return {
    registry,
    async scrape() {
      stats = daemon.stats()
      return registry.metrics()
    },
  }
}

/**
 * A histogram whose counts live elsewhere (the bridge receiver's plain counters): prom-client's
 * Histogram would have to observe every change; this one is read on scrape.
 */
function registerLagHistogram(registry: Registry, name: string, read: () => LagHistogramSnapshot): void {
  const help = 'Lag of each remote change applied here since start: origin timestamp to applied, in seconds (includes clock skew between hosts).'
  registry.registerMetric({
    name,
    help,
    async get() {
      const h = read()
      const values = [
        ...LAG_BUCKETS_SECONDS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { le }, value: h.buckets[i] })),
        { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count },
        { metricName: `${name}_sum`, labels: {}, value: h.sumSeconds },
        { metricName: `${name}_count`, labels: {}, value: h.count },
      ]
      return { name, help, type: 'histogram', values, aggregator: 'sum' }
    },
  } as unknown as Parameters<Registry['registerMetric']>[0])
}

/** The services with the most bytes, at most MAX_SERVICE_LABELS, and the rest summed as OTHER_SERVICE. */
export function topServices(stats: Stats): Array<[string, Stats['bySvc'][string]]> {
  const all = Object.entries(stats.bySvc).sort(([, a], [, b]) => b.bytes - a.bytes)
  const named = all.filter(([s]) => s !== OTHER_SERVICE)
  const kept = named.slice(0, MAX_SERVICE_LABELS)
  const rest = [...named.slice(MAX_SERVICE_LABELS), ...all.filter(([s]) => s === OTHER_SERVICE)]
  if (rest.length === 0) return kept
  const other = { bytes: 0, items: 0, hits: 0, misses: 0, cap: 0 }
  for (const [, v] of rest) {
    other.bytes += v.bytes
    other.items += v.items
    other.hits += v.hits
    other.misses += v.misses
    other.cap += v.cap
  }
  return [...kept, [OTHER_SERVICE, other]]
}
