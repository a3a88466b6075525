// The server commands that report on the daemon rather than touch the cache: INFO (with
// Redis's field names where one exists), and the snapshot verbs BGSAVE and LASTSAVE.

import type { Daemon } from '../server/daemon'
import { noSnapshotFile } from '../server/snapshots'
import { reply } from './codec'
import { RespError, text, type Handler } from './handler'

// --- snapshots (serve --snapshot) ----------------------------------------------------------

/** Starts a save (or joins the next one if a save runs); LASTSAVE tells when it is done. */
export const bgsave: Handler = (ctx, args) => {
  if (args.length > 2 || (args.length === 2 && !/^SCHEDULE$/i.test(text(args[1])))) throw new RespError('ERR syntax error')
  if (ctx.daemon.snapshots === undefined) throw noSnapshotFile()
  ctx.daemon.saveSnapshot().catch(() => {}) // a failure is logged at error; LASTSAVE does not move
  return reply.simple('Background saving started')
}

/** Unix seconds of the last snapshot saved (or loaded at start); 0 before any. */
export const lastsave: Handler = (ctx) => reply.integer(Math.floor((ctx.daemon.snapshots?.lastSaveUnixMs ?? 0) / 1000))

// --- INFO ---------------------------------------------------------------------------------

function bridgeInfo(daemon: Daemon, s: ReturnType<Daemon['stats']>): Array<[string, string | number]> {
  const bridge = daemon.bridge
  return [
    ['bridge_enabled', bridge ? 1 : 0],
    ...(bridge ? ([['bridge_engine', bridge.engine], ['bridge_name', bridge.options.name], ['bridge_host_id', bridge.options.hostId], ['bridge_epoch', bridge.epoch], ['bridge_offline_policy', bridge.options.offline]] as Array<[string, string]>) : []),
    ['bridge_connected', s.bridgeConnected ?? 0],
    ['bridge_published', s.bridgePublished ?? 0],
    ['bridge_received', s.bridgeReceived ?? 0],
    ['bridge_applied', s.bridgeApplied ?? 0],
    ['bridge_rejected', s.bridgeRejected ?? 0],
    ['bridge_gaps', s.bridgeGaps ?? 0],
    ['bridge_flushes', s.bridgeFlushes ?? 0],
    ['bridge_outbox_current', s.bridgeOutboxCurrent ?? 0],
    ['bridge_lag_ms_p99', s.bridgeLagMsP99 ?? 0],
  ]
}

export const info: Handler = (ctx, args) => {
  const s = ctx.daemon.stats()
  const sections: Record<string, Array<[string, string | number]>> = {
    server: [
      ['redis_version', '7.0.0'],
      ['localcached_version', ctx.serverVersion],
      ['redis_mode', 'standalone'],
      ['process_id', process.pid],
      ['uptime_in_seconds', Math.floor((Date.now() - s.startUnixMs) / 1000)],
    ],
    clients: [
      ['connected_clients', ctx.connectedClients()],
      ['pubsub_clients', s.subscribersCurrent],
      ['tracking_clients', s.trackingClients ?? 0],
    ],
    memory: [
      ['used_memory', s.bytesCurrent],
      ['maxmemory', s.bytesMax],
      // Not a Redis value (Redis has no SIEVE policy): what runs, in Redis's allkeys-* form.
      ['maxmemory_policy', 'allkeys-sieve'],
      ['used_memory_rss', process.memoryUsage().rss],
    ],
    stats: [
      ['keyspace_hits', s.getHits],
      ['keyspace_misses', s.getMisses],
      ['evicted_keys', s.evictions],
      ['expired_keys', s.expiredRemovals],
      ['total_commands_processed', s.getCalls + s.putCalls + s.delCalls],
      // Both doors, native and RESP, as the metrics port counts them.
      ['total_connections_received', s.connectionsTotal ?? 0],
      ['rejected_connections', s.connectionsRejected ?? 0],
      ['total_net_input_bytes', s.readBytes ?? 0],
      ['total_net_output_bytes', s.writtenBytes ?? 0],
      // Client tracking (near caches of native clients), under Redis's names.
      ['tracking_total_keys', s.trackingKeys ?? 0],
      ['tracking_invalidations_sent', s.trackingPushes ?? 0],
      ['tracking_lagged_flushes', s.trackingLaggedFlushes ?? 0],
      ['tracking_evicted_keys', s.trackingEvictedKeys ?? 0],
      ['load_leases_current', s.leasesCurrent ?? 0],
      ['load_leases_granted', s.leasesGranted ?? 0],
      ['load_leases_refused', s.leasesRefused ?? 0],
    ],
    persistence: [
      ['loading', ctx.daemon.readiness.loading ? 1 : 0],
      ['rdb_bgsave_in_progress', ctx.daemon.snapshots?.saving ? 1 : 0],
      ['rdb_last_save_time', Math.floor((ctx.daemon.snapshots?.lastSaveUnixMs ?? 0) / 1000)],
      ['rdb_saves', ctx.daemon.snapshots?.saves ?? 0],
      ['rdb_last_bgsave_status', (ctx.daemon.snapshots?.lastSaveFailed ?? false) ? 'err' : 'ok'],
      ['localcached_snapshot_file', ctx.daemon.snapshots?.options.path ?? ''],
    ],
    // The cross-host bridge (docs/multi-host.md); bridge_enabled:0 and zeros without --bridge.
    bridge: bridgeInfo(ctx.daemon, s),
    // The shared second tier (docs/tiers.md); l2_enabled:0 and zeros without --l2.
    l2: [
      ['l2_enabled', ctx.daemon.l2 ? 1 : 0],
      ['l2_write', ctx.daemon.l2?.options.write ?? ''],
      ['l2_hits', s.l2Hits ?? 0],
      ['l2_misses', s.l2Misses ?? 0],
      ['l2_errors', s.l2Errors ?? 0],
      ['l2_fallbacks', s.l2Fallbacks ?? 0],
      ['l2_breaker_open', s.l2BreakerOpen ?? 0],
      ['l2_leases_granted', s.l2LeasesGranted ?? 0],
      ['l2_leases_refused', s.l2LeasesRefused ?? 0],
      ['l2_leases_expired', s.l2LeasesExpired ?? 0],
    ],
    keyspace: s.itemsCurrent > 0 ? [['db0', `keys=${s.itemsCurrent},expires=0,avg_ttl=0`]] : [],
  }
  const wanted = args.length > 1 ? text(args[1]).toLowerCase() : 'all'
  const names = wanted === 'all' || wanted === 'default' || wanted === 'everything' ? Object.keys(sections) : [wanted]
  const body = names
    .filter((n) => sections[n])
    .map((n) => `# ${n[0].toUpperCase()}${n.slice(1)}\r\n${sections[n].map(([k, v]) => `${k}:${v}\r\n`).join('')}`)
    .join('\r\n')
  return reply.bulk(body)
}

