// serve(): the daemon on a Unix socket. Prepares the socket path safely, accepts
// connections, runs heartbeats, and shuts down in one function.

import { createServer, type Server, type Socket } from 'node:net'
import type { Stats as FileStats } from 'node:fs'
import { createLogger, type Logger } from '../logger'
import { Daemon } from './daemon'
import { Connection, errorFrame } from './connection'
import { LocalCachedError } from '../errors'
import { resolveOptions, type ResolvedServeOptions, type ServeOptions } from './options'
import { listenWithMode, prepareSocketPath, removeOwnSocket } from './socket-file'
import type { ServerLimits } from '../protocol/messages'
import { PACKAGE_VERSION } from '../version'
import { loadBinding } from '../loader'
import { readGarbageCollector } from './read-garbage'
import { createRespServer } from '../resp/server'
import { encodeMessage } from '../protocol/codec'
import { RespPassword } from '../resp/auth'
import { startLogFields } from './start-log'
import { MAX_KEY_BYTES } from '../limits'
import { isLoopback } from './options'
import { createDaemonMetrics } from '../metrics/registry'
import { startMetricsServer, type MetricsServer } from '../metrics/http'
import { Bridge } from '../bridge/bridge'
import { redactBridgeUrl } from '../bridge/transport'
import { redactSecrets } from './redact'
import type { SnapshotMeta } from './snapshots'
import { L2Tier } from '../l2/tier'

export const SERVER_VERSION = PACKAGE_VERSION

export interface DaemonServer {
  /** The native protocol's socket; null when the daemon runs RESP only (`socket: false`). */
  readonly socketPath: string | null
  /** The RESP TCP port actually bound, if `respPort` was given. */
  readonly respPort: number | undefined
  /** The metrics port actually bound, if `metricsPort` was given. */
  readonly metricsPort: number | undefined
  readonly options: ResolvedServeOptions
  /** The cross-host bridge, when `bridge` was given. */
  readonly bridge: Bridge | undefined
  /**
   * Settles when the daemon stopped itself for a reason its owner must hear (another daemon
   * publishes with this host id): the CLI exits 1. Never settles otherwise.
   */
  readonly failed: Promise<Error>
  /** Stops accepting, finishes what was read, closes subscribers, drains the bridge, removes the socket. */
  close(): Promise<void>
}

function cannotListenOnPort(host: string, port: number, err: NodeJS.ErrnoException): LocalCachedError {
  const why =
    err.code === 'EADDRINUSE' ? 'the port is in use (another daemon or a Redis?); choose another --resp-port'
    : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges); choose a port ≥ 1024'
    : err.code === 'EADDRNOTAVAIL' ? 'that address is not one of this host\'s; check --resp-host'
    : err.message
  return new LocalCachedError('CannotListen', `cannot listen for RESP on ${host}:${port}: ${why} (${err.code ?? 'error'})`, { cause: err })
}

export async function serve(options: ServeOptions = {}): Promise<DaemonServer> {
  const resolved = resolveOptions(options)
  const log: Logger = options.logger ?? createLogger(options.logLevel ?? 'info', options.logDestination, options.logFormat)
  if (resolved.socket !== null) await prepareSocketPath(resolved.socket)
  // The daemon's process exists for the cache: keep evicted large values from pinning RSS.
  loadBinding().tuneAllocatorForDaemon()

  const daemon = new Daemon(resolved)
  // Not ready until every listener is bound; later holders (a snapshot load, a replay) add theirs.
  const releaseListeners = daemon.readiness.hold('listeners', 'binding the sockets and ports')
  // The metrics port comes up first, so /readyz can say what start-up is waiting for.
  let metrics: MetricsServer | undefined
  if (resolved.metricsPort !== undefined) {
    try {
      metrics = await startMetricsServer({ host: resolved.metricsHost, port: resolved.metricsPort, metrics: createDaemonMetrics(daemon, SERVER_VERSION), readiness: daemon.readiness, log })
    } catch (err) {
      daemon.close()
      throw err
    }
  }
  // L2 before the bridge: the first remote change applied (a replay's, too) may need it. It
  // never stops the start: a Redis that does not answer leaves the daemon local-only until it does.
  if (resolved.l2) {
    daemon.l2 = await L2Tier.start(resolved.l2, log.child({ component: 'l2' }))
    daemon.ops.setL2(daemon.l2)
  }
  /** A start that fails from here on closes what it opened, in reverse order. */
  const abandonStart = async () => {
    await daemon.bridge?.close(0)
    await daemon.l2?.close()
    await metrics?.close()
    daemon.close()
  }
  // A warm start: the snapshot is loaded, and the bridge replays what changed since, before any
  // listener accepts a client, so no client reads a value changed while the daemon was down.
  try {
    await warmStart(daemon, resolved, log)
  } catch (err) {
    await abandonStart()
    throw err
  }
  const limits: ServerLimits = { maxFrameBytes: resolved.maxFrameBytes, maxValueBytes: resolved.maxValueBytes, maxKeyBytes: MAX_KEY_BYTES, heartbeatMs: resolved.heartbeatMs }
  const connections = new Set<Connection>()
  const onBytesRead = readGarbageCollector()
  let nextId = 1
  const server: Server = createServer((socket: Socket) => {
    if (connections.size >= resolved.maxConnections) {
      // Answer the Hello the client is about to send with the reason, then hang up.
      socket.on('error', () => {})
      daemon.traffic.rejected('native')
      socket.end(errorFrame(new LocalCachedError('LimitExceeded', `the daemon already has ${connections.size} connections (--max-connections ${resolved.maxConnections})`)))
      log.debug({ connections: connections.size }, 'connection refused: --max-connections')
      return
    }
    const connection = new Connection(socket, { daemon, limits, serverVersion: SERVER_VERSION, log, maxSubscribers: resolved.maxSubscribers, maxPendingReplyBytes: resolved.maxPendingReplyBytes, onBytesRead }, nextId++)
    connections.add(connection)
    daemon.traffic.open(socket, 'native')
    socket.once('close', () => connections.delete(connection))
  })
  let bound: FileStats | undefined
  try {
    if (resolved.socket !== null) bound = await listenWithMode(server, resolved.socket, resolved.socketMode)
  } catch (err) {
    await abandonStart()
    throw err
  }
  // Only after binding: a failure to bind is the caller's error to report, not a log line.
  server.on('error', (err) => log.error({ err }, 'server error'))
  const removeNativeSocket = () => {
    if (resolved.socket !== null && bound) removeOwnSocket(resolved.socket, bound)
  }
  // RESP listeners share the daemon: the same store, the same pub/sub.
  // One password for every RESP listener, Unix socket and TCP alike.
  const password = resolved.respPassword === undefined ? undefined : new RespPassword(resolved.respPassword)
  const respOptions = { daemon, log, serverVersion: SERVER_VERSION, maxBulkBytes: resolved.maxValueBytes, maxPendingReplyBytes: resolved.maxPendingReplyBytes, password }
  const resp = createRespServer(respOptions)
  const respListeners: Array<{ server: Server; close: () => void }> = []
  let respPort: number | undefined
  try {
    if (resolved.respSocket) {
      await prepareSocketPath(resolved.respSocket, '--resp-socket')
      const respServer = createRespServer(respOptions)
      const boundResp = await listenWithMode(respServer.server, resolved.respSocket, resolved.socketMode)
      respListeners.push({ server: respServer.server, close: () => { respServer.sockets.forEach((s) => s.destroy()); removeOwnSocket(resolved.respSocket!, boundResp) } })
    }
    if (resolved.respPort !== undefined) {
      await new Promise<void>((resolve, reject) => {
        resp.server.once('error', (err: NodeJS.ErrnoException) => reject(cannotListenOnPort(resolved.respHost, resolved.respPort!, err)))
        resp.server.listen(resolved.respPort, resolved.respHost, () => resolve())
      })
      respPort = (resp.server.address() as { port: number }).port
      respListeners.push({ server: resp.server, close: () => resp.sockets.forEach((s) => s.destroy()) })
    }
  } catch (err) {
    if (bound) server.close()
    removeNativeSocket()
    for (const r of respListeners) {
      r.server.close()
      r.close()
    }
    await abandonStart()
    throw err
  }
  const heartbeat = setInterval(() => {
    daemon.pubsub.heartbeat()
    if (daemon.tracker.peers > 0) daemon.tracker.heartbeat(encodeMessage({ type: 'Heartbeat', unixMs: Date.now() }))
  }, resolved.heartbeatMs)
  releaseListeners()
  daemon.snapshots?.startInterval()
  log.info(startLogFields(resolved, { respPort, metricsPort: metrics?.port, shards: daemon.stats().shards, version: SERVER_VERSION }), 'localcached listening')
  if (respPort !== undefined && password === undefined) {
    log.warn({ resp: `${resolved.respHost}:${respPort}` }, 'the RESP port has no password: any local user can connect to it and read or write the cache; set --resp-password-file or $LOCALCACHED_RESP_PASSWORD')
  }

  if (metrics && !isLoopback(resolved.metricsHost)) {
    log.warn({ metrics: `${resolved.metricsHost}:${metrics.port}` }, 'the metrics port is not on loopback: anyone who can reach it reads the metrics (service names, sizes, rates); bind --metrics-host 127.0.0.1 or firewall it')
  }

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      log.info({ connections: connections.size }, 'shutting down')
      // /readyz says 503 while draining, so a balancer stops sending before the socket goes.
      daemon.readiness.hold('shutdown', 'the daemon is shutting down')
      clearInterval(heartbeat)
      const stopped = bound ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve()
      for (const r of respListeners) {
        r.server.close()
        r.close()
      }
      // Requests already read were answered synchronously; ending flushes those answers.
      for (const connection of connections) connection.end()
      daemon.pubsub.closeAll()
      const deadline = Date.now() + resolved.shutdownTimeoutMs
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, resolved.shutdownTimeoutMs).unref())
      await Promise.race([stopped, timeout])
      for (const connection of connections) connection.socket.destroy()
      removeNativeSocket()
      // The last snapshot: after the last client write, with the bridge's position frozen where
      // the store stands. Not cut by the shutdown timeout; the outbox gets its time after it.
      const saveStarted = Date.now()
      daemon.bridge?.stopReceiving()
      await daemon.snapshots?.saveForShutdown()
      // Nothing more is accepted: what the outbox holds is all there is to send before bye.
      await daemon.bridge?.close(deadline + (Date.now() - saveStarted))
      await daemon.l2?.close()
      await metrics?.close()
      daemon.close()
      log.info('stopped')
    })()
    return closing
  }
  let fail!: (err: Error) => void
  const failed = new Promise<Error>((resolve) => (fail = resolve))
  daemon.bridge?.onFatal((err) => {
    log.error({ err: err.message }, 'stopping: host id in use')
    void close().then(() => fail(err))
  })
  return { socketPath: resolved.socket, respPort, metricsPort: metrics?.port, options: resolved, bridge: daemon.bridge, failed, close }
}

/** How long a replay from a snapshot's bridge position may take before the loaded data is dropped. */
export const REPLAY_TIMEOUT_MS = 10_000

/** Loads --snapshot, starts the bridge (from the snapshot's position when it can) and replays. */
async function warmStart(daemon: Daemon, resolved: ResolvedServeOptions, log: Logger): Promise<void> {
  let meta: SnapshotMeta | undefined
  let savedAtMs = 0
  let loaded = false
  const snapshots = resolved.snapshot ? daemon.enableSnapshots(resolved.snapshot, log.child({ component: 'snapshot' })) : undefined
  if (snapshots) {
    const release = daemon.readiness.hold('snapshot', `loading the snapshot ${snapshots.options.path}`)
    try {
      const { report, meta: read } = await snapshots.load()
      loaded = report.status === 'loaded' && report.loaded > 0
      meta = read
      savedAtMs = report.savedAtMs
      // From here on only this process's saves describe the cache (see consume()).
      if (report.status === 'loaded') await snapshots.consume()
    } finally {
      release()
    }
  }
  const drop = (why: string) => {
    if (!loaded) return
    loaded = false
    daemon.dropLoaded()
    log.warn({ snapshot: snapshots?.options.path }, `dropping the loaded snapshot: ${why}; starting empty`)
  }
  if (loaded && meta?.final !== true && snapshots!.options.afterCrash === 'drop') {
    drop('the previous process did not write it at its shutdown (it is an interval or requested save, so the process stopped without saving: a crash), and what it acknowledged after that save, deletes included, is not in it (--snapshot-after-crash load keeps it)')
  }
  if (!resolved.bridge) {
    if (meta?.bridge) drop('it was saved with a bridge and this daemon has none, so what other hosts changed since cannot be replayed')
    return
  }
  if (loaded && meta?.bridge === undefined) drop('it holds no bridge position (saved without a bridge, or by another version), so what other hosts changed since cannot be replayed')
  const releaseReplay = loaded ? daemon.readiness.hold('replay', 'replaying the bridge from the snapshot\'s position') : () => {}
  try {
    try {
      daemon.bridge = await Bridge.start(resolved.bridge, daemon.ops, log.child({ component: 'bridge' }), loaded ? { position: meta!.bridge!, savedAtMs } : undefined)
      daemon.l2?.leases.setOwner(resolved.bridge.hostId, daemon.bridge.epoch)
    } catch (err) {
      throw bridgeStartError(resolved.bridge.url, err)
    }
    if (!loaded) return
    if (daemon.bridge.resumeRefused !== undefined) return drop(`cannot replay from it: ${daemon.bridge.resumeRefused}`)
    const started = performance.now()
    if (!(await daemon.bridge.replay(REPLAY_TIMEOUT_MS))) return drop(`the replay did not reach the engine's end within ${REPLAY_TIMEOUT_MS / 1000} s`)
    const s = daemon.bridge.stats()
    log.info({ applied: s.bridgeApplied, flushes: s.bridgeFlushes, ms: Math.round(performance.now() - started) }, 'replayed the bridge from the snapshot\'s position')
  } finally {
    releaseReplay()
  }
}

function bridgeStartError(url: string, err: unknown): LocalCachedError {
  if (err instanceof LocalCachedError && err.code !== 'BridgeUnavailable') return err
  const message = redactSecrets(err instanceof Error ? err.message : String(err))
  return new LocalCachedError('BridgeUnavailable', `cannot start the bridge on ${redactBridgeUrl(url)}: ${message}`, { cause: err })
}
