// What `top` shows, from two stats samples: rates are the difference over the time between
// them. Pure functions from samples to text, so they are tested without a terminal.

import type { Stats } from '../stats'

export interface Sample {
  stats: Stats
  /** When it was taken (performance.now() milliseconds). */
  atMs: number
}

/** Counters shown as rates, with the label each gets. */
const RATES: Array<[keyof Stats, string]> = [
  ['getCalls', 'get'],
  ['putCalls', 'put'],
  ['delCalls', 'del'],
  ['invalidateCalls', 'invalidate'],
  ['tableChangedUpsertCalls', 'upsert'],
]

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`
const int = (n: number) => Math.round(n).toLocaleString('en-US')

function perSecond(prev: Sample | undefined, cur: Sample, field: keyof Stats): number | undefined {
  if (!prev) return undefined
  const seconds = (cur.atMs - prev.atMs) / 1000
  if (seconds <= 0) return undefined
  return Math.max(0, ((cur.stats[field] as number) - (prev.stats[field] as number)) / seconds)
}

const rate = (n: number | undefined) => (n === undefined ? '-' : int(n))

/** Hits over gets between the samples; over all time when there is no previous sample or no get since. */
function hitRate(prev: Sample | undefined, cur: Sample): string {
  const gets = cur.stats.getCalls - (prev?.stats.getCalls ?? 0)
  const hits = cur.stats.getHits - (prev?.stats.getHits ?? 0)
  if (gets > 0) return `${((100 * hits) / gets).toFixed(1)}%`
  return cur.stats.getCalls > 0 ? `${(100 * cur.stats.hitRate).toFixed(1)}% (all time)` : '-'
}

/** `[#####·····]` filled to `used / limit`. */
export function bar(used: number, limit: number, width: number): string {
  const filled = limit > 0 ? Math.min(width, Math.round((used / limit) * width)) : 0
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`
}

/**
 * The bridge's state. A daemon with a bridge has published or read at least its own heartbeat
 * by the time it serves (serve() waits for the engine), so all-zero counters mean no bridge.
 */
function bridgeState(prev: Sample | undefined, cur: Sample): string {
  const s = cur.stats
  if (!(s.bridgePublished || s.bridgeReceived)) return 'off'
  const link = s.bridgeConnected ? 'connected' : 'DISCONNECTED'
  return `${link}   applied ${rate(perSecond(prev, cur, 'bridgeApplied'))}/s   lag p99 ${int(s.bridgeLagMsP99 ?? 0)} ms   outbox ${int(s.bridgeOutboxCurrent ?? 0)}   gaps ${int(s.bridgeGaps ?? 0)}   flushes ${int(s.bridgeFlushes ?? 0)}`
}

/** The full-screen view: one line per row, fitted to `columns`. */
export function renderScreen(prev: Sample | undefined, cur: Sample, header: string, columns: number): string[] {
  const s = cur.stats
  const barWidth = Math.max(10, Math.min(50, columns - 40))
  const pct = (used: number, limit: number) => (limit > 0 ? `${((100 * used) / limit).toFixed(1)}%` : '-')
  const lines = [
    header,
    '',
    `ops/s     ${RATES.map(([field, label]) => `${label} ${rate(perSecond(prev, cur, field))}`).join('   ')}`,
    `hit rate  ${hitRate(prev, cur)}`,
    `bytes     ${bar(s.bytesCurrent, s.bytesMax, barWidth)} ${mib(s.bytesCurrent)} / ${mib(s.bytesMax)} (${pct(s.bytesCurrent, s.bytesMax)})`,
    s.maxKeys > 0
      ? `items     ${bar(s.itemsCurrent, s.maxKeys, barWidth)} ${int(s.itemsCurrent)} / ${int(s.maxKeys)} (${pct(s.itemsCurrent, s.maxKeys)})`
      : `items     ${int(s.itemsCurrent)} (no --max-keys)`,
    `evictions ${rate(perSecond(prev, cur, 'evictions'))}/s   expired ${rate(perSecond(prev, cur, 'expiredRemovals'))}/s`,
    `conns     ${int(s.connectionsCurrent ?? 0)} open   ${rate(perSecond(prev, cur, 'connectionsTotal'))}/s new   ${int(s.connectionsRejected ?? 0)} refused`,
    `subs      ${int(s.subscribersCurrent)} subscribers   events ${rate(perSecond(prev, cur, 'eventsPublished'))}/s   lagged ${rate(perSecond(prev, cur, 'laggedNotices'))}/s (${int(s.laggedNotices)} total)`,
    `tracking  ${int(s.trackingClients ?? 0)} clients   ${int(s.trackingKeys ?? 0)} keys   pushes ${rate(perSecond(prev, cur, 'trackingPushes'))}/s`,
    `leases    ${int(s.leasesCurrent ?? 0)} held   granted ${rate(perSecond(prev, cur, 'leasesGranted'))}/s   refused ${rate(perSecond(prev, cur, 'leasesRefused'))}/s`,
    `bridge    ${bridgeState(prev, cur)}`,
    '',
    'q or Ctrl-C quits',
  ]
  return lines.map((l) => (l.length > columns ? l.slice(0, columns) : l))
}

/** One line per refresh for a pipe or a log: key=value pairs, rates per second. */
export function renderLine(prev: Sample | undefined, cur: Sample, now: Date): string {
  const s = cur.stats
  const fields: Array<[string, string | number]> = [
    ...RATES.map(([field, label]): [string, string] => [`${label}/s`, rate(perSecond(prev, cur, field)).replace(/,/g, '')]),
    ['hit', hitRate(prev, cur).replace(' (all time)', '')],
    ['items', s.itemsCurrent],
    ['bytes', s.bytesCurrent],
    ['limit_bytes', s.bytesMax],
    ['evictions/s', rate(perSecond(prev, cur, 'evictions')).replace(/,/g, '')],
    ['conns', s.connectionsCurrent ?? 0],
    ['subs', s.subscribersCurrent],
    ['lagged', s.laggedNotices],
    ['tracking_clients', s.trackingClients ?? 0],
    ['tracking_keys', s.trackingKeys ?? 0],
    ['bridge', s.bridgePublished || s.bridgeReceived ? (s.bridgeConnected ? 'connected' : 'disconnected') : 'off'],
    ['bridge_lag_p99_ms', s.bridgeLagMsP99 ?? 0],
    ['bridge_gaps', s.bridgeGaps ?? 0],
  ]
  return `${now.toISOString()} ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`
}
