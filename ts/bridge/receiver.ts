// The receiving half of the bridge, and its gap rule. Per origin host it remembers (epoch,
// seq). The first message of an unknown origin is its baseline; after that, anything but the
// next seq of the same epoch (or seq 1 of a new epoch after `bye`) is a gap, as are an
// unreadable body from a known origin, an origin silent too long without `bye`, and a read
// position the engine lost. On a gap the host flushes: it cannot know what it missed.

import { changeOf, decodeMessage, type BridgeMessage, type RawMessage } from './message'
import { LagHistogram } from './lag-histogram'
import { LagWindow } from './lag-window'

interface OriginState {
  epoch: string
  seq: number
  /** Our clock when its last message was read. */
  lastMs: number
  /** Its last message was `bye`: silence is expected, and a new epoch may start at 1. */
  ended: boolean
}

export interface OriginPosition {
  hostId: string
  epoch: string
  seq: number
  ended: boolean
}

export interface ReceiverCounters {
  received: number
  applied: number
  rejected: number
  gaps: number
  flushes: number
}

export interface ReceiverOptions {
  hostId: string
  startMs: number
  /** This process's epochs: its own messages come back and are skipped. */
  ownEpochs: ReadonlySet<string>
  originTimeoutMs: number
  /** Applies a remote change (Operations.applyRemote). */
  apply(message: BridgeMessage): void
  /** Empties the store and tells near caches and subscribers (Operations.flushForBridge). */
  flush(): void
  gap(why: string, details: Record<string, unknown>): void
  /** Another, older daemon publishes with our host id. */
  hostIdInUse(other: BridgeMessage): void
  /** --bridge-ignore-gaps: the coherence checker's mutation (a receiver that never flushes). */
  ignoreGaps?: boolean
}

export class Receiver {
  readonly #options: ReceiverOptions
  readonly #origins = new Map<string, OriginState>()
  readonly counters: ReceiverCounters = { received: 0, applied: 0, rejected: 0, gaps: 0, flushes: 0 }
  readonly lag = new LagWindow()
  readonly lagHistogram = new LagHistogram()
  /** Our clock when anything (our own heartbeats included) was last read. */
  lastReadMs = 0
  /** A flush since the last applied change in this batch: another would change nothing. */
  #freshlyFlushed = false
  /** Our previous process's last change that a loaded snapshot holds: its messages up to it are skipped. */
  #ownPast: { epoch: string; seq: number } | undefined
  /** Every epoch of the process that saved the loaded snapshot: its messages are ours, whatever the clock says. */
  readonly #pastEpochs = new Set<string>()

  constructor(options: ReceiverOptions) {
    this.#options = options
  }

  get origins(): number {
    return this.#origins.size
  }

  /** Resumes following the origins a snapshot recorded, each last heard of at `lastHeardMs` (when the snapshot was saved). */
  seed(origins: readonly OriginPosition[], lastHeardMs: number, self?: { epoch: string; seq: number; epochs?: string[] }): void {
    this.#ownPast = self
    for (const epoch of self?.epochs ?? [self?.epoch]) if (epoch) this.#pastEpochs.add(epoch)
    for (const o of origins) if (o.hostId !== this.#options.hostId) this.#origins.set(o.hostId, { epoch: o.epoch, seq: o.seq, lastMs: lastHeardMs, ended: o.ended })
  }

  /** Each followed host's (epoch, last seq applied, ended with bye): with the engine position, what a snapshot records. */
  originPositions(): OriginPosition[] {
    return [...this.#origins].map(([hostId, s]) => ({ hostId, epoch: s.epoch, seq: s.seq, ended: s.ended }))
  }

  /** Set at shutdown, before the last snapshot: nothing read after this is applied. */
  stopped = false

  messages(batch: readonly RawMessage[]): void {
    if (batch.length === 0 || this.stopped) return
    const now = Date.now()
    this.lastReadMs = now
    this.#freshlyFlushed = false
    for (const raw of batch) this.#one(raw, now)
  }

  /** The engine lost our read position: anything may be missing, from every origin. */
  positionLost(why: string): void {
    this.#origins.clear()
    this.#gap(why, {})
  }

  /** Origins silent past --bridge-origin-timeout-ms are forgotten; without `bye`, that is a gap. */
  checkSilence(now: number): void {
    for (const [hostId, state] of this.#origins) {
      if (now - state.lastMs <= this.#options.originTimeoutMs) continue
      this.#origins.delete(hostId)
      if (!state.ended) this.#gap(`no message from ${hostId} for ${this.#options.originTimeoutMs} ms, and no bye`, { origin: hostId })
    }
  }

  /** After an outage of our own: silence while we could not read was not theirs. */
  resumeSilenceClocks(now: number): void {
    for (const state of this.#origins.values()) state.lastMs = now
  }

  #one(raw: RawMessage, now: number): void {
    const m = decodeMessage(raw.body)
    if (m === undefined || (raw.hostId !== undefined && raw.hostId !== m.hostId)) {
      // From an origin we follow, an unreadable message may have been a change: a gap.
      const known = raw.hostId !== undefined && raw.hostId !== this.#options.hostId && this.#origins.get(raw.hostId)
      if (known) {
        // Flushed now: whatever it says next is its new baseline.
        this.#origins.delete(raw.hostId!)
        this.#gap(`unreadable message from ${raw.hostId}`, { origin: raw.hostId })
      } else this.counters.rejected++
      return
    }
    if (m.hostId === this.#options.hostId) {
      if (this.#options.ownEpochs.has(m.epoch)) return
      // The process that saved our snapshot (by its epochs), or sent before we started (one
      // host, one clock): our own earlier process's, read back by a replay or just after a
      // quick restart. Its changes are applied
      // like any origin's unless the snapshot we loaded already holds them; it is no sign of
      // another daemon with our host id, which would go on publishing after our start.
      if (this.#pastEpochs.has(m.epoch) || m.ts < this.#options.startMs) {
        const inSnapshot = this.#ownPast !== undefined && m.epoch === this.#ownPast.epoch && m.seq <= this.#ownPast.seq
        if (!inSnapshot && changeOf(m) !== undefined) this.#apply(m, now)
        return
      }
      // Two daemons share our host id: the younger one exits (it may be us).
      if (m.start < this.#options.startMs || (m.start === this.#options.startMs && m.epoch < [...this.#options.ownEpochs][0])) this.#options.hostIdInUse(m)
      return
    }
    this.counters.received++
    const state = this.#origins.get(m.hostId)
    if (state === undefined) {
      this.#origins.set(m.hostId, { epoch: m.epoch, seq: m.seq, lastMs: now, ended: m.kind === 'bye' })
    } else {
      if (m.epoch === state.epoch && m.seq <= state.seq) return // resent after a failed batch: already applied
      const next = m.epoch === state.epoch ? m.seq === state.seq + 1 : state.ended && m.seq === 1
      if (!next) {
        const why = m.epoch === state.epoch ? `seq ${m.seq} from ${m.hostId} after ${state.seq}` : `a new epoch from ${m.hostId} without bye`
        this.#gap(why, { origin: m.hostId, epoch: m.epoch, seq: m.seq, lastEpoch: state.epoch, lastSeq: state.seq })
      }
      state.epoch = m.epoch
      state.seq = m.seq
      state.lastMs = now
      state.ended = m.kind === 'bye'
    }
    if (changeOf(m) !== undefined) this.#apply(m, now)
  }

  #apply(m: BridgeMessage, now: number): void {
    this.#options.apply(m)
    this.counters.applied++
    this.#freshlyFlushed = false
    this.lag.add(now, now - m.ts)
    this.lagHistogram.add(now - m.ts)
  }

  #gap(why: string, details: Record<string, unknown>): void {
    this.counters.gaps++
    this.#options.gap(why, details)
    if (this.#options.ignoreGaps || this.#freshlyFlushed) return
    this.#freshlyFlushed = true
    this.counters.flushes++
    this.#options.flush()
  }
}
