// `stats` as a table a person reads: counters with thousands separators, bytes in MiB too.
import type { Stats } from '../stats'

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`

export function formatStats(s: Stats): string {
  const hitRate = s.getCalls === 0 ? '-' : `${((100 * s.getHits) / s.getCalls).toFixed(1)}%`
  const rows: Array<[string, string]> = [
    ['started', new Date(s.startUnixMs).toISOString()],
    ['items', s.itemsCurrent.toLocaleString('en-US')],
    ['bytes', `${s.bytesCurrent.toLocaleString('en-US')} / ${s.bytesMax.toLocaleString('en-US')} (${mib(s.bytesCurrent)} / ${mib(s.bytesMax)})`],
    ['gets', `${s.getCalls.toLocaleString('en-US')} (hits ${s.getHits.toLocaleString('en-US')}, misses ${s.getMisses.toLocaleString('en-US')}, hit rate ${hitRate})`],
    ['puts', s.putCalls.toLocaleString('en-US')],
    ['dels', s.delCalls.toLocaleString('en-US')],
    ['invalidates', s.invalidateCalls.toLocaleString('en-US')],
    ['table upserts', s.tableChangedUpsertCalls.toLocaleString('en-US')],
    ['evictions', s.evictions.toLocaleString('en-US')],
    ['expired', s.expiredRemovals.toLocaleString('en-US')],
    ['subscribers', s.subscribersCurrent.toLocaleString('en-US')],
    ['events published', s.eventsPublished.toLocaleString('en-US')],
    ['events dropped', s.eventsDropped.toLocaleString('en-US')],
    ['lagged notices', s.laggedNotices.toLocaleString('en-US')],
    ['insertions', s.insertions.toLocaleString('en-US')],
    ['invalidations', s.invalidations.toLocaleString('en-US')],
    ['version conflicts', s.versionConflicts.toLocaleString('en-US')],
    ['max keys', s.maxKeys === 0 ? 'none' : s.maxKeys.toLocaleString('en-US')],
    ['shards', String(s.shards)],
  ]
  // A daemon's own numbers; an older daemon's stats lack them.
  if (s.connectionsCurrent !== undefined) {
    rows.push(['connections', `${s.connectionsCurrent.toLocaleString('en-US')} open (${(s.connectionsTotal ?? 0).toLocaleString('en-US')} accepted, ${(s.connectionsRejected ?? 0).toLocaleString('en-US')} refused)`])
    rows.push(['traffic', `${mib(s.readBytes ?? 0)} read, ${mib(s.writtenBytes ?? 0)} written`])
  }
  // Only a bridged daemon has anything here (every bridge field is 0 without --bridge).
  if ((s.bridgePublished ?? 0) > 0 || (s.bridgeReceived ?? 0) > 0) {
    const n = (x: number | undefined) => (x ?? 0).toLocaleString('en-US')
    rows.push(['bridge', `${s.bridgeConnected ? 'connected' : 'DISCONNECTED'}; published ${n(s.bridgePublished)}, received ${n(s.bridgeReceived)}, applied ${n(s.bridgeApplied)}, rejected ${n(s.bridgeRejected)}; gaps ${n(s.bridgeGaps)}, flushes ${n(s.bridgeFlushes)}; outbox ${n(s.bridgeOutboxCurrent)}; lag p99 ${n(s.bridgeLagMsP99)} ms`])
  }
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('')
}

/** One row per service: bytes (and cap), items, hits, misses, hit rate. */
export function formatByService(s: Stats): string {
  const rows = [['service', 'bytes', 'cap', 'items', 'hits', 'misses', 'hit rate']]
  for (const [name, v] of Object.entries(s.bySvc).sort(([a], [b]) => a.localeCompare(b))) {
    const gets = v.hits + v.misses
    rows.push([name, v.bytes.toLocaleString('en-US'), v.cap ? v.cap.toLocaleString('en-US') : '-', v.items.toLocaleString('en-US'), v.hits.toLocaleString('en-US'), v.misses.toLocaleString('en-US'), gets ? `${((100 * v.hits) / gets).toFixed(1)}%` : '-'])
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ') + '\n').join('')
}
