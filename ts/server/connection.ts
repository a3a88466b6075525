// One client connection: frames in, replies out. It handles every complete frame of a read
// in order and answers them with one write. States: the mandatory handshake, then requests,
// or, after Subscribe, an event stream that accepts no further requests. Consecutive Gets
// (and Puts without options) of one read are executed as runs, one store call each (#run). A
// request answered later (a local miss that asks L2, a write that waits for L2 under
// --l2-write through) holds the frames after it until its reply is written, so replies keep
// the order of requests.

import type { Socket } from 'node:net'
import type { Logger } from '../logger'
import { LocalCachedError } from '../errors'
import { FrameDecoder } from '../protocol/frame'
import { decodePayload, encodeMessage } from '../protocol/codec'
import { parseRequest, PROTOCOL_VERSION, type Request, type Response, type ServerLimits } from '../protocol/messages'
import { handleRequest, metaResponse } from './handlers'
import type { MaybeAsync } from './operations'
import { FrameWriter } from '../protocol/frame-writer'
import type { Daemon } from './daemon'
import type { Subscriber } from './pubsub'
import type { TrackingPeer } from './tracking'
import { INVALID_COMMAND, wireCode, type CommandCounts } from './command-counts'
import { pauseAbove, unlessDrainComes } from './back-pressure'
import { readRunRequest, RUN_GET, RUN_PUT } from '../protocol/request-frames'
import { MAX_RUN, runScratch } from './runs'
import { READ_CODES } from '../native-store'

type State = 'handshake' | 'ready' | 'subscribed' | 'closing'

export interface ConnectionContext {
  daemon: Daemon
  limits: ServerLimits
  serverVersion: string
  log: Logger
  maxSubscribers: number
  /** Unsent reply bytes past which this connection is not read until its socket drains. */
  maxPendingReplyBytes: number
  /** Told the size of every read (see read-garbage.ts). */
  onBytesRead: (bytes: number) => void
}

export class Connection {
  readonly socket: Socket
  readonly #ctx: ConnectionContext
  readonly #decoder: FrameDecoder
  readonly #log: Logger
  #state: State = 'handshake'
  #subscriber: Subscriber | undefined
  /** Set by `Track`: this connection's near cache is told of changes to what it was served. */
  #tracking: TrackingPeer | undefined
  #tookLeases = false
  readonly #counts: CommandCounts
  /** This connection's number (its log lines' `conn`, and its part of an L2 lease token). */
  readonly #id: number
  /** A reply is being waited for: nothing after it is answered until it is written. */
  #waiting = false
  /** end() came while waiting: end once the reply is written. */
  #endAfterWait = false

  constructor(socket: Socket, ctx: ConnectionContext, id: number) {
    this.socket = socket
    this.#ctx = ctx
    this.#id = id
    this.#log = ctx.log.child({ conn: id })
    this.#decoder = new FrameDecoder(ctx.limits.maxFrameBytes)
    this.#counts = ctx.daemon.commands
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('drain', () => this.#onDrain())
    socket.on('error', (err) => this.#log.debug({ err }, 'connection error'))
    socket.on('close', () => {
      if (this.#subscriber) ctx.daemon.pubsub.remove(this.#subscriber)
      if (this.#tracking) ctx.daemon.tracker.removePeer(this.#tracking)
      if (this.#tookLeases) ctx.daemon.ops.releaseLeases(this)
      this.#state = 'closing'
    })
  }

  get subscribed(): boolean {
    return this.#state === 'subscribed'
  }

  /** Ends the connection once what was already answered has been written. */
  end(): void {
    this.#state = 'closing'
    if (this.#waiting) this.#endAfterWait = true
    else this.socket.end()
  }

  #onData(chunk: Buffer): void {
    this.#ctx.onBytesRead(chunk.length)
    if (this.#state === 'closing') return
    this.#decoder.push(chunk)
    if (!this.#waiting) this.#pump()
  }

  /**
   * Back-pressure: a client that pipelines without reading its replies is not read (and its
   * already-received frames wait) while its unsent replies exceed maxPendingReplyBytes, so it
   * cannot grow the daemon's memory. Answering resumes when the socket drains.
   */
  #onDrain(): void {
    if (this.#waitingForDrain && this.#state === 'ready') {
      this.#waitingForDrain = false
      this.socket.resume()
      if (!this.#waiting) this.#pump()
    }
  }

  #waitingForDrain = false

  /**
   * Answers the frames received so far, in order, in one write, as far as back-pressure allows;
   * `first` is the reply that was waited for, written ahead of them.
   */
  #pump(first?: (replies: FrameWriter) => void): void {
    const replies = new FrameWriter()
    first?.(replies)
    try {
      for (;;) {
        if (this.#state === 'ready' && this.socket.writableLength + replies.bytes > pauseAbove(this.socket, this.#ctx.maxPendingReplyBytes)) {
          this.#waitingForDrain = true
          this.socket.pause()
          break
        }
        const payload = this.#next()
        if (payload === null) break
        if (this.#state === 'ready') {
          const kind = readRunRequest(payload, runScratch.spans, 0)
          if (kind === RUN_GET || (kind === RUN_PUT && this.#ctx.daemon.ops.putRunsServed)) {
            if (!this.#run(kind, payload, replies)) break
            continue
          }
        }
        if (!this.#handleFrame(payload, replies)) break
      }
    } catch (err) {
      // Only the decoder throws here (FrameTooLarge): framing is lost, so the connection ends.
      this.#counts.error('native', INVALID_COMMAND, wireCode(err))
      replies.raw(errorFrame(err))
      this.#state = 'closing'
    }
    if (this.socket.destroyed) return
    replies.writeTo(this.socket)
    if (this.#waitingForDrain) unlessDrainComes(this.socket, () => this.#onDrain())
    if (this.#state === 'closing' && !this.#waiting) this.socket.end()
  }

  /** The next frame to answer: one held back, else the next one received; null until one has fully arrived. */
  #next(): Buffer | null {
    if (this.#heldAt < this.#held.length) return this.#held[this.#heldAt++]
    if (this.#held.length !== 0) {
      this.#held = []
      this.#heldAt = 0
    }
    return this.#decoder.tryRead()
  }

  /** Puts back the frame #next() just returned. */
  #unread(payload: Buffer): void {
    if (this.#heldAt > 0) this.#held[--this.#heldAt] = payload
    else this.#held.unshift(payload)
  }

  /** Holds `payloads` (a run's unanswered frames, in order) ahead of every other frame. */
  #hold(payloads: Buffer[]): void {
    this.#held = payloads.concat(this.#held.slice(this.#heldAt))
    this.#heldAt = 0
  }

  /** Frames taken from the decoder and not answered yet (a run stopped by back-pressure or a wait). */
  #held: Buffer[] = []
  #heldAt = 0

  /**
   * Answers `first` (a Get or a Put without options, `kind`) and the frames of the same kind
   * that follow it in the same received buffer, executed as runs (Operations.getRun, putRun).
   * A request the run stops before is answered with its error, or through #handleFrame as any
   * frame is. Returns false when no further frame may be read (a request answered later).
   */
  #run(kind: number, first: Buffer, replies: FrameWriter): boolean {
    const { spans } = runScratch
    const width = kind === RUN_GET ? 2 : 4
    const payloads = [first]
    while (payloads.length < MAX_RUN) {
      let next: Buffer | null
      try {
        next = this.#next()
      } catch {
        // FrameTooLarge: the frames so far are answered first; the pump meets it again.
        break
      }
      if (next === null) break
      if (next.buffer !== first.buffer || readRunRequest(next, spans, payloads.length * width) !== kind) {
        this.#unread(next)
        break
      }
      payloads.push(next)
    }
    const source = Buffer.from(first.buffer)
    const type = kind === RUN_GET ? 'Get' : 'Put'
    const ops = this.#ctx.daemon.ops
    const outcome = runScratch.outcome
    const n = payloads.length
    let i = 0
    while (i < n) {
      const at = i === 0 ? spans : spans.subarray(i * width)
      let done: number
      try {
        done = kind === RUN_GET ? ops.getRun(source, at, n - i, runScratch.target, outcome) : ops.putRun(source, at, n - i, outcome)
      } catch (err) {
        // Thrown, not reported through `outcome` (the store closed under us, or a bug of ours):
        // it costs the request the run was at, as a throw costs a single call, and the run
        // goes on after it.
        this.#counts.error('native', type, wireCode(err))
        replies.raw(errorFrame(err))
        i++
        continue
      }
      // Under L2 the last key read may be a miss L2 answers: its reply is that answer.
      const missAnswer = outcome.missAnswer
      const answered = missAnswer === undefined ? done : done - 1
      if (kind === RUN_GET) this.#getReplies(answered, replies)
      else for (let j = 0; j < done; j++) replies.raw(OK_FRAME)
      for (let j = 0; j < answered; j++) this.#counts.nativeOk(type)
      i += done
      if (missAnswer !== undefined) {
        const { value } = missAnswer
        if (value instanceof Promise) {
          this.#waitFor('Get', value.then((v): Response => ({ type: 'Value', value: v ?? null })))
          this.#hold(payloads.slice(i))
          return false
        }
        this.#counts.nativeOk(type)
        replies.message({ type: 'Value', value: value ?? null })
      } else if (i === n) break
      else if (outcome.failure !== undefined) {
        // The request the run stopped before failed, doing nothing: answered as its single call would be.
        this.#counts.error('native', type, wireCode(outcome.failure))
        replies.raw(errorFrame(outcome.failure))
        i++
      } else if (!(kind === RUN_GET ? done > 0 && outcome.results[done - 1] === READ_CODES.inOverflow : outcome.removalsPending)) {
        // Left to the single call.
        if (!this.#handleFrame(payloads[i++], replies)) {
          this.#hold(payloads.slice(i))
          return false
        }
      }
      if (i < n && this.socket.writableLength + replies.bytes > pauseAbove(this.socket, this.#ctx.maxPendingReplyBytes)) {
        // The pump's check pauses the connection; the rest of the run waits for the drain.
        this.#hold(payloads.slice(i))
        return true
      }
    }
    return true
  }

  /** The replies of the first `done` gets of a run, from its outcome and target. */
  #getReplies(done: number, replies: FrameWriter): void {
    const { results, overflow } = runScratch.outcome
    const target = runScratch.target
    let at = 0
    for (let j = 0; j < done; j++) {
      const r = results[j]
      if (r >= 0) {
        replies.valueBytes(target, at, at + r)
        at += r
      } else if (r === READ_CODES.inOverflow) replies.message({ type: 'Value', value: overflow[j] })
      else replies.noValue()
    }
  }

  /** Writes `later`'s reply when it settles, then answers what arrived meanwhile. */
  #waitFor(type: Request['type'], later: Promise<Response>): void {
    this.#waiting = true
    later.then(
      (response) => this.#resume((replies) => {
        this.#counts.nativeOk(type)
        replies.message(response)
      }),
      (err) => this.#resume((replies) => {
        this.#counts.error('native', type, wireCode(err))
        replies.raw(errorFrame(err))
      }),
    )
  }

  #resume(first: (replies: FrameWriter) => void): void {
    this.#waiting = false
    if (this.socket.isPaused() && !this.#waitingForDrain && this.#state === 'ready') this.socket.resume()
    if (this.#endAfterWait) {
      const replies = new FrameWriter()
      first(replies)
      if (!this.socket.destroyed) replies.writeTo(this.socket)
      this.socket.end()
      return
    }
    // Back-pressure held while waiting: a paused socket resumes through #onDrain.
    if (this.#waitingForDrain) {
      const replies = new FrameWriter()
      first(replies)
      if (!this.socket.destroyed) replies.writeTo(this.socket)
      return
    }
    this.#pump(first)
  }

  /** Answers one frame into `replies`; returns false when no further frame may be read. */
  #handleFrame(payload: Buffer, replies: FrameWriter): boolean {
    if (this.#state === 'subscribed') {
      this.#counts.error('native', INVALID_COMMAND, 'BadRequest')
      replies.raw(errorFrame(new LocalCachedError('BadRequest', 'a subscribed connection accepts no requests')))
      this.#state = 'closing'
      return false
    }
    let request: Request
    try {
      request = parseRequest(decode(payload))
    } catch (err) {
      this.#counts.error('native', INVALID_COMMAND, wireCode(err))
      replies.raw(errorFrame(err))
      if (this.#state === 'handshake') this.#state = 'closing'
      return this.#state !== 'closing'
    }
    if (this.#state === 'handshake') return this.#handshake(request, replies)
    switch (request.type) {
      case 'Hello':
        this.#counts.error('native', 'Hello', 'BadRequest')
        replies.raw(errorFrame(new LocalCachedError('BadRequest', 'Hello was already received on this connection')))
        return true
      case 'Subscribe':
        if (this.#ctx.daemon.pubsub.size >= this.#ctx.maxSubscribers) {
          this.#counts.error('native', 'Subscribe', 'LimitExceeded')
          replies.raw(errorFrame(new LocalCachedError('LimitExceeded', `the daemon already has ${this.#ctx.daemon.pubsub.size} subscribers (--max-subscribers ${this.#ctx.maxSubscribers})`)))
          return true
        }
        this.#counts.nativeOk('Subscribe')
        replies.message({ type: 'Ok' })
        this.#state = 'subscribed'
        // Queue the ack first, then start the stream behind it. Frames pipelined after the
        // Subscribe are read next, and refused (a subscribed connection takes no requests).
        replies.writeTo(this.socket)
        this.#subscriber = this.#ctx.daemon.pubsub.add(this.socket, { svc: request.svc, table: request.table })
        return true
      case 'Track':
        this.#tracking ??= this.#ctx.daemon.tracker.addPeer(this.socket)
        this.#counts.nativeOk('Track')
        replies.message({ type: 'Ok' })
        return true
      case 'Snapshot':
        // A save takes seconds on a large store: what the client pipelines meanwhile is left in
        // the socket (back-pressure), not buffered here.
        this.socket.pause()
        this.#waitFor('Snapshot', this.#ctx.daemon.saveSnapshot().then(({ entries }): Response => ({ type: 'Integer', value: entries })))
        return false
      default: {
        let response: MaybeAsync<Response>
        const ops = this.#ctx.daemon.ops
        try {
          response = this.#handleOwn(request) ?? handleRequest(this.#ctx.daemon, request as Parameters<typeof handleRequest>[1])
        } catch (err) {
          ops.takeAckWait()
          this.#counts.error('native', request.type, wireCode(err))
          replies.raw(errorFrame(err))
          return true
        }
        const ack = ops.takeAckWait()
        if (response instanceof Promise || ack !== undefined) {
          this.#waitFor(request.type, ack === undefined ? (response as Promise<Response>) : ack.then(() => response))
          return false
        }
        this.#counts.nativeOk(request.type)
        replies.message(response)
      }
        return true
    }
  }

  /** Requests whose answer depends on this connection (tracking, leases); null for the rest. */
  #handleOwn(request: Request): MaybeAsync<Response> | null {
    const daemon = this.#ctx.daemon
    switch (request.type) {
      case 'GetWithMeta': {
        if (!request.track) return null
        if (!this.#tracking) throw new LocalCachedError('BadRequest', 'GetWithMeta with track needs Track first on this connection')
        const meta = daemon.ops.getWithMeta(request.key, this.#tracking)
        return meta instanceof Promise ? meta.then(metaResponse) : metaResponse(meta)
      }
      case 'Lease':
        this.#tookLeases = true
        return boolResponse(daemon.ops.lease(request.key, this, request.ttlMs, isOpenConnection, this.#id))
      case 'LeaseRelease':
        return boolResponse(daemon.ops.releaseLease(request.key, this))
      case 'Put': {
        if (!request.lease) return null
        const { key, value, ttlMs, version, dependsOn, publish } = request
        const done = daemon.ops.putLeased(key, value, { ttlMs, version, dependsOn, publish }, this)
        return done instanceof Promise ? done.then((): Response => ({ type: 'Ok' })) : { type: 'Ok' }
      }
      default:
        return null
    }
  }

  #handshake(request: Request, replies: FrameWriter): boolean {
    if (request.type !== 'Hello') {
      this.#counts.error('native', request.type, 'BadRequest')
      replies.raw(errorFrame(new LocalCachedError('BadRequest', `the first request must be Hello, got ${request.type}`)))
      this.#state = 'closing'
      return false
    }
    if (request.protocolVersion !== PROTOCOL_VERSION) {
      this.#counts.error('native', 'Hello', 'ProtocolVersion')
      replies.raw(
        errorFrame(new LocalCachedError('ProtocolVersion', `protocol version ${request.protocolVersion} is not supported; this daemon speaks ${PROTOCOL_VERSION}`)),
      )
      this.#state = 'closing'
      return false
    }
    const ok: Response = { type: 'HelloOk', protocolVersion: PROTOCOL_VERSION, serverVersion: this.#ctx.serverVersion, limits: this.#ctx.limits }
    this.#counts.nativeOk('Hello')
    replies.message(ok)
    this.#state = 'ready'
    return true
  }
}

function boolResponse(value: MaybeAsync<boolean>): MaybeAsync<Response> {
  return value instanceof Promise ? value.then((v): Response => ({ type: 'Bool', value: v })) : { type: 'Bool', value }
}

/** Whether a lease holder (a Connection) can still finish: its socket is open. */
function isOpenConnection(holder: object): boolean {
  return holder instanceof Connection && !holder.socket.destroyed
}

function decode(payload: Buffer): unknown {
  try {
    return decodePayload(payload)
  } catch (err) {
    throw new LocalCachedError('BadRequest', `payload is not one valid CBOR item: ${(err as Error).message}`)
  }
}

/** The reply of a Put, as FrameWriter.message({ type: 'Ok' }) writes it. */
const OK_FRAME = encodeMessage({ type: 'Ok' } satisfies Response)

export function errorFrame(err: unknown): Buffer {
  const wire =
    err instanceof LocalCachedError
      ? { code: wireCode(err), message: err.message }
      : { code: 'Internal', message: `internal error: ${(err as Error)?.message ?? String(err)}` }
  return encodeMessage({ type: 'Err', ...wire } satisfies Response)
}
