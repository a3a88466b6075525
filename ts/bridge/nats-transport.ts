// The bridge over NATS JetStream: a stream on `localcached.<name>.>`, pipelined publishes
// (a batch's last message is acknowledged by the stream), and an ordered consumer started after the
// last stream sequence read. The stream's sequence has no holes of its own (only we write its
// subjects), so a delivered sequence other than the next one means entries were lost.

import { connect, type NodeConnectionOptions } from '@nats-io/transport-node'
import { headers, type NatsConnection } from '@nats-io/nats-core'
import { DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, StorageType, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream'
import type { RawMessage } from './message'
import type { BridgeTransport, OutgoingMessage, TransportOptions, TransportSink } from './transport'

/** nats.js's options for a bridge URL list: credentials move out of the URLs; tls:// turns TLS on. */
export function natsOptionsFromUrl(url: string, reconnectMaxMs = 250): NodeConnectionOptions {
  const options: NodeConnectionOptions = { servers: [], maxReconnectAttempts: -1, reconnectTimeWait: reconnectMaxMs, reconnectJitter: 0, name: 'localcached-bridge' }
  const servers: string[] = []
  for (const part of url.split(',').map((p) => p.trim()).filter(Boolean)) {
    const parsed = new URL(part)
    if (parsed.protocol === 'tls:') options.tls = {}
    if (parsed.username && parsed.password) {
      options.user = decodeURIComponent(parsed.username)
      options.pass = decodeURIComponent(parsed.password)
    } else if (parsed.username) options.token = decodeURIComponent(parsed.username)
    servers.push(`${parsed.hostname.includes(':') ? `[${parsed.hostname}]` : parsed.hostname}:${parsed.port || '4222'}`)
  }
  options.servers = servers
  return options
}

const API_TIMEOUT_MS = 1000

export class NatsJetStreamTransport implements BridgeTransport {
  readonly engine = 'nats'
  readonly #options: TransportOptions
  readonly #stream: string
  readonly #subject: string
  #nc: NatsConnection | undefined
  #js: JetStreamClient | undefined
  #jsm: JetStreamManager | undefined
  #sink: TransportSink | undefined
  /** The stream sequence of the last message read (0: none). */
  #position = 0
  /** When the stream we read was created: another value means it was recreated. */
  #created: string | undefined
  #messages: ConsumerMessages | undefined
  /**
   * Set by a reconnect: the consumer's outstanding pull may have died with the old connection,
   * and nats.js would only notice after its heartbeat window (about 30 s). The next position
   * check restarts reading from #position instead; it stays set until a restart succeeds, so a
   * restart that fails in a flapping link is retried at the next heartbeat.
   */
  #restartConsumer = false
  /** The stream's last sequence when start() ran: a replay has caught up once it has read this far. */
  #replayEnd = 0
  #caughtUp: Array<() => void> = []
  #generation = 0
  #closed = false

  constructor(options: TransportOptions) {
    this.#options = options
    this.#stream = `localcached-${options.name}`
    this.#subject = `localcached.${options.name}.m`
  }

  async start(sink: TransportSink, resumeFrom?: string): Promise<string | undefined> {
    this.#sink = sink
    const nc = await connect(natsOptionsFromUrl(this.#options.url, this.#options.reconnectMaxMs))
    this.#nc = nc
    void this.#watchStatus(nc)
    // A short API timeout: a check sent into an outage must not hold the next one back long.
    this.#js = jetstream(nc, { timeout: API_TIMEOUT_MS })
    this.#jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT_MS })
    const info = await this.#ensureStream()
    const end = info.state.last_seq
    const refused = resumeFrom === undefined ? undefined : whyNotHeld(resumeFrom, info)
    this.#position = resumeFrom !== undefined && refused === undefined ? parsePosition(resumeFrom)!.seq : end
    this.#replayEnd = end
    this.#created = info.created
    await this.#consumeFrom(this.#position)
    return refused
  }

  /** The sequence of the last message read and the stream's creation time: a resumable position. */
  position(): string {
    return `${this.#position}@${this.#created}`
  }

  caughtUp(): Promise<void> {
    if (this.#position >= this.#replayEnd) return Promise.resolve()
    return new Promise((resolve) => this.#caughtUp.push(resolve))
  }

  #moved(position: number): void {
    this.#position = position
    if (this.#caughtUp.length > 0 && position >= this.#replayEnd) for (const resolve of this.#caughtUp.splice(0)) resolve()
  }

  /**
   * All but the last message are plain publishes into the stream's subject; the last is a
   * JetStream publish whose ack comes after the stream took the ones before it (one
   * connection, in order). Anything the stream still lost shows as a seq gap at receivers.
   */
  async publish(batch: readonly OutgoingMessage[]): Promise<void> {
    const nc = this.#nc!
    const withHeader = (m: OutgoingMessage) => {
      const h = headers()
      h.set('h', m.hostId)
      return { headers: h }
    }
    for (let i = 0; i < batch.length - 1; i++) nc.publish(this.#subject, batch[i].body, withHeader(batch[i]))
    const last = batch[batch.length - 1]
    await this.#js!.publish(this.#subject, last.body, withHeader(last))
  }

  async checkPosition(): Promise<void> {
    if (this.#closed) return
    const generation = this.#generation
    const position = this.#position
    let info
    let why: string | undefined
    try {
      info = await this.#jsm!.streams.info(this.#stream)
    } catch (err) {
      if (!/not found/i.test(String((err as Error).message))) throw err
      why = 'the stream is gone (NATS restarted without its store, or the stream was deleted)'
    }
    if (info) {
      if (info.created !== this.#created) why = 'the stream was recreated'
      // Entries trimmed unread are not checked here: the consumer delivers the first one kept,
      // whose sequence then jumps (see #consumeFrom), and it need not be recreated for that.
      else if (info.state.last_seq < position) why = `the stream ends before the last entry read (${position})`
    }
    if (this.#closed || generation !== this.#generation || position !== this.#position) return
    if (why) return await this.#lost(why)
    if (this.#restartConsumer) await this.#restartReading()
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#generation++
    await this.#messages?.close().catch(() => {})
    await this.#nc?.close().catch(() => {})
  }

  async #ensureStream() {
    try {
      return await this.#jsm!.streams.info(this.#stream)
    } catch (err) {
      if (!/not found/i.test(String((err as Error).message))) throw err
    }
    try {
      return await this.#jsm!.streams.add({
        name: this.#stream,
        subjects: [`localcached.${this.#options.name}.>`],
        max_msgs: this.#options.retention,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
      })
    } catch {
      // Another host created it first.
      return await this.#jsm!.streams.info(this.#stream)
    }
  }

  /** Reads on from the last message read with a fresh consumer; nothing is skipped or lost. */
  async #restartReading(): Promise<void> {
    this.#restartConsumer = false
    const generation = ++this.#generation
    await this.#messages?.close().catch(() => {})
    if (generation !== this.#generation || this.#closed) return
    await this.#consumeOrRetry(generation)
  }

  /** Starts the consumer after #position; if that fails, the next position check tries again. */
  async #consumeOrRetry(generation: number): Promise<void> {
    try {
      await this.#consumeFrom(this.#position)
    } catch (err) {
      if (generation === this.#generation) this.#restartConsumer = true
      throw err
    }
  }

  /** Moves to the stream's end (recreating the stream if it is gone), then reports. */
  async #lost(why: string): Promise<void> {
    this.#restartConsumer = false
    const generation = ++this.#generation
    await this.#messages?.close().catch(() => {})
    const info = await this.#ensureStream()
    if (generation !== this.#generation || this.#closed) return
    this.#moved(info.state.last_seq)
    this.#created = info.created
    this.#sink!.positionLost(why)
    await this.#consumeOrRetry(generation)
  }

  async #consumeFrom(position: number): Promise<void> {
    const generation = this.#generation
    const consumer = await this.#js!.consumers.get(this.#stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: position + 1 })
    const messages = await consumer.consume({ max_messages: 1000 })
    this.#messages = messages
    void (async () => {
      try {
        for await (const m of messages) {
          if (generation !== this.#generation) return
          if (this.#position > 0 && m.seq !== this.#position + 1) {
            // Entries between were removed unread. The consumer already stands past them: flush
            // (covering all before this message), then read on from here.
            const why = `stream sequence ${m.seq} after ${this.#position}: entries were removed before being read`
            this.#position = m.seq - 1
            this.#sink!.positionLost(why)
          }
          this.#position = m.seq
          const raw: RawMessage = { hostId: m.headers?.get('h') || undefined, body: m.data }
          this.#sink!.messages([raw])
          this.#moved(m.seq)
        }
      } catch (err) {
        if (!this.#closed && generation === this.#generation) this.#sink!.trouble('nats consume', err)
      }
      // The consumer ended on its own (the stream went away): the next check finds out why.
    })()
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect' || status.type === 'error') this.#sink?.trouble(`nats ${status.type}`, (status as { error?: unknown }).error ?? status)
      // Perhaps a restarted server without our stream: check now, before reading on.
      if (status.type === 'reconnect') this.#restartConsumer = true
      if (status.type === 'reconnect') void this.checkPosition().catch((err) => this.#sink?.trouble('nats position check', err))
    }
  }
}

function parsePosition(position: string): { seq: number; created: string } | undefined {
  const at = position.indexOf('@')
  const seq = Number(position.slice(0, at))
  if (at < 1 || !Number.isSafeInteger(seq) || seq < 0) return undefined
  return { seq, created: position.slice(at + 1) }
}

/** Why the stream no longer holds everything after `position` (undefined: it does). */
function whyNotHeld(position: string, info: { created: string; state: { first_seq: number; last_seq: number } }): string | undefined {
  const at = parsePosition(position)
  if (at === undefined) return `'${position}' is not a JetStream position`
  if (at.created !== info.created) return 'the stream was recreated since'
  if (info.state.last_seq < at.seq) return `the stream ends before the position (${at.seq})`
  if (info.state.first_seq > at.seq + 1) return `entries after ${at.seq} were removed (--bridge-retention) before being read`
  return undefined
}
