// The cross-host bridge of one daemon: its publisher, its receiver and its transport, the
// heartbeat tick that drives liveness, silence and position checks, and the offline policy.
// Remote changes are applied through Operations, never to the store directly.

import { hostname } from 'node:os'
import { LocalCachedError } from '../errors'
import type { Logger } from '../logger'
import type { Operations } from '../server/operations'
import { redactSecrets } from '../server/redact'
import type { LagHistogramSnapshot } from './lag-histogram'
import { changeOf, type BridgeMessage } from './message'
import { Publisher } from './publisher'
import { Receiver, type OriginPosition } from './receiver'
import { createTransport, redactBridgeUrl, type BridgeTransport } from './transport'

export const BRIDGE_OFFLINE_POLICIES = ['flush-on-reconnect', 'miss'] as const
export type BridgeOfflinePolicy = (typeof BRIDGE_OFFLINE_POLICIES)[number]

export interface BridgeOptions {
  url: string
  name: string
  hostId: string
  retention: number
  outbox: number
  heartbeatMs: number
  originTimeoutMs: number
  offline: BridgeOfflinePolicy
  maxStalenessMs: number
  /** The coherence checker's mutation: gaps are counted but never flushed. */
  ignoreGaps?: boolean
}

export interface BridgePosition {
  engine: string
  name: string
  /** The transport's opaque read position (a Redis stream id, a JetStream sequence). */
  position: string
  origins: OriginPosition[]
  /**
   * This daemon's own last change numbered by then (applied locally, so in the snapshot): a
   * replay skips its own earlier messages up to here, and applies the ones after.
   */
  self?: { epoch: string; seq: number; epochs?: string[] }
}

export interface BridgeStats {
  bridgeConnected: number
  bridgePublished: number
  bridgeReceived: number
  bridgeApplied: number
  bridgeRejected: number
  bridgeGaps: number
  bridgeFlushes: number
  bridgeOutboxCurrent: number
  bridgeLagMsP99: number
}

export const NO_BRIDGE_STATS: BridgeStats = {
  bridgeConnected: 0,
  bridgePublished: 0,
  bridgeReceived: 0,
  bridgeApplied: 0,
  bridgeRejected: 0,
  bridgeGaps: 0,
  bridgeFlushes: 0,
  bridgeOutboxCurrent: 0,
  bridgeLagMsP99: 0,
}

const START_TIMEOUT_MS = 10_000

export function defaultHostId(): string {
  return hostname()
}

export class Bridge {
  readonly options: BridgeOptions
  readonly #transport: BridgeTransport
  readonly #publisher: Publisher
  readonly #receiver: Receiver
  readonly #ops: Operations
  readonly #log: Logger
  readonly #startMs = Date.now()
  #tick: NodeJS.Timeout | undefined
  #connected = true
  /** Under `miss`: reads miss now (contact lost past --bridge-max-staleness-ms). */
  #offlineFlushed = false
  #offlineFlushes = 0
  #checking = false
  #stoppedAt: BridgePosition | undefined
  /** Between a resumed start and the end of replay(). */
  #replaying = false
  #fatal: ((err: Error) => void) | undefined

  private constructor(options: BridgeOptions, transport: BridgeTransport, ops: Operations, log: Logger) {
    this.options = options
    this.#transport = transport
    this.#ops = ops
    this.#log = log
    this.#publisher = new Publisher({
      hostId: options.hostId,
      outboxLimit: options.outbox,
      startMs: this.#startMs,
      transport,
      trouble: (what, details) => log.warn(redactSecrets(errorFields(details)), what),
    })
    this.#receiver = new Receiver({
      hostId: options.hostId,
      startMs: this.#startMs,
      ownEpochs: this.#publisher.epochs,
      originTimeoutMs: options.originTimeoutMs,
      ignoreGaps: options.ignoreGaps,
      apply: (m) => ops.applyRemote(changeOf(m)!, m.hostId),
      flush: () => ops.flushForBridge('bridge_gap'),
      gap: (why, details) => log.warn({ ...details, ignored: options.ignoreGaps || undefined }, `bridge gap: ${why}; flushing`),
      hostIdInUse: (other) => this.#hostIdInUse(other),
    })
  }

  /**
   * Connects, sets the read position (before the daemon's listeners accept anyone) and starts
   * publishing this daemon's changes.
   */
  static async start(options: BridgeOptions, ops: Operations, log: Logger, resume?: { position: BridgePosition; savedAtMs: number }): Promise<Bridge> {
    const reconnectMaxMs = Math.max(10, Math.min(500, Math.floor(options.heartbeatMs / 2)))
    const transport = await createTransport({ url: options.url, name: options.name, retention: options.retention, reconnectMaxMs })
    const bridge = new Bridge(options, transport, ops, log)
    let timer: NodeJS.Timeout | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new LocalCachedError('BridgeUnavailable', `no answer from the engine in ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS)
      })
      let resumeFrom: string | undefined
      if (resume !== undefined) {
        const at = resume.position
        if (at.engine !== transport.engine || at.name !== options.name) bridge.resumeRefused = `it was saved on another bridge (${at.engine} '${at.name}')`
        else resumeFrom = at.position
      }
      const refused = await Promise.race([timeout, transport.start({
        messages: (batch) => bridge.#receiver.messages(batch),
        positionLost: (why) => {
          log.warn({ position: transport.position() }, `bridge read position lost: ${why}; flushing`)
          bridge.#receiver.positionLost(why)
        },
        trouble: (what, err) => log.debug(errorFields({ err }), what),
      }, resumeFrom)])
      if (resumeFrom !== undefined && refused !== undefined) bridge.resumeRefused = `the engine no longer holds its position: ${refused}`
      if (resumeFrom !== undefined && refused === undefined) {
        // Each origin last heard of when the snapshot was saved: one that died while we were
        // down without bye is a gap as soon as the replay ends (see replay()).
        bridge.#receiver.seed(resume!.position.origins, resume!.savedAtMs, resume!.position.self)
        bridge.#replaying = true
      }
    } catch (err) {
      await transport.close().catch(() => {})
      throw err
    } finally {
      clearTimeout(timer)
    }
    bridge.#receiver.lastReadMs = Date.now()
    ops.setChangeSink((change, settled) => bridge.#publisher.change(change, settled))
    bridge.#tick = setInterval(() => bridge.#heartbeat(), options.heartbeatMs)
    bridge.#publisher.heartbeat()
    log.info({ bridge: redactBridgeUrl(options.url), engine: transport.engine, name: options.name, hostId: options.hostId, epoch: bridge.#publisher.epoch, offline: options.offline }, 'bridge connected')
    return bridge
  }

  /**
   * Why the snapshot's position given to start() was not resumed from (the caller then drops
   * what it loaded); undefined when it was, or when none was given.
   */
  resumeRefused: string | undefined

  /**
   * After a resumed start: resolves true once everything the engine held at start has been
   * applied, false if that took longer than `timeoutMs` (the engine went away, say).
   */
  async replay(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))
    try {
      const caughtUp = await Promise.race([this.#transport.caughtUp().then(() => true), timedOut])
      // Origins the snapshot followed that sent nothing since it was saved, and no bye, for
      // longer than the origin timeout: gone while we were down. Flush now, before serving.
      if (caughtUp) this.#receiver.checkSilence(Date.now())
      return caughtUp
    } finally {
      this.#replaying = false
      clearTimeout(timer)
    }
  }

  /**
   * Shutdown, before the last snapshot: applies nothing more, and position() stays where the
   * store stands (taken in the same turn, so between two read batches). Publishing goes on.
   */
  stopReceiving(): void {
    if (this.#stoppedAt) return
    this.#stoppedAt = this.position()
    this.#receiver.stopped = true
  }

  /** Called once if another daemon already publishes with this host id. */
  onFatal(handler: (err: Error) => void): void {
    this.#fatal = handler
  }

  get engine(): string {
    return this.#transport.engine
  }

  get epoch(): string {
    return this.#publisher.epoch
  }

  /**
   * Where this receiver stands: the engine position read so far and each origin's (epoch,
   * seq), taken together between two read batches. What a snapshot records, to resume from.
   */
  position(): BridgePosition {
    return this.#stoppedAt ?? { engine: this.#transport.engine, name: this.options.name, position: this.#transport.position(), origins: this.#receiver.originPositions(), self: { epoch: this.#publisher.epoch, seq: this.#publisher.seq, epochs: [...this.#publisher.epochs] } }
  }

  get connected(): boolean {
    return this.#connected
  }

  stats(): BridgeStats {
    const c = this.#receiver.counters
    return {
      bridgeConnected: this.#connected ? 1 : 0,
      bridgePublished: this.#publisher.published,
      bridgeReceived: c.received,
      bridgeApplied: c.applied,
      bridgeRejected: c.rejected,
      bridgeGaps: c.gaps,
      bridgeFlushes: c.flushes + this.#offlineFlushes,
      bridgeOutboxCurrent: this.#publisher.outboxSize,
      bridgeLagMsP99: this.#receiver.lag.p99(Date.now()),
    }
  }

  /** The lag of every change applied since start, for /metrics. */
  lagHistogram(): LagHistogramSnapshot {
    return this.#receiver.lagHistogram.snapshot()
  }

  /** Stops receiving and sending: drains the outbox until `deadline`, then says bye (only if it drained). */
  async close(deadline: number): Promise<void> {
    if (this.#tick) clearInterval(this.#tick)
    this.#ops.setChangeSink(undefined)
    const bye = await this.#publisher.drainAndBye(deadline)
    this.#publisher.stop()
    if (bye) this.#log.info({ seq: this.#publisher.seq }, 'bridge: outbox drained, bye sent')
    else this.#log.warn({ outbox: this.#publisher.outboxSize }, 'bridge: the outbox did not drain in time; no bye (other hosts will flush)')
    await this.#transport.close()
  }

  #heartbeat(): void {
    const now = Date.now()
    this.#publisher.heartbeat()
    const connected = now - this.#receiver.lastReadMs <= 3 * this.options.heartbeatMs
    if (connected !== this.#connected) {
      this.#connected = connected
      if (connected) {
        this.#receiver.resumeSilenceClocks(now)
        this.#log.info('bridge contact restored')
      } else this.#log.warn({ lastReadMsAgo: now - this.#receiver.lastReadMs }, 'bridge contact lost: nothing read for 3 heartbeats')
    }
    // While a replay runs, origins are silent only because their messages are not read yet.
    if (connected && !this.#replaying) this.#receiver.checkSilence(now)
    if (this.options.offline === 'miss') {
      const stale = now - this.#receiver.lastReadMs > this.options.maxStalenessMs
      if (stale && !this.#offlineFlushed) this.#offlineFlushes++
      if (stale && !this.#offlineFlushed) this.#log.warn({ maxStalenessMs: this.options.maxStalenessMs }, 'bridge offline past --bridge-max-staleness-ms: reads miss until contact returns')
      if (!stale && this.#offlineFlushed) this.#log.info('bridge contact restored: reads are served again')
      this.#offlineFlushed = stale
      this.#ops.serveReads(!stale)
    }
    if (!this.#checking) {
      this.#checking = true
      this.#transport
        .checkPosition()
        .catch((err) => this.#log.debug(errorFields({ err }), 'bridge position check failed'))
        .finally(() => (this.#checking = false))
    }
  }

  #hostIdInUse(other: BridgeMessage): void {
    const err = new LocalCachedError('HostIdInUse', `host id in use: another daemon (epoch ${other.epoch}, started ${new Date(other.start).toISOString()}) publishes as '${this.options.hostId}' on bridge '${this.options.name}'; give each daemon its own --host-id`)
    this.#log.error({ hostId: this.options.hostId, otherEpoch: other.epoch }, 'host id in use')
    const fatal = this.#fatal
    this.#fatal = undefined
    fatal?.(err)
  }
}

/** An error's message only (redacted): ioredis and nats errors carry sockets and more. */
function errorFields(details: Record<string, unknown>): Record<string, unknown> {
  const err = details.err
  if (err === undefined) return details
  return { ...details, err: redactSecrets(err instanceof Error ? err.message : String(err)) }
}
