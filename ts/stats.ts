// Decodes the binary stats the Rust core encodes (layout: docs/stats-format.md).

/** Field order on the wire, as in crates/localcached-core/src/stats.rs. */
export const STATS_FIELDS = [
  'startUnixMs',
  'getCalls',
  'getHits',
  'getMisses',
  'putCalls',
  'delCalls',
  'invalidateCalls',
  'tableChangedUpsertCalls',
  'evictions',
  'expiredRemovals',
  'bytesCurrent',
  'itemsCurrent',
  'subscribersCurrent',
  'bytesMax',
  'shards',
  'eventsPublished',
  'eventsDropped',
  'laggedNotices',
  'insertions',
  'versionConflicts',
] as const

export type StatsField = (typeof STATS_FIELDS)[number]
export type Stats = Record<StatsField, number>

export const STATS_MAGIC = 'LCST'
export const STATS_VERSION = 1
const HEADER_BYTES = 8

export function decodeStats(bytes: Uint8Array): Stats {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const magic = String.fromCharCode(...bytes.subarray(0, 4))
  if (bytes.byteLength < HEADER_BYTES || magic !== STATS_MAGIC) {
    throw new TypeError('not a localcached stats blob (missing LCST magic)')
  }
  const version = view.getUint16(4, true)
  if (version !== STATS_VERSION) throw new TypeError(`unsupported stats layout version ${version}`)
  const count = view.getUint16(6, true)
  if (count < STATS_FIELDS.length || bytes.byteLength < HEADER_BYTES + count * 8) {
    throw new TypeError(`stats blob too short: ${count} fields in ${bytes.byteLength} bytes`)
  }
  const stats = {} as Stats
  STATS_FIELDS.forEach((name, i) => {
    // Counters stay far below 2^53, so a Number holds them exactly.
    stats[name] = Number(view.getBigUint64(HEADER_BYTES + i * 8, true))
  })
  return stats
}
