// RESP pub/sub: SUBSCRIBE / PSUBSCRIBE to localcached's events. Each event goes on the channel
// `localcached:<type>:<svc>:<table>` (`localcached:lagged`, `localcached:flush` for events
// without a key), with the CacheEvent as JSON for payload, so `PSUBSCRIBE
// localcached:*:shop:*` filters by service. A subscriber that does not read has a bounded
// backlog; what does not fit is replaced by one message on `localcached:lagged`.

import type { Socket } from 'node:net'
import type { CacheEvent } from '../protocol/events'
import type { EventSink } from '../server/pubsub'
import { reply } from './codec'
import { compileGlob, type GlobMatcher } from './glob'

/** Unsent bytes a RESP subscriber may have before its messages are dropped (and counted). */
export const RESP_SUBSCRIBER_HIGH_WATER = 1024 * 1024

export function channelOf(event: CacheEvent): string {
  if ('key' in event) {
    const [svc, table] = event.key.split(':')
    return `localcached:${event.type}:${svc}:${table}`
  }
  if (event.type === 'invalidate_scope') return `localcached:invalidate_scope:${event.svc ?? '*'}:${event.table ?? '*'}`
  return `localcached:${event.type}`
}

export class RespSubscriber implements EventSink {
  readonly channels = new Set<string>()
  readonly patterns = new Map<string, GlobMatcher>()
  readonly #socket: Socket
  #dropped = 0

  constructor(socket: Socket) {
    this.#socket = socket
    socket.on('drain', () => this.#flushLagged())
  }

  get count(): number {
    return this.channels.size + this.patterns.size
  }

  offerEvent(event: CacheEvent): void {
    if (this.count === 0) return
    const channel = channelOf(event)
    const targets: Buffer[] = []
    let payload: Buffer | undefined
    if (this.channels.has(channel)) {
      payload ??= Buffer.from(JSON.stringify(event))
      targets.push(reply.array([reply.bulk('message'), reply.bulk(channel), reply.bulk(payload)]))
    }
    for (const [pattern, re] of this.patterns) {
      if (!re.test(channel)) continue
      payload ??= Buffer.from(JSON.stringify(event))
      targets.push(reply.array([reply.bulk('pmessage'), reply.bulk(pattern), reply.bulk(channel), reply.bulk(payload)]))
    }
    for (const frame of targets) this.#send(frame)
  }

  #send(frame: Buffer): void {
    if (this.#dropped > 0 || this.#socket.writableLength > RESP_SUBSCRIBER_HIGH_WATER) {
      this.#dropped++
      return
    }
    this.#socket.write(frame)
  }

  lagged(dropped: number): void {
    this.#dropped += dropped
    this.#flushLagged()
  }

  #flushLagged(): void {
    if (this.#dropped === 0 || this.#socket.writableLength > RESP_SUBSCRIBER_HIGH_WATER) return
    const dropped = this.#dropped
    this.#dropped = 0
    const event: CacheEvent = { type: 'lagged', dropped }
    const channel = channelOf(event)
    const payload = Buffer.from(JSON.stringify(event))
    if (this.channels.has(channel)) this.#socket.write(reply.array([reply.bulk('message'), reply.bulk(channel), reply.bulk(payload)]))
    for (const [pattern, re] of this.patterns) {
      if (re.test(channel)) this.#socket.write(reply.array([reply.bulk('pmessage'), reply.bulk(pattern), reply.bulk(channel), reply.bulk(payload)]))
    }
  }

  close(): void {
    this.#socket.end()
  }

  /** SUBSCRIBE / PSUBSCRIBE / UNSUBSCRIBE / PUNSUBSCRIBE: one confirmation per name, as Redis. */
  change(command: string, names: string[]): Buffer[] {
    const kind = command.toLowerCase()
    const out: Buffer[] = []
    const confirm = (name: string | null) => out.push(reply.array([reply.bulk(kind), reply.bulk(name), reply.integer(this.count)]))
    if (kind === 'subscribe') for (const n of names) (this.channels.add(n), confirm(n))
    else if (kind === 'psubscribe') for (const n of names) (this.patterns.set(n, compileGlob(n)), confirm(n))
    else {
      const set = kind === 'unsubscribe' ? this.channels : this.patterns
      const targets = names.length ? names : [...set.keys()]
      if (targets.length === 0) confirm(null)
      for (const n of targets) (set.delete(n), confirm(n))
    }
    return out
  }
}
