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
    ['shards', String(s.shards)],
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('')
}
