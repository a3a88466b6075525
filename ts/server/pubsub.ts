// Fan-out that never stalls. Each subscriber has a bounded queue in front of its socket;
// a slow one never blocks the server or the others, and its memory stays bounded. When its
// queue is full, further events are dropped and replaced by one `lagged{dropped}` event,
// delivered after the queue drains, so the subscriber knows to flush what it cached.

import type { Socket } from 'node:net'
import { encodeMessage } from '../protocol/codec'
import { eventMatches, type CacheEvent, type EventFilter } from '../protocol/events'

/** Bytes we let sit in a subscriber socket's own buffer before queueing instead. */
export const SOCKET_HIGH_WATER = 64 * 1024

export interface PubSubCounters {
  published: number
  dropped: number
  lagged: number
}

export class Subscriber {
  readonly socket: Socket
  readonly filter: EventFilter
  readonly #queueLimit: number
  readonly #counters: PubSubCounters
  #queue: Buffer[] = []
  #dropped = 0

  constructor(socket: Socket, filter: EventFilter, queueLimit: number, counters: PubSubCounters) {
    this.socket = socket
    this.filter = filter
    this.#queueLimit = queueLimit
    this.#counters = counters
    socket.on('drain', () => this.flush())
  }

  get queued(): number {
    return this.#queue.length
  }

  #socketHasRoom(): boolean {
    return this.socket.writable && this.socket.writableLength < SOCKET_HIGH_WATER
  }

  offer(frame: Buffer): void {
    if (this.#dropped > 0 || this.#queue.length >= this.#queueLimit) {
      // Once something is lost, everything until the lagged notice is lost too: events
      // after a gap without a lagged marker would look like a complete stream.
      this.#dropped++
      this.#counters.dropped++
      return
    }
    this.#counters.published++
    if (this.#queue.length === 0 && this.#socketHasRoom()) this.socket.write(frame)
    else this.#queue.push(frame)
  }

  /** Delivers every dropped-event notice as a lagged event, as for a queue overflow. */
  lagged(dropped: number): void {
    this.#dropped += dropped
    this.flush()
  }

  flush(): void {
    while (this.#queue.length > 0 && this.#socketHasRoom()) this.socket.write(this.#queue.shift()!)
    if (this.#queue.length === 0 && this.#dropped > 0 && this.socket.writable) {
      this.socket.write(encodeMessage({ type: 'Event', event: { type: 'lagged', dropped: this.#dropped } }))
      this.#counters.lagged++
      this.#dropped = 0
    }
  }

  /** Heartbeats only go to a subscriber that is keeping up; a backed-up one has data coming. */
  heartbeat(frame: Buffer): void {
    if (this.#queue.length === 0 && this.#dropped === 0 && this.#socketHasRoom()) this.socket.write(frame)
  }
}

/** A subscriber of another protocol (RESP): given each event, it encodes and filters itself. */
export interface EventSink {
  offerEvent(event: CacheEvent): void
  /** Events were lost before reaching it (the store's removal hand-off overflowed). */
  lagged(dropped: number): void
  close(): void
}

export class PubSub {
  readonly #subscribers = new Set<Subscriber>()
  readonly #sinks = new Set<EventSink>()
  readonly #queueLimit: number
  /** Since start; the daemon's stats report them. */
  readonly counters: PubSubCounters = { published: 0, dropped: 0, lagged: 0 }

  constructor(queueLimit: number) {
    this.#queueLimit = queueLimit
  }

  get size(): number {
    return this.#subscribers.size + this.#sinks.size
  }

  addSink(sink: EventSink): void {
    this.#sinks.add(sink)
  }

  removeSink(sink: EventSink): void {
    this.#sinks.delete(sink)
  }

  add(socket: Socket, filter: EventFilter): Subscriber {
    const subscriber = new Subscriber(socket, filter, this.#queueLimit, this.counters)
    this.#subscribers.add(subscriber)
    return subscriber
  }

  remove(subscriber: Subscriber): void {
    this.#subscribers.delete(subscriber)
  }

  publish(event: CacheEvent): void {
    for (const sink of this.#sinks) sink.offerEvent(event)
    if (this.#subscribers.size === 0) return
    let frame: Buffer | undefined
    for (const subscriber of this.#subscribers) {
      if (!eventMatches(subscriber.filter, event)) continue
      frame ??= encodeMessage({ type: 'Event', event })
      subscriber.offer(frame)
    }
  }

  /** The store's removal hand-off overflowed: every subscriber may have missed events. */
  laggedAll(dropped: number): void {
    for (const subscriber of this.#subscribers) subscriber.lagged(dropped)
    for (const sink of this.#sinks) sink.lagged(dropped)
  }

  heartbeat(): void {
    if (this.#subscribers.size === 0) return
    const frame = encodeMessage({ type: 'Heartbeat', unixMs: Date.now() })
    for (const subscriber of this.#subscribers) subscriber.heartbeat(frame)
  }

  closeAll(): void {
    for (const subscriber of this.#subscribers) subscriber.socket.end()
    for (const sink of this.#sinks) sink.close()
    this.#subscribers.clear()
    this.#sinks.clear()
  }
}
