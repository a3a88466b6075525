// Daemon options: defaults, the size parser for --max-bytes and friends, and the default
// socket path, resolved the same way by the daemon, the client and the CLI.

import type { DestinationStream, LevelWithSilent } from 'pino'
import type { Logger } from '../logger'
import { LocalCachedError } from '../errors'
import { join } from 'node:path'

export interface ServeOptions {
  /**
   * Unix socket path for the native protocol. Default: $LOCALCACHED_SOCKET,
   * $XDG_RUNTIME_DIR/localcached.sock, /tmp/localcached-<uid>.sock. `false` runs without the
   * native socket, for a RESP-only daemon (then respSocket or respPort is required).
   */
  socket?: string | false
  /** Byte budget of the store. Default 128 MiB. */
  maxBytes?: number
  /** Whether requests publish events when they do not say. Default true. */
  publishDefault?: boolean
  shards?: number
  /** Default 1 MiB. */
  maxValueBytes?: number
  /** Largest frame accepted. Default maxValueBytes + 64 KiB (room for the key and fields). */
  maxFrameBytes?: number
  /** Events queued per subscriber before it gets `lagged`. Default 1024. */
  subscriberQueue?: number
  /** Heartbeat interval for subscribers. Default 1000. */
  heartbeatMs?: number
  /** How long shutdown waits for connections to finish. Default 5000. */
  shutdownTimeoutMs?: number
  /** Socket file permissions. Default 0o600. */
  socketMode?: number
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
  maxPendingReplyBytes?: number
  /** At most this many entries; past it, LRU eviction. Default: no limit. */
  maxKeys?: number
  /** Byte caps per service: a service over its cap evicts its own LRU entries. */
  svcCaps?: Record<string, number>
  /** Keys remembered for near-cache clients (client tracking); past it the oldest is invalidated. Default 250,000 (about 160 bytes each). */
  maxTrackedKeys?: number
  /** Load leases (getOrLoad stampede protection) held at once. Default 100,000. */
  maxLeases?: number
  /** Also speak RESP (Redis's protocol) on this Unix socket. */
  respSocket?: string
  /** Also speak RESP on this TCP port (0: any free port), bound to respHost. */
  respPort?: number
  /** Default 127.0.0.1. */
  respHost?: string
}

export interface ResolvedServeOptions {
  /** null: no native socket (RESP only). */
  socket: string | null
  maxBytes: number
  publishDefault: boolean
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
}

export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024
export const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024
export const FRAME_OVERHEAD_ALLOWANCE = 64 * 1024

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOCALCACHED_SOCKET) return env.LOCALCACHED_SOCKET
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'localcached.sock')
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0
  return `/tmp/localcached-${uid}.sock`
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }

/** Parses `134217728`, `128mb`, `1gb`, `512KB` (units are powers of 1024). */
export function parseSize(text: string | number, name = 'size'): number {
  if (typeof text === 'number') return positiveInteger(text, name)
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?b?)\s*$/i.exec(text)
  if (!match) throw new LocalCachedError('BadArgument', `${name} must be a byte count like 134217728, 128mb or 1gb, got '${text}'`)
  return positiveInteger(Math.floor(Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()]), name)
}

function positiveInteger(value: number, name: string, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new LocalCachedError('BadArgument', `${name} must be an integer ≥ ${min}, got ${value}`)
  }
  return value
}

export function resolveOptions(options: ServeOptions): ResolvedServeOptions {
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
    maxBytes: positiveInteger(options.maxBytes ?? DEFAULT_MAX_BYTES, 'maxBytes'),
    publishDefault: options.publishDefault ?? true,
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
    maxTrackedKeys: positiveInteger(options.maxTrackedKeys ?? 250_000, 'maxTrackedKeys'),
    maxLeases: positiveInteger(options.maxLeases ?? 100_000, 'maxLeases'),
    respSocket: options.respSocket,
    respPort: options.respPort === undefined ? undefined : positiveInteger(options.respPort, 'respPort', 0),
    respHost: options.respHost ?? '127.0.0.1',
  }
}
