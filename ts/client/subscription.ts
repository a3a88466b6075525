// A subscription: its own connection, carrying only events and heartbeats after the
// daemon's acknowledgement. An async iterator over CacheEvents with a bounded buffer: a
// consumer that stops iterating makes it stop reading the socket, so the daemon's queue for
// it fills and the daemon sends `lagged` instead of growing anyone's memory.
//
// Interruptions: when the connection breaks, or the daemon misses 3 heartbeats in a row (it
// may be hung), the subscription yields `{ type: 'reset' }` and reconnects with backoff; once
// resubscribed it yields `reset` again, since events published in between were missed. With
// reconnect off it ends instead, throwing ConnectionLost to its consumer.

import type { Socket } from 'node:net'
import { LocalCachedError } from '../errors'
import { encodeMessage } from '../protocol/codec'
import type { CacheEvent } from '../protocol/events'
import { connectionLost, openWire, wireError } from './wire'
import { backoffDelay, resolveReconnect, type ResolvedReconnect } from './backoff'

export interface SubscribeOptions {
  svc?: string
  table?: string
  /** Events buffered client-side before reading pauses. Default 1024. */
  bufferEvents?: number
}

type Waiter = { resolve: (r: IteratorResult<CacheEvent>) => void; reject: (err: unknown) => void }

/** Heartbeats missed in a row before the daemon is presumed gone. */
export const MISSED_HEARTBEATS = 3

export class Subscription implements AsyncIterableIterator<CacheEvent> {
  /** Unix ms of the last heartbeat from the daemon (undefined until the first). */
  lastHeartbeat: number | undefined
  readonly #path: string
  readonly #timeoutMs: number
  readonly #filter: { svc?: string; table?: string }
  readonly #limit: number
  readonly #reconnect: ResolvedReconnect
  readonly #buffer: CacheEvent[] = []
  readonly #waiters: Waiter[] = []
  readonly #closeListeners: Array<() => void> = []
  #socket: Socket | undefined
  #paused = false
  #ended = false
  #error: LocalCachedError | undefined
  #watchdog: NodeJS.Timeout | undefined
  #lastHeard = 0
  #reconnectTimer: NodeJS.Timeout | undefined
  #attempt = 0
  #resets = 0

  private constructor(path: string, timeoutMs: number, options: SubscribeOptions, reconnect: ResolvedReconnect) {
    this.#path = path
    this.#timeoutMs = timeoutMs
    this.#filter = { svc: options.svc, table: options.table }
    this.#limit = options.bufferEvents ?? 1024
    this.#reconnect = reconnect
  }

  static async open(path: string, timeoutMs: number, options: SubscribeOptions, reconnect = resolveReconnect(undefined)): Promise<Subscription> {
    const subscription = new Subscription(path, timeoutMs, options, reconnect)
    await subscription.#connect()
    return subscription
  }

  /** How many times the stream was reset (interrupted or re-established). */
  get resets(): number {
    return this.#resets
  }

  /** Opens a connection, subscribes, and resolves once the daemon acknowledged. */
  async #connect(): Promise<void> {
    let acknowledge: ((err?: LocalCachedError) => void) | undefined
    const acknowledged = new Promise<void>((resolve, reject) => {
      acknowledge = (err) => (err ? reject(err) : resolve())
    })
    let socket: Socket | undefined
    const opened = await openWire(
      this.#path,
      this.#timeoutMs,
      (message) => {
        this.#lastHeard = Date.now()
        if (acknowledge) {
          const ack = acknowledge
          acknowledge = undefined
          if (message.type === 'Ok') return ack()
          return ack(message.type === 'Err' ? wireError(message as never) : new LocalCachedError('Internal', `expected Ok, got ${String(message.type)}`))
        }
        this.#onPush(message)
      },
      (reason) => {
        if (acknowledge) return acknowledge(reason)
        if (socket === this.#socket) this.#onLost(reason)
      },
    )
    socket = opened.socket
    socket.write(encodeMessage({ type: 'Subscribe', svc: this.#filter.svc, table: this.#filter.table }))
    const timer = setTimeout(() => acknowledge?.(new LocalCachedError('Timeout', `no Subscribe acknowledgement within ${this.#timeoutMs} ms`)), this.#timeoutMs)
    try {
      await acknowledged
    } catch (err) {
      socket.destroy()
      throw err
    } finally {
      clearTimeout(timer)
    }
    if (this.#ended) {
      socket.destroy()
      return
    }
    this.#socket = socket
    if (this.#paused) socket.pause()
    this.#startWatchdog(opened.handshake.limits.heartbeatMs)
  }

  /** Presumes the daemon gone after MISSED_HEARTBEATS silent intervals (a hung daemon keeps the socket open). */
  #startWatchdog(heartbeatMs: number): void {
    clearInterval(this.#watchdog)
    if (!(heartbeatMs > 0)) return
    this.#lastHeard = Date.now()
    this.#watchdog = setInterval(() => {
      // A paused consumer is not reading; silence is then ours, not the daemon's.
      if (this.#paused) return (this.#lastHeard = Date.now()), undefined
      if (Date.now() - this.#lastHeard > MISSED_HEARTBEATS * heartbeatMs) {
        this.#socket?.destroy()
        this.#onLost(new LocalCachedError('ConnectionLost', `no heartbeat from the daemon at ${this.#path} for ${MISSED_HEARTBEATS} × ${heartbeatMs} ms`))
      }
    }, heartbeatMs)
    this.#watchdog.unref()
  }

  #onPush(message: Record<string, unknown>): void {
    if (message.type === 'Heartbeat') {
      this.lastHeartbeat = typeof message.unixMs === 'number' ? message.unixMs : Date.now()
      return
    }
    if (message.type !== 'Event' || typeof message.event !== 'object' || message.event === null) return
    this.#deliver(message.event as CacheEvent)
  }

  #deliver(event: CacheEvent): void {
    const waiter = this.#waiters.shift()
    if (waiter) return waiter.resolve({ value: event, done: false })
    this.#buffer.push(event)
    if (!this.#paused && this.#buffer.length >= this.#limit) {
      this.#paused = true
      this.#socket?.pause()
    }
  }

  /** Resets are never dropped, and two in a row say nothing more than one. */
  #reset(): void {
    this.#resets++
    if (this.#buffer.at(-1)?.type === 'reset') return
    this.#deliver({ type: 'reset' })
  }

  #onLost(reason: LocalCachedError): void {
    clearInterval(this.#watchdog)
    this.#watchdog = undefined
    this.#socket = undefined
    if (this.#ended) return
    if (!this.#reconnect.enabled) return this.#end(reason.code === 'ConnectionLost' ? reason : connectionLost(this.#path, reason))
    this.#reset()
    this.#scheduleReconnect()
  }

  #scheduleReconnect(): void {
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined
      if (this.#ended) return
      this.#connect().then(
        () => {
          if (this.#ended) return
          this.#attempt = 0
          this.#reset()
        },
        () => {
          this.#attempt++
          if (!this.#ended) this.#scheduleReconnect()
        },
      )
    }, backoffDelay(this.#reconnect, this.#attempt))
  }

  next(): Promise<IteratorResult<CacheEvent>> {
    const event = this.#buffer.shift()
    if (event !== undefined) {
      if (this.#paused && this.#buffer.length <= this.#limit / 2) {
        this.#paused = false
        this.#socket?.resume()
      }
      return Promise.resolve({ value: event, done: false })
    }
    if (this.#error) {
      const err = this.#error
      this.#error = undefined
      return Promise.reject(err)
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  async return(): Promise<IteratorResult<CacheEvent>> {
    this.close()
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<CacheEvent> {
    return this
  }

  get closed(): boolean {
    return this.#ended
  }

  /** Ends the subscription: iteration finishes after the events already buffered. */
  close(): void {
    this.#end()
    this.#socket?.destroy()
    this.#socket = undefined
  }

  onClose(listener: () => void): void {
    if (this.#ended) listener()
    else this.#closeListeners.push(listener)
  }

  /** Ends iteration; an unexpected end (`reason`) is thrown to the consumer once, after buffered events. */
  #end(reason?: LocalCachedError): void {
    if (this.#ended) return
    this.#ended = true
    clearInterval(this.#watchdog)
    clearTimeout(this.#reconnectTimer)
    const waiters = this.#waiters.splice(0)
    // Waiters exist only when the buffer is empty: tell them now, or keep it for the next call.
    if (reason && waiters.length === 0) this.#error = reason
    for (const waiter of waiters) {
      if (reason) waiter.reject(reason)
      else waiter.resolve({ value: undefined, done: true })
    }
    for (const listener of this.#closeListeners.splice(0)) listener()
  }
}
