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
  'invalidations',
  'maxKeys',
  'dependencyRemovals',
] as const

export type StatsField = (typeof STATS_FIELDS)[number]

export interface ServiceStats {
  bytes: number
  items: number
  hits: number
  misses: number
  /** The service's byte cap, 0 if none. */
  cap: number
}

export type Stats = Record<StatsField, number> & {
  /** getHits / getCalls, or 0 before the first get. */
  hitRate: number
  /** Per service (services past 1024 per shard are counted under "(other)"). */
  bySvc: Record<string, ServiceStats>
}

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
  const stats = { bySvc: {} } as Stats
  STATS_FIELDS.forEach((name, i) => {
    // Counters stay far below 2^53, so a Number holds them exactly.
    stats[name] = Number(view.getBigUint64(HEADER_BYTES + i * 8, true))
  })
  stats.hitRate = stats.getCalls === 0 ? 0 : stats.getHits / stats.getCalls
  // The per-service section follows the fields: u32 count, then per service a u8 name
  // length, the name, and bytes, items, hits, misses, cap as u64s.
  let at = HEADER_BYTES + count * 8
  if (bytes.byteLength >= at + 4) {
    const services = view.getUint32(at, true)
    at += 4
    for (let s = 0; s < services; s++) {
      const len = bytes[at]
      if (bytes.byteLength < at + 1 + len + 40) throw new TypeError('stats service section truncated')
      const name = Buffer.from(bytes.buffer, bytes.byteOffset + at + 1, len).toString('utf8')
      const u64 = (i: number) => Number(view.getBigUint64(at + 1 + len + i * 8, true))
      stats.bySvc[name] = { bytes: u64(0), items: u64(1), hits: u64(2), misses: u64(3), cap: u64(4) }
      at += 1 + len + 40
    }
  }
  return stats
}
