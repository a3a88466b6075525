// A subscription: its own connection, carrying only events and heartbeats after the
// daemon's acknowledgement. An async iterator over CacheEvents with a bounded buffer: a
// consumer that stops iterating makes it stop reading the socket, so the daemon's queue for
// it fills and the daemon sends `lagged` instead of growing anyone's memory.

import type { Socket } from 'node:net'
import { LocalCachedError } from '../errors'
import { encodeMessage } from '../protocol/codec'
import type { CacheEvent } from '../protocol/events'
import { openWire, wireError } from './wire'

export interface SubscribeOptions {
  svc?: string
  table?: string
  /** Events buffered client-side before reading pauses. Default 1024. */
  bufferEvents?: number
}

type Waiter = { resolve: (r: IteratorResult<CacheEvent>) => void; reject: (err: unknown) => void }

export class Subscription implements AsyncIterableIterator<CacheEvent> {
  /** Unix ms of the last heartbeat from the daemon (undefined until the first). */
  lastHeartbeat: number | undefined
  readonly #limit: number
  readonly #buffer: CacheEvent[] = []
  readonly #waiters: Waiter[] = []
  readonly #closeListeners: Array<() => void> = []
  #socket: Socket | undefined
  #paused = false
  #ended = false
  #error: LocalCachedError | undefined

  private constructor(limit: number) {
    this.#limit = limit
  }

  static async open(path: string, timeoutMs: number, options: SubscribeOptions): Promise<Subscription> {
    const subscription = new Subscription(options.bufferEvents ?? 1024)
    let acknowledge: ((err?: LocalCachedError) => void) | undefined
    const acknowledged = new Promise<void>((resolve, reject) => {
      acknowledge = (err) => (err ? reject(err) : resolve())
    })
    const { socket } = await openWire(
      path,
      timeoutMs,
      (message) => {
        if (acknowledge) {
          const ack = acknowledge
          acknowledge = undefined
          if (message.type === 'Ok') return ack()
          return ack(message.type === 'Err' ? wireError(message as never) : new LocalCachedError('Internal', `expected Ok, got ${String(message.type)}`))
        }
        subscription.#onPush(message)
      },
      (reason) => {
        if (acknowledge) acknowledge(reason)
        subscription.#end(reason)
      },
    )
    subscription.#socket = socket
    socket.write(encodeMessage({ type: 'Subscribe', svc: options.svc, table: options.table }))
    const timer = setTimeout(() => acknowledge?.(new LocalCachedError('Timeout', `no Subscribe acknowledgement within ${timeoutMs} ms`)), timeoutMs)
    try {
      await acknowledged
    } catch (err) {
      subscription.close()
      throw err
    } finally {
      clearTimeout(timer)
    }
    return subscription
  }

  #onPush(message: Record<string, unknown>): void {
    if (message.type === 'Heartbeat') {
      this.lastHeartbeat = typeof message.unixMs === 'number' ? message.unixMs : Date.now()
      return
    }
    if (message.type !== 'Event' || typeof message.event !== 'object' || message.event === null) return
    const event = message.event as CacheEvent
    const waiter = this.#waiters.shift()
    if (waiter) return waiter.resolve({ value: event, done: false })
    this.#buffer.push(event)
    if (!this.#paused && this.#buffer.length >= this.#limit) {
      this.#paused = true
      this.#socket?.pause()
    }
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
  }

  onClose(listener: () => void): void {
    if (this.#ended) listener()
    else this.#closeListeners.push(listener)
  }

  /** Ends iteration; an unexpected end (`reason`) is thrown to the consumer once, after buffered events. */
  #end(reason?: LocalCachedError): void {
    if (this.#ended) return
    this.#ended = true
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
