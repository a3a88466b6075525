// The sending half of the bridge. A change gets its seq when it is applied locally (the client
// is answered before anything is sent); the outbox sends in pipelined batches, one batch in
// flight, in seq order. The outbox is bounded: an overflow discards it and starts a new epoch
// without `bye`, so every receiver sees the break and flushes rather than miss something.

import { randomBytes } from 'node:crypto'
import type { Change } from '../server/change'
import { changeFields, encodeMessage, type BridgeMessage } from './message'
import type { BridgeTransport, OutgoingMessage } from './transport'

/** A numbered message waiting in the outbox; encoded when it is sent. */
interface Queued {
  message: BridgeMessage
  /** Its send waits for a step of its own (an L2 write, say): the outbox holds it, and all after it, until then. */
  waiting: boolean
}

/** Messages per pipelined batch. */
const MAX_BATCH = 2000
const RETRY_MS = 100

export function newEpoch(): string {
  return randomBytes(8).toString('hex')
}

export interface PublisherOptions {
  hostId: string
  /** --bridge-outbox: changes waiting to be sent, past which the outbox overflows. */
  outboxLimit: number
  /** When this daemon started (every epoch of this process carries it). */
  startMs: number
  transport: BridgeTransport
  /** A batch failed (it is retried) or the outbox overflowed: for the log. */
  trouble(what: string, details: Record<string, unknown>): void
}

export class Publisher {
  readonly #options: PublisherOptions
  #epoch = newEpoch()
  /** Every epoch this process has used: its own messages, read back, are skipped by them. */
  readonly epochs = new Set<string>([this.#epoch])
  #seq = 0
  #outbox: Queued[] = []
  #inFlight = 0
  #pumping = false
  /** No more messages are taken (shutting down). */
  #stopped = false
  /** Nothing more is sent, not even a retry (closed). */
  #abandoned = false
  #drained: Array<() => void> = []
  /** Messages the engine acknowledged. */
  published = 0
  overflows = 0

  constructor(options: PublisherOptions) {
    this.#options = options
  }

  get epoch(): string {
    return this.#epoch
  }

  /** The last seq given out in the current epoch. */
  get seq(): number {
    return this.#seq
  }

  /** Changes waiting: queued plus the batch in flight. */
  get outboxSize(): number {
    return this.#outbox.length + this.#inFlight
  }

  /**
   * A local request's change: numbered now (when it was applied locally), sent soon. With
   * `settled`, it is sent only once that settles, and the fields it resolves to are added to
   * the message (a step that must reach another tier before the news of the change does);
   * messages after it keep their order and wait behind it.
   */
  change(change: Change, settled?: Promise<Partial<BridgeMessage> | void>): void {
    if (this.#stopped) return
    if (this.outboxSize >= this.#options.outboxLimit) this.#overflow()
    const queued = this.#enqueue(changeFields(change), settled !== undefined)
    settled?.then(
      (extra) => {
        if (extra) Object.assign(queued.message, extra)
      },
      () => {},
    ).finally(() => {
      queued.waiting = false
      this.#kick()
    })
  }

  /** Liveness for receivers; skipped while the outbox is full (messages are coming anyway). */
  heartbeat(): void {
    if (this.#stopped || this.outboxSize >= this.#options.outboxLimit) return
    this.#enqueue({ kind: 'heartbeat' })
  }

  /**
   * Shutdown: waits (until `deadline`) for the outbox to drain, then sends `bye` carrying the
   * last seq. Returns whether bye was sent; without it receivers treat the silence as a gap.
   */
  async drainAndBye(deadline: number): Promise<boolean> {
    const inTime = <T>(p: Promise<T>) => Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())).unref())])
    this.#stopped = true
    if (!(await inTime(this.#whenDrained()))) return false
    this.#enqueue({ kind: 'bye' })
    return inTime(this.#whenDrained())
  }

  /** Sends nothing more. */
  stop(): void {
    this.#stopped = this.#abandoned = true
    this.#outbox = []
  }

  #whenDrained(): Promise<void> {
    if (this.outboxSize === 0) return Promise.resolve()
    return new Promise((resolve) => this.#drained.push(resolve))
  }

  #enqueue(fields: Pick<BridgeMessage, 'kind' | 'key' | 'scope' | 'version' | 'published'>, waiting = false): Queued {
    const now = Date.now()
    const message: BridgeMessage = { v: 1, hostId: this.#options.hostId, epoch: this.#epoch, seq: ++this.#seq, start: this.#options.startMs, ts: now, ...fields }
    const queued: Queued = { message, waiting }
    this.#outbox.push(queued)
    this.#kick()
    return queued
  }

  #kick(): void {
    if (this.#pumping) return
    this.#pumping = true
    // After the current tick: the requests of one read chunk go out as one batch.
    queueMicrotask(() => void this.#pump())
  }

  /** Up to MAX_BATCH messages from the head of the outbox, stopping at one still waiting. */
  #takeBatch(): OutgoingMessage[] {
    let n = 0
    while (n < this.#outbox.length && n < MAX_BATCH && !this.#outbox[n].waiting) n++
    return this.#outbox.splice(0, n).map((q) => ({ hostId: this.#options.hostId, body: encodeMessage(q.message) }))
  }

  #overflow(): void {
    const discarded = this.#outbox.length
    this.#outbox = []
    this.overflows++
    this.#epoch = newEpoch()
    this.epochs.add(this.#epoch)
    this.#seq = 0
    this.#options.trouble('outbox overflow: discarded the outbox and started a new epoch; receivers will flush', { discarded, limit: this.#options.outboxLimit, epoch: this.#epoch })
  }

  async #pump(): Promise<void> {
    for (;;) {
      const epoch = this.#epoch
      const batch = this.#takeBatch()
      if (batch.length === 0) break
      this.#inFlight = batch.length
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#options.transport.publish(batch)
          this.published += batch.length
          break
        } catch (err) {
          // A batch of a discarded epoch is not worth resending: receivers flush on the new one.
          if (epoch !== this.#epoch || this.#abandoned) break
          if (attempt === 1 || attempt % 50 === 0) this.#options.trouble('bridge publish failed; retrying', { err, messages: batch.length, attempt })
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
        }
      }
      this.#inFlight = 0
    }
    this.#pumping = false
    if (this.outboxSize === 0) for (const resolve of this.#drained.splice(0)) resolve()
  }
}
