// The outgoing frame builder: its hand-written Value/Values frames decode to exactly what the
// general encoder's frames decode to, and large values leave without being copied.
import { describe, expect, it } from 'vitest'
import type { Socket } from 'node:net'
import { FrameWriter, LARGE_VALUE_BYTES } from '../ts/protocol/frame-writer'
import { decodePayload, encodeMessage } from '../ts/protocol/codec'
import { FrameDecoder } from '../ts/protocol/frame'
import type { Response } from '../ts/protocol/messages'

function recordingSocket() {
  const writes: Buffer[] = []
  let corked = 0
  const socket = {
    write: (chunk: Buffer) => (writes.push(chunk), true),
    cork: () => corked++,
    uncork: () => corked--,
  }
  return { socket: socket as unknown as Socket, writes, corked: () => corked }
}

/** Every frame in `bytes`, decoded; throws if anything is left over. */
function frames(bytes: Buffer): unknown[] {
  const decoder = new FrameDecoder(1 << 30)
  decoder.push(bytes)
  const out: unknown[] = []
  for (let p = decoder.tryRead(); p !== null; p = decoder.tryRead()) out.push(decodePayload(p))
  expect(decoder.bufferedBytes).toBe(0)
  return out
}

const SIZES = [0, 1, 23, 24, 255, 256, 65_535, 65_536, LARGE_VALUE_BYTES - 1, LARGE_VALUE_BYTES, 200_000]
const valueOf = (n: number) => Buffer.alloc(n, n % 251)

describe('FrameWriter', () => {
  it('writes Value replies that decode as the general encoder\'s do, at every CBOR length boundary', () => {
    for (const value of [null, ...SIZES.map(valueOf)]) {
      const { socket, writes } = recordingSocket()
      const out = new FrameWriter()
      out.message({ type: 'Value', value })
      out.writeTo(socket)
      expect(frames(Buffer.concat(writes))).toEqual(frames(encodeMessage({ type: 'Value', value })))
    }
  })

  it('writes Values replies that decode as the general encoder\'s do', () => {
    const lists = [0, 1, 23, 24, 300].map((count) => Array.from({ length: count }, (_, i) => (i % 3 === 0 ? null : valueOf(i))))
    lists.push([null, ...SIZES.map(valueOf)])
    for (const values of lists) {
      const { socket, writes } = recordingSocket()
      const out = new FrameWriter()
      out.message({ type: 'Values', values })
      out.writeTo(socket)
      expect(frames(Buffer.concat(writes))).toEqual(frames(encodeMessage({ type: 'Values', values })))
    }
  })

  it('answers a read in one write, and hands large values to the socket without copying them', () => {
    const { socket, writes, corked } = recordingSocket()
    const out = new FrameWriter()
    const large = valueOf(LARGE_VALUE_BYTES)
    const replies: Response[] = [{ type: 'Ok' }, { type: 'Value', value: valueOf(100) }, { type: 'Value', value: large }, { type: 'Integer', value: 7 }]
    for (const r of replies) out.message(r)
    const before = out.bytes
    out.writeTo(socket)
    expect(before).toBe(Buffer.concat(writes).length)
    expect(corked()).toBe(0)
    expect(writes.some((w) => w === large)).toBe(true) // the very Buffer, not a copy
    expect(frames(Buffer.concat(writes))).toEqual(frames(Buffer.concat(replies.map((r) => encodeMessage(r)))))
    // Small replies alone: one plain write.
    out.message({ type: 'Pong' })
    out.writeTo(socket)
    expect(frames(writes.at(-1)!)).toEqual([{ type: 'Pong' }])
    expect(out.empty).toBe(true)
  })
})
