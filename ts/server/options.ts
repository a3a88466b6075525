// Daemon options: their defaults, the RESP password's sources and the rules for exposing RESP
// on TCP, and the default socket path, resolved the same way by the daemon, the client and the
// CLI. Names and types are checked against the option table (option-table.ts).

import type { DestinationStream, LevelWithSilent } from 'pino'
import type { Logger, LogFormat } from '../logger'
import { LocalCachedError } from '../errors'
import { DEFAULT_MAX_LEASES, DEFAULT_MAX_TRACKED_KEYS } from '../limits'
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { join, resolve as resolvePath } from 'node:path'
import { checkServeOptions } from './option-table'
import { parseSize } from './size'
import { defaultHostId, type BridgeOfflinePolicy, type BridgeOptions } from '../bridge/bridge'
import type { L2Options } from '../l2/tier'
import type { L2WriteMode } from '../l2/write-mode'

export { parseSize }

/** A byte count, or a size string as the flags take it ('128mb', '1gb'). */
export type Size = number | string

export interface ServeOptions {
  /**
   * Unix socket path for the native protocol. Default: $LOCALCACHED_SOCKET,
   * $XDG_RUNTIME_DIR/localcached.sock, /tmp/localcached-<uid>.sock. `false` runs without the
   * native socket, for a RESP-only daemon (then respSocket or respPort is required).
   */
  socket?: string | false
  /** Byte budget of the store. Default 128 MiB. */
  maxBytes?: Size
  /** Whether requests publish events when they do not say. Default true. */
  publishDefault?: boolean | 'on' | 'off'
  /** Writes that publish also publish `invalidate{cause: 'write'}` for each key they change. Default false. */
  publishWrites?: boolean | 'on' | 'off'
  shards?: number
  /** Default 1 MiB. */
  maxValueBytes?: Size
  /** Largest frame accepted. Default maxValueBytes + 64 KiB (room for the key and fields). */
  maxFrameBytes?: Size
  /** Events queued per subscriber before it gets `lagged`. Default 1024. */
  subscriberQueue?: number
  /** Heartbeat interval for subscribers. Default 1000. */
  heartbeatMs?: number
  /** How long shutdown waits for connections to finish. Default 5000. */
  shutdownTimeoutMs?: number
  /** Socket file permissions. Default 0o600. */
  socketMode?: number | string
  /** pino level. Default 'info'. */
  logLevel?: LevelWithSilent
  /** Where log lines go (tests inject one). Default stderr. */
  logDestination?: DestinationStream
  /** A ready logger, instead of logLevel/logDestination. */
  logger?: Logger
  /** Expired entries are swept this often. Default 1000. */
  sweepIntervalMs?: number
  /** Connections accepted at once; more get LimitExceeded. Default 4096. */
  maxConnections?: number
  /** Subscriptions at once; more get LimitExceeded. Default 4096. */
  maxSubscribers?: number
  /** Unsent reply bytes per connection past which the daemon stops reading it. Default 4 MiB. */
  maxPendingReplyBytes?: Size
  /** At most this many entries; past it, SIEVE eviction. Default: no limit. */
  maxKeys?: number
  /** Byte caps per service: a service over its cap evicts its own LRU entries. */
  svcCaps?: Record<string, Size>
  /** Keys remembered for near-cache clients (client tracking); past it the oldest is invalidated. Default 250,000 (DEFAULT_MAX_TRACKED_KEYS; about 160 bytes each). */
  maxTrackedKeys?: number
  /** Load leases (getOrLoad stampede protection) held at once. Default 100,000. */
  maxLeases?: number
  /** Also speak RESP (Redis's protocol) on this Unix socket. */
  respSocket?: string
  /** Also speak RESP on this TCP port (0: any free port), bound to respHost. */
  respPort?: number
  /** Default 127.0.0.1. Any other than a loopback address needs a RESP password. */
  respHost?: string
  /** RESP clients must AUTH with this password. Give at most one of this, respPasswordFile and $LOCALCACHED_RESP_PASSWORD. */
  respPassword?: string
  /** A file holding the RESP password (one line; a trailing newline is ignored). */
  respPasswordFile?: string
  /** Serve /metrics, /healthz and /readyz over HTTP on this TCP port (0: any free port), bound to metricsHost. */
  metricsPort?: number
  /** Default 127.0.0.1. Any other address is logged at warn: whoever reaches it reads the metrics. */
  metricsHost?: string
  /** Warm restart (docs/operations.md): load this file on start, save it on SIGTERM/SIGINT, on a Snapshot request and every snapshotIntervalMs. */
  snapshot?: string
  /** Also save the snapshot this often. Default: never (only on shutdown and on request). */
  snapshotIntervalMs?: number
  /** Refuse (move aside) a snapshot saved longer ago than this. Default: no limit. */
  snapshotMaxAgeMs?: number
  /** A snapshot not written at the previous process's shutdown (it crashed after an interval or requested save): 'drop' (default) or 'load'. */
  snapshotAfterCrash?: 'drop' | 'load'
  /** 'auto' (default): pretty lines when stderr is a terminal, JSON otherwise. A logDestination always gets JSON. */
  logFormat?: LogFormat
  /** Cross-host invalidation (docs/multi-host.md): redis://, rediss://, redis+unix:// (Redis Streams), nats://, tls:// (JetStream). */
  bridge?: string
  /** Hosts with the same bridge name form one cache. Default 'localcached'. */
  bridgeName?: string
  /** This daemon's name on the bridge. Default: the host name. */
  hostId?: string
  /** Messages the engine keeps. Default 1,000,000. */
  bridgeRetention?: number
  /** Changes waiting to be sent, at most; an overflow starts a new epoch. Default 100,000. */
  bridgeOutbox?: number
  /** Default 1000. */
  bridgeHeartbeatMs?: number
  /** Silence from another host without bye that is a gap. Default 30,000. */
  bridgeOriginTimeoutMs?: number
  /** Default 'flush-on-reconnect'. */
  bridgeOffline?: BridgeOfflinePolicy
  /** Under bridgeOffline 'miss'. Default 5000. */
  bridgeMaxStalenessMs?: number
  /** The coherence checker's mutation: gaps are never flushed. Never in production. */
  bridgeIgnoreGaps?: boolean
  /** A second tier on Redis shared by every host (docs/tiers.md): redis://, rediss://, redis+unix://. Needs `bridge`. */
  l2?: string
  /** The start of every L2 key name. Default `lc:<bridgeName>:`. */
  l2Prefix?: string
  /** Default 50. */
  l2TimeoutMs?: number
  /** Longest TTL of an L2 entry. Default 86,400,000 (a day). */
  l2MaxTtlMs?: number
  /** How long L2 is not tried once its breaker opens. Default 5000. */
  l2BreakerMs?: number
  /** 'through' (default): a write is answered once L2 has it; 'behind': first. */
  l2Write?: L2WriteMode
  /** The coherence checker's L2 mutation: an L2 read's fill is kept even when a change of its key came first. Never in production. */
  l2NoDiscard?: boolean
}

export interface ResolvedServeOptions {
  /** null: no native socket (RESP only). */
  socket: string | null
  maxBytes: number
  publishDefault: boolean
  publishWrites: boolean
  shards: number | undefined
  maxValueBytes: number
  maxFrameBytes: number
  subscriberQueue: number
  heartbeatMs: number
  shutdownTimeoutMs: number
  socketMode: number
  sweepIntervalMs: number
  maxConnections: number
  maxSubscribers: number
  maxPendingReplyBytes: number
  maxKeys: number | undefined
  svcCaps: Record<string, number> | undefined
  maxTrackedKeys: number
  maxLeases: number
  respSocket: string | undefined
  respPort: number | undefined
  respHost: string
  /** Never logged: the start-up line passes through redactSecrets (redact.ts). */
  respPassword: string | undefined
  metricsPort: number | undefined
  metricsHost: string
  /** Warm restart, when --snapshot is given. */
  snapshot: SnapshotOptions | undefined
  /** The bridge, when --bridge is given (its numbers below, resolved with or without it). */
  bridge: BridgeOptions | undefined
  bridgeRetention: number
  bridgeOutbox: number
  bridgeHeartbeatMs: number
  bridgeOriginTimeoutMs: number
  bridgeMaxStalenessMs: number
  /** The shared second tier, when --l2 is given (its numbers below, resolved with or without it). */
  l2: L2Options | undefined
  l2TimeoutMs: number
  l2MaxTtlMs: number
  l2BreakerMs: number
}

export interface SnapshotOptions {
  path: string
  intervalMs: number | undefined
  maxAgeMs: number | undefined
  afterCrash: 'drop' | 'load'
}

/** Redis refuses a string over 512 MiB; an L2 entry is the value plus a header of at most 64 bytes. */
export const L2_MAX_VALUE_BYTES = 512 * 1024 * 1024 - 64

/** The daemon's default budget; an embedded NativeStore's is the core's DEFAULT_MAX_BYTES (64 MiB). */
export const DEFAULT_DAEMON_MAX_BYTES = 128 * 1024 * 1024
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
export const FRAME_OVERHEAD_ALLOWANCE = 64 * 1024

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOCALCACHED_SOCKET) return env.LOCALCACHED_SOCKET
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'localcached.sock')
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0
  return `/tmp/localcached-${uid}.sock`
}

function positiveInteger(value: number, name: string, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new LocalCachedError('BadArgument', `${name} must be an integer ≥ ${min}, got ${value}`)
  }
  return value
}

export const RESP_PASSWORD_ENV = 'LOCALCACHED_RESP_PASSWORD'

/** The RESP password from the one source given (option, file or environment), if any. */
function resolveRespPassword(options: ServeOptions, env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env[RESP_PASSWORD_ENV] || undefined
  const given = [
    options.respPassword !== undefined && '--resp-password',
    options.respPasswordFile !== undefined && '--resp-password-file',
    fromEnv !== undefined && `$${RESP_PASSWORD_ENV}`,
  ].filter(Boolean)
  if (given.length > 1) throw new LocalCachedError('BadArgument', `the RESP password was given more than once (${given.join(' and ')}); give exactly one source`)
  if (options.respPasswordFile !== undefined) {
    let content: string
    try {
      content = readFileSync(options.respPasswordFile, 'utf8')
    } catch (err) {
      throw new LocalCachedError('BadArgument', `cannot read --resp-password-file ${options.respPasswordFile}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    const password = content.replace(/\r?\n$/, '')
    if (password === '' || /[\r\n]/.test(password)) throw new LocalCachedError('BadArgument', `--resp-password-file ${options.respPasswordFile} must hold the password on one non-empty line`)
    return password
  }
  return options.respPassword ?? fromEnv
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this host only. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  const v6 = host.replace(/^\[|\]$/g, '')
  return v6 === '::1' || /^::ffff:127\./i.test(v6)
}

/** The daemon listens on Unix domain sockets, which Node has on Linux and macOS, not on Windows. */
export function checkDaemonPlatform(platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32') {
    throw new LocalCachedError('NotSupported', 'the localcached daemon (serve) runs on Linux and macOS: it listens on Unix domain sockets. On Windows, use NativeStore, the embedded store, which works there')
  }
}

export function resolveOptions(given: ServeOptions, env: NodeJS.ProcessEnv = process.env): ResolvedServeOptions {
  checkDaemonPlatform()
  const options = checkServeOptions(given) as ServeOptions & { maxBytes?: number; maxValueBytes?: number; maxFrameBytes?: number; maxPendingReplyBytes?: number; socketMode?: number; publishDefault?: boolean; publishWrites?: boolean; svcCaps?: Record<string, number> }
  const respPassword = resolveRespPassword(options, env)
  const respHost = options.respHost ?? '127.0.0.1'
  if (options.respPort !== undefined && respPassword === undefined && !isLoopback(respHost)) {
    throw new LocalCachedError(
      'BadArgument',
      `refusing to serve RESP on ${respHost}:${options.respPort} without a password: anyone who can reach this host could read and write the cache. ` +
        `Set one with --resp-password-file <path> (or $${RESP_PASSWORD_ENV}), or bind --resp-host 127.0.0.1.`,
    )
  }
  const maxValueBytes = positiveInteger(options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES, 'maxValueBytes')
  const socketMode = options.socketMode ?? 0o600
  if (!Number.isInteger(socketMode) || socketMode < 0 || socketMode > 0o777) {
    throw new LocalCachedError('BadArgument', `socketMode must be a file mode from 0 to 0o777, got ${socketMode}`)
  }
  const socket = options.socket === false ? null : (options.socket ?? defaultSocketPath())
  if (socket === null && options.respSocket === undefined && options.respPort === undefined) {
    throw new LocalCachedError('BadArgument', 'without the native socket (socket: false, --no-socket) the daemon needs a RESP listener: give respSocket or respPort')
  }
  return {
    socket,
    maxBytes: positiveInteger(options.maxBytes ?? DEFAULT_DAEMON_MAX_BYTES, 'maxBytes'),
    publishDefault: options.publishDefault ?? true,
    publishWrites: options.publishWrites ?? false,
    shards: options.shards,
    maxValueBytes,
    maxFrameBytes: positiveInteger(options.maxFrameBytes ?? maxValueBytes + FRAME_OVERHEAD_ALLOWANCE, 'maxFrameBytes'),
    subscriberQueue: positiveInteger(options.subscriberQueue ?? 1024, 'subscriberQueue'),
    heartbeatMs: positiveInteger(options.heartbeatMs ?? 1000, 'heartbeatMs'),
    shutdownTimeoutMs: positiveInteger(options.shutdownTimeoutMs ?? 5000, 'shutdownTimeoutMs'),
    socketMode,
    sweepIntervalMs: positiveInteger(options.sweepIntervalMs ?? 1000, 'sweepIntervalMs', 0),
    maxConnections: positiveInteger(options.maxConnections ?? 4096, 'maxConnections'),
    maxSubscribers: positiveInteger(options.maxSubscribers ?? 4096, 'maxSubscribers'),
    maxPendingReplyBytes: positiveInteger(options.maxPendingReplyBytes ?? 4 * 1024 * 1024, 'maxPendingReplyBytes'),
    maxKeys: options.maxKeys === undefined ? undefined : positiveInteger(options.maxKeys, 'maxKeys'),
    svcCaps: options.svcCaps,
    maxTrackedKeys: positiveInteger(options.maxTrackedKeys ?? DEFAULT_MAX_TRACKED_KEYS, 'maxTrackedKeys'),
    maxLeases: positiveInteger(options.maxLeases ?? DEFAULT_MAX_LEASES, 'maxLeases'),
    respSocket: options.respSocket,
    respPort: options.respPort === undefined ? undefined : positiveInteger(options.respPort, 'respPort', 0),
    respHost,
    respPassword,
    metricsPort: options.metricsPort === undefined ? undefined : positiveInteger(options.metricsPort, 'metricsPort', 0),
    metricsHost: options.metricsHost ?? '127.0.0.1',
    snapshot: resolveSnapshot(options),
    ...resolveBridge(options),
    ...resolveL2(options, maxValueBytes),
  }
}

function resolveL2(options: ServeOptions, maxValueBytes: number): Pick<ResolvedServeOptions, 'l2' | 'l2TimeoutMs' | 'l2MaxTtlMs' | 'l2BreakerMs'> {
  const numbers = {
    l2TimeoutMs: positiveInteger(options.l2TimeoutMs ?? 50, 'l2TimeoutMs'),
    l2MaxTtlMs: positiveInteger(options.l2MaxTtlMs ?? 86_400_000, 'l2MaxTtlMs'),
    l2BreakerMs: positiveInteger(options.l2BreakerMs ?? 5000, 'l2BreakerMs'),
  }
  return { l2: l2Options(options, maxValueBytes, numbers), ...numbers }
}

function l2Options(options: ServeOptions, maxValueBytes: number, n: Omit<ReturnType<typeof resolveL2>, 'l2'>): L2Options | undefined {
  if (options.l2 === undefined) {
    const stray = (['l2Prefix', 'l2TimeoutMs', 'l2MaxTtlMs', 'l2BreakerMs', 'l2Write', 'l2NoDiscard'] as const).filter((n) => options[n] !== undefined)
    if (stray.length > 0) throw new LocalCachedError('BadArgument', `${stray.join(', ')} need${stray.length === 1 ? 's' : ''} a second tier (--l2 <url>)`)
    return undefined
  }
  if (options.bridge === undefined) {
    throw new LocalCachedError('BadArgument', '--l2 needs --bridge: without the bridge, other hosts would keep serving values that L2 has replaced. Give --bridge <url> (it may be the same Redis)')
  }
  if (maxValueBytes > L2_MAX_VALUE_BYTES) {
    throw new LocalCachedError('BadArgument', `--max-value-bytes ${maxValueBytes} is over what L2 can hold: Redis takes strings up to 512 MiB, and an L2 entry is the value plus up to 64 bytes, so at most ${L2_MAX_VALUE_BYTES} with --l2`)
  }
  return {
    url: options.l2,
    prefix: options.l2Prefix ?? `lc:${options.bridgeName ?? 'localcached'}:`,
    timeoutMs: n.l2TimeoutMs,
    maxTtlMs: n.l2MaxTtlMs,
    breakerMs: n.l2BreakerMs,
    write: options.l2Write ?? 'through',
    ...(options.l2NoDiscard === true ? { noDiscard: true } : {}),
  }
}

function resolveSnapshot(options: ServeOptions): SnapshotOptions | undefined {
  if (options.snapshot === undefined) {
    const stray = (['snapshotIntervalMs', 'snapshotMaxAgeMs', 'snapshotAfterCrash'] as const).filter((n) => options[n] !== undefined)
    if (stray.length > 0) throw new LocalCachedError('BadArgument', `${stray.join(', ')} need${stray.length === 1 ? 's' : ''} a snapshot file (--snapshot <file>)`)
    return undefined
  }
  if (options.snapshot === '') throw new LocalCachedError('BadArgument', 'snapshot must be a file path, got an empty string')
  return {
    path: resolvePath(options.snapshot),
    intervalMs: options.snapshotIntervalMs === undefined ? undefined : positiveInteger(options.snapshotIntervalMs, 'snapshotIntervalMs'),
    maxAgeMs: options.snapshotMaxAgeMs === undefined ? undefined : positiveInteger(options.snapshotMaxAgeMs, 'snapshotMaxAgeMs'),
    afterCrash: options.snapshotAfterCrash ?? 'drop',
  }
}

function resolveBridge(options: ServeOptions): Pick<ResolvedServeOptions, 'bridge' | 'bridgeRetention' | 'bridgeOutbox' | 'bridgeHeartbeatMs' | 'bridgeOriginTimeoutMs' | 'bridgeMaxStalenessMs'> {
  const numbers = {
    bridgeRetention: positiveInteger(options.bridgeRetention ?? 1_000_000, 'bridgeRetention'),
    bridgeOutbox: positiveInteger(options.bridgeOutbox ?? 100_000, 'bridgeOutbox'),
    bridgeHeartbeatMs: positiveInteger(options.bridgeHeartbeatMs ?? 1000, 'bridgeHeartbeatMs'),
    bridgeOriginTimeoutMs: positiveInteger(options.bridgeOriginTimeoutMs ?? 30_000, 'bridgeOriginTimeoutMs'),
    bridgeMaxStalenessMs: positiveInteger(options.bridgeMaxStalenessMs ?? 5000, 'bridgeMaxStalenessMs'),
  }
  return { bridge: bridgeOptions(options, numbers), ...numbers }
}

function bridgeOptions(options: ServeOptions, n: Omit<ReturnType<typeof resolveBridge>, 'bridge'>): BridgeOptions | undefined {
  if (options.bridge === undefined) {
    const stray = (['bridgeName', 'hostId', 'bridgeRetention', 'bridgeOutbox', 'bridgeHeartbeatMs', 'bridgeOriginTimeoutMs', 'bridgeOffline', 'bridgeMaxStalenessMs'] as const).filter((n) => options[n] !== undefined)
    if (stray.length > 0) throw new LocalCachedError('BadArgument', `${stray.join(', ')} need${stray.length === 1 ? 's' : ''} a bridge (--bridge <url>)`)
    return undefined
  }
  return {
    url: options.bridge,
    name: options.bridgeName ?? 'localcached',
    hostId: options.hostId ?? defaultHostId(),
    retention: n.bridgeRetention,
    outbox: n.bridgeOutbox,
    heartbeatMs: n.bridgeHeartbeatMs,
    originTimeoutMs: n.bridgeOriginTimeoutMs,
    offline: options.bridgeOffline ?? 'flush-on-reconnect',
    maxStalenessMs: n.bridgeMaxStalenessMs,
    ignoreGaps: options.bridgeIgnoreGaps === true,
  }
}
