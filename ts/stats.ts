// The binary stats (layout: docs/stats-format.md): the Rust core encodes the store's fields;
// the daemon fills its own through withDaemonFields(), the one place that extends the layout.

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

/** Core fields the core writes as 0: the daemon owns these numbers and fills them. */
export const DAEMON_OWNED_CORE_FIELDS = ['subscribersCurrent', 'eventsPublished', 'eventsDropped', 'laggedNotices'] as const

/**
 * Fields only a daemon has, appended after the core's fields in this order (later ones are
 * added at the end, never in between). An embedded NativeStore's stats have none of them.
 */
export const DAEMON_STATS_FIELDS = [
  'trackingClients',
  'trackingKeys',
  'trackingPushes',
  'trackingLaggedFlushes',
  'trackingEvictedKeys',
  'leasesCurrent',
  'leasesGranted',
  'leasesRefused',
  'connectionsCurrent',
  'connectionsTotal',
  'connectionsRejected',
  'readBytes',
  'writtenBytes',
  'bridgeConnected',
  'bridgePublished',
  'bridgeReceived',
  'bridgeApplied',
  'bridgeRejected',
  'bridgeGaps',
  'bridgeFlushes',
  'bridgeOutboxCurrent',
  'bridgeLagMsP99',
  'l2Hits',
  'l2Misses',
  'l2Errors',
  'l2Fallbacks',
  'l2BreakerOpen',
  'l2LeasesGranted',
  'l2LeasesRefused',
  'l2LeasesExpired',
] as const

export type DaemonStatsField = (typeof DAEMON_STATS_FIELDS)[number]
export type DaemonStats = Record<(typeof DAEMON_OWNED_CORE_FIELDS)[number] | DaemonStatsField, number>

export interface ServiceStats {
  bytes: number
  items: number
  hits: number
  misses: number
  /** The service's byte cap, 0 if none. */
  cap: number
}

export type Stats = Record<StatsField, number> &
  /** Present in a daemon's stats only. */
  Partial<Record<DaemonStatsField, number>> & {
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
  DAEMON_STATS_FIELDS.forEach((name, i) => {
    if (STATS_FIELDS.length + i < count) stats[name] = Number(view.getBigUint64(HEADER_BYTES + (STATS_FIELDS.length + i) * 8, true))
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

/**
 * The core's stats blob with the daemon's numbers in it: the fields the core leaves at 0 are
 * set, and the daemon's own fields are appended after the core's (before the per-service
 * section), with the header's field count raised to match.
 */
export function withDaemonFields(core: Buffer, daemon: DaemonStats): Buffer {
  const coreCount = core.readUInt16LE(6)
  if (core.toString('latin1', 0, 4) !== STATS_MAGIC || coreCount !== STATS_FIELDS.length) {
    throw new TypeError(`the core's stats blob has ${coreCount} fields; this daemon knows ${STATS_FIELDS.length}`)
  }
  const fieldsEnd = HEADER_BYTES + coreCount * 8
  const out = Buffer.allocUnsafe(core.length + DAEMON_STATS_FIELDS.length * 8)
  core.copy(out, 0, 0, fieldsEnd)
  core.copy(out, fieldsEnd + DAEMON_STATS_FIELDS.length * 8, fieldsEnd)
  out.writeUInt16LE(coreCount + DAEMON_STATS_FIELDS.length, 6)
  for (const name of DAEMON_OWNED_CORE_FIELDS) out.writeBigUInt64LE(BigInt(daemon[name]), HEADER_BYTES + STATS_FIELDS.indexOf(name) * 8)
  DAEMON_STATS_FIELDS.forEach((name, i) => out.writeBigUInt64LE(BigInt(daemon[name]), fieldsEnd + i * 8))
  return out
}
