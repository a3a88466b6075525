// The calls of one connection waiting for their replies, in request order, and their
// deadlines. One timer per connection, armed for the earliest deadline, times every call out:
// a `setTimeout` and `clearTimeout` per call cost the client about 3 µs of CPU per request
// (measured for issue #15 on sequential gets, ~20 µs of client CPU each). A reply settles its
// call and leaves the timer alone; when the timer fires it fails what is overdue and re-arms
// for the next deadline, so a busy connection pays one timer per timeout period.

import { performance } from 'node:perf_hooks'
import { LocalCachedError } from '../errors'
import type { Response } from '../protocol/messages'

/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 0x7fffffff

export interface PendingCall {
  resolve: (response: Response) => void
  reject: (err: unknown) => void
  /** `performance.now()` after which the call fails with Timeout. */
  deadline: number
  timeoutMs: number
  /** Settled early (timeout or abort); its reply is still consumed, in order, and dropped. */
  settled: boolean
  signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
}

export class PendingCalls {
  #calls: PendingCall[] = []
  #timer: NodeJS.Timeout | undefined
  /** The deadline the timer is armed for; Infinity when it is not armed. */
  #armedFor = Infinity
  readonly #expire = () => this.#expireOverdue()

  get length(): number {
    return this.#calls.length
  }

  /** Queues a call whose request was sent; its reply is the next one after those queued. */
  add(call: PendingCall): void {
    this.#calls.push(call)
    if (call.deadline < this.#armedFor) this.#arm(call.deadline)
  }

  /** The call the next reply answers (undefined: a reply nobody asked for). */
  next(): PendingCall | undefined {
    return this.#calls.shift()
  }

  /** Settles a call once, detaching its abort listener; false if it had settled already. */
  static settle(call: PendingCall): boolean {
    if (call.settled) return false
    call.settled = true
    call.signal?.removeEventListener('abort', call.onAbort!)
    return true
  }

  /** Fails every queued call with a copy of `failure` and forgets them. */
  rejectAll(failure: LocalCachedError): void {
    const calls = this.#calls
    this.#calls = []
    this.#disarm()
    for (const call of calls) {
      if (PendingCalls.settle(call)) call.reject(new LocalCachedError(failure.code, failure.message))
    }
  }

  #arm(deadline: number): void {
    clearTimeout(this.#timer)
    this.#armedFor = deadline
    // At least 1 ms: Node's timer clock is read once per loop turn and can fire a hair early,
    // in which case the overdue check below finds nothing and arms again. At most the longest
    // delay Node takes (2^31 - 1 ms, about 24.8 days; a longer one fires after 1 ms): a later
    // deadline is reached by arming again.
    this.#timer = setTimeout(this.#expire, Math.min(MAX_TIMER_MS, Math.max(1, Math.ceil(deadline - performance.now()))))
    // The connection's socket keeps the process alive while calls wait; the timer need not.
    this.#timer.unref()
  }

  #disarm(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#armedFor = Infinity
  }

  #expireOverdue(): void {
    this.#timer = undefined
    this.#armedFor = Infinity
    const now = performance.now()
    let next = Infinity
    for (const call of this.#calls) {
      if (call.settled) continue
      if (call.deadline <= now) {
        PendingCalls.settle(call)
        call.reject(new LocalCachedError('Timeout', `no reply within ${call.timeoutMs} ms`))
      } else if (call.deadline < next) next = call.deadline
    }
    if (next !== Infinity) this.#arm(next)
  }
}
