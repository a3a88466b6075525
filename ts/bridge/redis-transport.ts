// The bridge over Redis Streams: XADD with an approximate MAXLEN, XREAD BLOCK from the last id
// read. Two connections: one publishes (commands wait through a reconnect and are resent), one
// reads (fails fast while Redis is away). The read position is checked on the reading
// connection, between reads: after any read error (a reconnect, perhaps to a restarted Redis)
// before reading again, when the bridge asks, and after every read while replaying or behind.

import Redis, { type RedisOptions } from 'ioredis'
import { LocalCachedError } from '../errors'
import type { RawMessage } from './message'
import { redactBridgeUrl, type BridgeTransport, type OutgoingMessage, type TransportOptions, type TransportSink } from './transport'

const READ_COUNT = 1000
const READ_BLOCK_MS = 1000
const RETRY_MS = 100

/** XADD of each (hostId, body) pair of ARGV[2..], trimming to about ARGV[1] entries. */
const APPEND_SCRIPT = `
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'h', ARGV[i], 'm', ARGV[i + 1])
end
return (#ARGV - 1) / 2
`

/** Redis stream ids ("ms-seq") in order. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map((x) => BigInt(x || '0'))
  const [bm, bs] = b.split('-').map((x) => BigInt(x || '0'))
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1
}

/** ioredis's options for a bridge URL: redis://, rediss:// (TLS) or redis+unix://[user:pass@]/path[?db=N]. */
export function redisOptionsFromUrl(url: string): { target: string | RedisOptions; options: RedisOptions } {
  const scheme = 'redis+unix://'
  if (!url.toLowerCase().startsWith(scheme)) return { target: url, options: {} }
  // Parsed by hand: a WHATWG URL takes no credentials without a host.
  let rest = url.slice(scheme.length)
  const query = rest.indexOf('?')
  const params = new URLSearchParams(query >= 0 ? rest.slice(query + 1) : '')
  if (query >= 0) rest = rest.slice(0, query)
  const at = rest.lastIndexOf('@', rest.indexOf('/') >= 0 ? rest.indexOf('/') : undefined)
  const userinfo = at >= 0 ? rest.slice(0, at) : ''
  const path = decodeURIComponent(at >= 0 ? rest.slice(at + 1) : rest)
  if (!path.startsWith('/') || path === '/') throw new LocalCachedError('BadArgument', `--bridge ${redactBridgeUrl(url)}: redis+unix:// needs an absolute socket path, like redis+unix:///run/redis.sock`)
  const options: RedisOptions = {}
  if (userinfo) {
    const colon = userinfo.indexOf(':')
    if (colon >= 0) {
      if (colon > 0) options.username = decodeURIComponent(userinfo.slice(0, colon))
      options.password = decodeURIComponent(userinfo.slice(colon + 1))
    } else options.password = decodeURIComponent(userinfo)
  }
  const db = params.get('db')
  if (db !== null) options.db = Number(db)
  return { target: { path }, options }
}

export class RedisStreamTransport implements BridgeTransport {
  readonly engine = 'redis'
  readonly #key: string
  readonly #retention: number
  readonly #publisher: Redis
  readonly #reader: Redis
  #sink: TransportSink | undefined
  /** The id of the last entry read ('0-0': none yet, the stream was empty at start). */
  #position = '0-0'
  #closed = false
  /** Check the position before the next read: requested, or the last read failed. */
  #checkDue = false
  #reading: Promise<void> | undefined
  /** The stream's last id when start() ran: a replay has caught up once it has read this far. */
  #replayEnd = '0-0'
  #caughtUp: Array<() => void> = []

  constructor(options: TransportOptions) {
    this.#key = `localcached:bridge:${options.name}`
    this.#retention = options.retention
    const { target, options: base } = redisOptionsFromUrl(options.url)
    const make = (extra: RedisOptions) => {
      // RESP2: replies keep the shapes every Redis version gives (XREAD: [[key, entries]]).
      const all: RedisOptions = { ...base, protocol: 2, lazyConnect: true, retryStrategy: (times) => Math.min(times * 10, options.reconnectMaxMs), ...extra }
      const client = typeof target === 'string' ? new Redis(target, all) : new Redis({ ...target, ...all })
      client.on('error', (err) => this.#sink?.trouble('redis connection', err))
      return client
    }
    // Publishing waits through an outage (the outbox bounds what waits) and resends what was unanswered.
    this.#publisher = make({ maxRetriesPerRequest: null, connectionName: 'localcached-bridge-publish' })
    this.#publisher.defineCommand('lcBridgeAppend', { numberOfKeys: 1, lua: APPEND_SCRIPT })
    this.#reader = make({ maxRetriesPerRequest: 0, enableOfflineQueue: false, connectionName: 'localcached-bridge-read' })
  }

  async start(sink: TransportSink, resumeFrom?: string): Promise<string | undefined> {
    this.#sink = sink
    await Promise.all([this.#publisher.connect(), this.#reader.connect()])
    const end = await this.#lastId()
    let refused: string | undefined
    if (resumeFrom !== undefined) {
      refused = /^\d+-\d+$/.test(resumeFrom) ? await this.#whyLost(resumeFrom) : `'${resumeFrom}' is not a Redis stream id`
    }
    this.#position = resumeFrom !== undefined && refused === undefined ? resumeFrom : end
    this.#replayEnd = end
    this.#reading = this.#readLoop()
    return refused
  }

  caughtUp(): Promise<void> {
    if (compareStreamIds(this.#position, this.#replayEnd) >= 0) return Promise.resolve()
    return new Promise((resolve) => this.#caughtUp.push(resolve))
  }

  #moved(position: string): void {
    this.#position = position
    if (this.#caughtUp.length > 0 && compareStreamIds(position, this.#replayEnd) >= 0) for (const resolve of this.#caughtUp.splice(0)) resolve()
  }

  position(): string {
    return this.#position
  }

  /**
   * One script call appends the whole batch, in order, all or nothing: one command for the
   * client to encode instead of one per message. A resend after a lost reply duplicates
   * entries; receivers skip seqs they have applied.
   */
  async publish(batch: readonly OutgoingMessage[]): Promise<void> {
    const args: string[] = [String(this.#retention)]
    for (const m of batch) args.push(m.hostId, m.body)
    await (this.#publisher as unknown as { lcBridgeAppend(key: string, ...args: string[]): Promise<unknown> }).lcBridgeAppend(this.#key, ...args)
  }

  async checkPosition(): Promise<void> {
    this.#checkDue = true
  }

  /** On the reading connection, between reads: whether the stream still holds our position. */
  async #verifyPosition(): Promise<void> {
    const why = await this.#whyLost(this.#position)
    if (!why || this.#closed) return
    // Move to the end first, then report: the flush that follows covers all before it.
    this.#moved(await this.#lastId())
    this.#sink!.positionLost(why)
  }

  /** Why the stream no longer holds everything after `position` (undefined: it does). */
  async #whyLost(position: string): Promise<string | undefined> {
    let why: string | undefined
    const [range, info] = (await this.#reader.pipeline().call('XRANGE', this.#key, position, position).call('XINFO', 'STREAM', this.#key).exec()) ?? []
    if (range?.[0]) throw range[0]
    if (info?.[0]) {
      // No stream at all: it is gone unless it never existed since we started reading.
      if (position !== '0-0') why = 'the stream is gone (Redis restarted empty, or the key was deleted)'
    } else {
      if (position !== '0-0' && (range![1] as unknown[]).length === 0) why = `the stream no longer holds the last entry read (${position}): Redis restarted, or the stream was trimmed past it`
      const maxDeleted = streamInfoField(info![1], 'max-deleted-entry-id')
      if (!why && typeof maxDeleted === 'string' && compareStreamIds(maxDeleted, position) > 0) why = `entries after the last one read (${position}) were trimmed (--bridge-retention) before being read`
    }
    return why
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#publisher.disconnect()
    this.#reader.disconnect()
    await this.#reading?.catch(() => {})
  }

  /** Whether the stream has trimmed an entry newer than `position` (so not all after it can be read). */
  async #trimmedAfter(position: string): Promise<boolean> {
    const info = await this.#reader.call('XINFO', 'STREAM', this.#key)
    const maxDeleted = streamInfoField(info, 'max-deleted-entry-id')
    return typeof maxDeleted === 'string' && compareStreamIds(maxDeleted, position) > 0
  }

  async #lastId(): Promise<string> {
    const last = (await this.#reader.call('XREVRANGE', this.#key, '+', '-', 'COUNT', '1')) as Array<[string, unknown]>
    return last.length > 0 ? last[0][0] : '0-0'
  }

  async #readLoop(): Promise<void> {
    while (!this.#closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null
      let before = this.#position
      try {
        if (this.#checkDue) {
          await this.#verifyPosition()
          this.#checkDue = false
        }
        before = this.#position
        reply = (await this.#reader.call('XREAD', 'COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.#key, this.#position)) as typeof reply
      } catch (err) {
        if (this.#closed) return
        this.#sink!.trouble('redis read', err)
        this.#checkDue = true
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
        continue
      }
      if (this.#closed) return
      if (reply === null) continue
      const entries = reply[0][1]
      if (entries.length === 0) continue
      const last = entries[entries.length - 1][0]
      // A replay, or a reader that has fallen behind (a full batch), reads the stream's old
      // part, where an XADD's trim can remove entries between our position and what this XREAD
      // returned: check that none was, before applying what comes after such a hole.
      const behind = compareStreamIds(before, this.#replayEnd) < 0 || entries.length === READ_COUNT
      if (behind && (await this.#trimmedAfter(before).catch(() => false))) {
        if (this.#closed) return
        this.#moved(await this.#lastId().catch(() => last))
        this.#sink!.positionLost(`entries after ${before} were trimmed (--bridge-retention) before being read`)
        continue
      }
      this.#position = last
      this.#sink!.messages(entries.map(([, fields]) => rawFromFields(fields)))
      this.#moved(last)
    }
  }
}

function rawFromFields(fields: string[]): RawMessage {
  let hostId: string | undefined
  let body: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'h') hostId = fields[i + 1]
    else if (fields[i] === 'm') body = fields[i + 1]
  }
  return { hostId, body }
}

function streamInfoField(info: unknown, name: string): unknown {
  if (!Array.isArray(info)) return undefined
  for (let i = 0; i + 1 < info.length; i += 2) if (info[i] === name) return info[i + 1]
  return undefined
}
