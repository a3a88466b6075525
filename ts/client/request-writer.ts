// One connection's outgoing requests, coalesced adaptively. A request made while nothing is
// queued or batched is written at once, so a lone call waits for nobody. The requests that
// follow it in the same turn (a pipeline refilling itself as a read's replies resolve its
// calls) are appended to one buffer instead and written together when the microtasks queued
// so far have run: 2 writes per 16 or 256 gets in flight, not 16 or 256.
//
// Measured (issue #15): writing only when `writableLength > 0` hardly ever batches, since a
// Unix socket write completes at once; corking every call until the end of the turn was
// slower at 16 in flight; a setImmediate flush makes as few writes as the microtask but sends
// the batch later.
//
// Frames are built in one reused buffer: a write that the socket finished at once (its
// writableLength is back to 0) gives its bytes back; one still in progress keeps them, and
// the next batch starts after them, or in a new buffer.

import type { Socket } from 'node:net'
import { LocalCachedError } from '../errors'
import { encodePayload } from '../protocol/codec'
import { FRAME_HEADER_BYTES } from '../protocol/frame'
import { fixedRequestBound, writeFixedRequest } from '../protocol/request-frames'

const INITIAL_BYTES = 16 * 1024
/** A buffer grown past this (a large Put) is let go once written, not kept for the connection's life. */
const KEPT_BYTES = 256 * 1024

export class RequestWriter {
  readonly #socket: Socket
  #buf = Buffer.allocUnsafe(INITIAL_BYTES)
  /** Where the bytes not yet handed to the socket start, and where they end. */
  #start = 0
  #used = 0
  /** A flush is queued: requests until then join the batch. */
  #scheduled = false
  readonly #flush = () => this.#flushBatch()

  constructor(socket: Socket) {
    this.#socket = socket
  }

  /**
   * Sends one request (now, or with the rest of this turn's). Throws BadArgument if it cannot
   * be encoded, ValueTooLarge if its payload is over `maxFrameBytes` (0: no limit); then
   * nothing was sent.
   */
  send(message: object, maxFrameBytes: number): void {
    const bound = fixedRequestBound(message)
    let end: number
    if (bound > 0) {
      this.#room(bound)
      end = writeFixedRequest(this.#buf, this.#used, message)
    } else {
      let payload: Uint8Array
      try {
        payload = encodePayload(message)
      } catch (err) {
        throw new LocalCachedError('BadArgument', `cannot encode request: ${(err as Error).message}`)
      }
      this.#room(FRAME_HEADER_BYTES + payload.length)
      this.#buf.writeUInt32BE(payload.length, this.#used)
      this.#buf.set(payload, this.#used + FRAME_HEADER_BYTES)
      end = this.#used + FRAME_HEADER_BYTES + payload.length
    }
    // A frame over the daemon's limit would cost the connection (FrameTooLarge closes it):
    // refuse it here, where the caller can tell it is about the size of what it sent.
    const payloadBytes = end - this.#used - FRAME_HEADER_BYTES
    if (maxFrameBytes > 0 && payloadBytes > maxFrameBytes) {
      throw new LocalCachedError('ValueTooLarge', `request of ${payloadBytes} bytes is over the daemon's frame limit of ${maxFrameBytes} bytes; nothing was sent`)
    }
    this.#used = end
    if (this.#scheduled) return
    this.#scheduled = true
    queueMicrotask(this.#flush)
    // With something still queued in the socket, this request waits for the flush too.
    if (this.#socket.writableLength === 0) this.#write()
  }

  /** Writes what is batched now (before the socket is ended, say). */
  flush(): void {
    if (this.#used > this.#start) this.#write()
  }

  #flushBatch(): void {
    this.#scheduled = false
    if (this.#used > this.#start) this.#write()
  }

  #write(): void {
    const socket = this.#socket
    if (socket.destroyed) {
      // Its calls fail through the connection's close; nothing can be sent.
      this.#empty()
      return
    }
    socket.write(this.#buf.subarray(this.#start, this.#used))
    // Written already (the usual case on a Unix socket): the buffer is ours again.
    if (socket.writableLength > 0) this.#start = this.#used
    else if (this.#buf.length > KEPT_BYTES) this.#empty()
    else this.#start = this.#used = 0
  }

  /** Makes room for `n` more bytes after the batch, in a new buffer if needed (the socket may still hold the old one). */
  #room(n: number): void {
    if (this.#used + n <= this.#buf.length) return
    const batched = this.#used - this.#start
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.#buf.length, batched + n))
    this.#buf.copy(bigger, 0, this.#start, this.#used)
    this.#buf = bigger
    this.#start = 0
    this.#used = batched
  }

  #empty(): void {
    this.#buf = Buffer.allocUnsafe(INITIAL_BYTES)
    this.#start = this.#used = 0
  }
}
