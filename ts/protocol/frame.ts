// Length-prefixed frames: a 4-byte big-endian payload length, then the payload. The decoder
// buffers chunks as they arrive and hands out whole payloads; it never guesses a frame's end
// from its bytes, and it rejects an oversized declared length before reading its body.

import { LocalCachedError } from '../errors'

export const FRAME_HEADER_BYTES = 4

export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length)
  frame.writeUInt32BE(payload.length, 0)
  frame.set(payload, FRAME_HEADER_BYTES)
  return frame
}

export class FrameDecoder {
  readonly maxFrameBytes: number
  #chunks: Buffer[] = []
  /** Read position inside #chunks[0]. */
  #offset = 0
  #buffered = 0

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes
  }

  get bufferedBytes(): number {
    return this.#buffered
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
  }

  /**
   * The next whole payload, or null until one has fully arrived. Throws FrameTooLarge as soon
   * as a header declares more than maxFrameBytes. The payload may be a view of a received chunk.
   */
  tryRead(): Buffer | null {
    if (this.#buffered < FRAME_HEADER_BYTES) return null
    this.#gather(FRAME_HEADER_BYTES)
    const length = this.#chunks[0].readUInt32BE(this.#offset)
    if (length > this.maxFrameBytes) {
      throw new LocalCachedError('FrameTooLarge', `frame of ${length} bytes is over the limit of ${this.maxFrameBytes} bytes`)
    }
    const total = FRAME_HEADER_BYTES + length
    if (this.#buffered < total) return null
    this.#gather(total)
    const first = this.#chunks[0]
    const payload = first.subarray(this.#offset + FRAME_HEADER_BYTES, this.#offset + total)
    this.#offset += total
    this.#buffered -= total
    if (this.#offset === first.length) {
      this.#chunks.shift()
      this.#offset = 0
    }
    return payload
  }

  /** Makes the first chunk hold at least `bytes` unread bytes, joining chunks only when a frame spans them. */
  #gather(bytes: number): void {
    const first = this.#chunks[0]
    if (first.length - this.#offset >= bytes) return
    const parts = [first.subarray(this.#offset)]
    let have = parts[0].length
    let used = 1
    while (have < bytes) {
      const next = this.#chunks[used++]
      parts.push(next)
      have += next.length
    }
    this.#chunks.splice(0, used, Buffer.concat(parts, have))
    this.#offset = 0
  }
}
