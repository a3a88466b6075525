// Builds the frames answering one read of a connection in one outgoing buffer, so that a
// value is copied once on its way out: from the store's Buffer into this buffer (or, past
// LARGE_VALUE_BYTES, not at all: it is written as its own chunk of a gathered write).
//
// `Value` and `Values` replies, most of a cache's traffic, are written in their CBOR form
// directly (canonical CBOR that decodes to the same message the general encoder's bytes do,
// which a test checks), so a value is never first copied into an encoder's buffer and then
// again into a frame.

import type { Socket } from 'node:net'
import { encodePayload } from './codec'
import { FRAME_HEADER_BYTES } from './frame'
import type { Response } from './messages'

/** Values at least this large go out as their own chunk instead of being copied. */
export const LARGE_VALUE_BYTES = 16 * 1024
const INITIAL_BYTES = 1024
/** Where a writer starts: nothing is allocated until a frame is written. */
const NO_BYTES = Buffer.alloc(0)

// CBOR: a map of two pairs, "type": "Value", then the key "value" (the client reads this layout by hand: reply-frames.ts).
export const VALUE_PREFIX = Buffer.from([0xa2, 0x64, ...Buffer.from('type'), 0x65, ...Buffer.from('Value'), 0x65, ...Buffer.from('value')])
// CBOR: a map of two pairs, "type": "Values", then the key "values".
const VALUES_PREFIX = Buffer.from([0xa2, 0x64, ...Buffer.from('type'), 0x66, ...Buffer.from('Values'), 0x66, ...Buffer.from('values')])
const CBOR_NULL = 0xf6

export class FrameWriter {
  /** Finished chunks, in order; the buffer being filled follows them. */
  #chunks: Buffer[] = []
  #buf: Buffer = NO_BYTES
  #used = 0
  #bytes = 0

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes
  }

  get empty(): boolean {
    return this.#bytes === 0
  }

  /** Appends the frame of one response. */
  message(response: Response): void {
    if (response.type === 'Value') this.#valueFrame(response.value)
    else if (response.type === 'Values') this.#valuesFrame(response.values)
    else this.frame(encodePayload(response))
  }

  /**
   * Appends a `Value` frame whose value is `source[start..end]`, copied: the bytes a run of
   * gets wrote into its target, which the next run overwrites. The same bytes as
   * `message({ type: 'Value', value })`.
   */
  valueBytes(source: Buffer, start: number, end: number): void {
    const n = end - start
    this.#header(VALUE_PREFIX.length + byteStringHeaderBytes(n) + n)
    this.#copy(VALUE_PREFIX)
    this.#typeAndLength(0x40, n)
    this.#room(n)
    source.copy(this.#buf, this.#used, start, end)
    this.#used += n
    this.#bytes += n
  }

  /** Appends the `Value` frame of a miss: `message({ type: 'Value', value: null })`. */
  noValue(): void {
    this.#valueFrame(null)
  }

  /** Appends an already encoded frame (header included). */
  raw(frame: Uint8Array): void {
    this.#copy(frame)
  }

  /**
   * Appends a frame around an encoded payload. Always copied: an encoder's output is a view
   * of its own buffer, which its next call may overwrite before the socket has written it.
   */
  frame(payload: Uint8Array): void {
    this.#header(payload.length)
    this.#copy(payload)
  }

  /** Writes everything to the socket as one write (a gathered one when values went out whole). */
  writeTo(socket: Socket): void {
    if (this.#bytes === 0) return
    if (this.#used > 0) this.#chunks.push(this.#buf.subarray(0, this.#used))
    const chunks = this.#chunks
    if (chunks.length === 1) socket.write(chunks[0])
    else {
      socket.cork()
      for (const chunk of chunks) socket.write(chunk)
      socket.uncork()
    }
    this.#chunks = []
    this.#buf = NO_BYTES
    this.#used = 0
    this.#bytes = 0
  }

  #valueFrame(value: Uint8Array | null): void {
    const payloadBytes = VALUE_PREFIX.length + (value === null ? 1 : byteStringHeaderBytes(value.length) + value.length)
    this.#header(payloadBytes)
    this.#copy(VALUE_PREFIX)
    this.#byteString(value)
  }

  #valuesFrame(values: ReadonlyArray<Uint8Array | null>): void {
    let payloadBytes = VALUES_PREFIX.length + arrayHeaderBytes(values.length)
    for (const v of values) payloadBytes += v === null ? 1 : byteStringHeaderBytes(v.length) + v.length
    this.#header(payloadBytes)
    this.#copy(VALUES_PREFIX)
    this.#typeAndLength(0x80, values.length)
    for (const v of values) this.#byteString(v)
  }

  #byteString(value: Uint8Array | null): void {
    if (value === null) {
      this.#room(1)
      this.#buf[this.#used++] = CBOR_NULL
      this.#bytes++
      return
    }
    this.#typeAndLength(0x40, value.length)
    if (value.length >= LARGE_VALUE_BYTES) this.#handOver(value)
    else this.#copy(value)
  }

  #header(payloadBytes: number): void {
    this.#room(FRAME_HEADER_BYTES)
    this.#buf.writeUInt32BE(payloadBytes, this.#used)
    this.#used += FRAME_HEADER_BYTES
    this.#bytes += FRAME_HEADER_BYTES
  }

  /** A CBOR head: major type (as its high bits) and a length. */
  #typeAndLength(major: number, n: number): void {
    this.#room(5)
    const b = this.#buf
    let at = this.#used
    if (n < 24) b[at++] = major | n
    else if (n < 0x100) {
      b[at++] = major | 24
      b[at++] = n
    } else if (n < 0x10000) {
      b[at++] = major | 25
      b.writeUInt16BE(n, at)
      at += 2
    } else {
      b[at++] = major | 26
      b.writeUInt32BE(n, at)
      at += 4
    }
    this.#bytes += at - this.#used
    this.#used = at
  }

  #copy(bytes: Uint8Array): void {
    this.#room(bytes.length)
    this.#buf.set(bytes, this.#used)
    this.#used += bytes.length
    this.#bytes += bytes.length
  }

  /**
   * A value the store handed out (each read's Buffer is the reader's own: NativeStore.get)
   * goes out as its own chunk, written by the socket from where it is.
   */
  #handOver(value: Uint8Array): void {
    if (this.#used > 0) {
      this.#chunks.push(this.#buf.subarray(0, this.#used))
      this.#buf = this.#buf.subarray(this.#used)
      this.#used = 0
    }
    this.#chunks.push(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength))
    this.#bytes += value.length
  }

  /** Makes room for `n` more bytes, moving to a bigger buffer (and copying what it holds) if needed. */
  #room(n: number): void {
    if (this.#used + n <= this.#buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#used + n, INITIAL_BYTES))
    this.#buf.copy(bigger, 0, 0, this.#used)
    this.#buf = bigger
  }
}

function byteStringHeaderBytes(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
}

const arrayHeaderBytes = byteStringHeaderBytes
