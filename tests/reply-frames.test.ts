import { describe, expect, it } from 'vitest'
import { decodeReply } from '../ts/protocol/reply-frames'
import { decodePayload, encodePayload } from '../ts/protocol/codec'
import { FrameWriter } from '../ts/protocol/frame-writer'
import { FRAME_HEADER_BYTES } from '../ts/protocol/frame'
import type { Response } from '../ts/protocol/messages'
import type { Socket } from 'node:net'

/** The payload the daemon writes for `response`. */
function daemonPayload(response: Response): Buffer {
  const writer = new FrameWriter()
  writer.message(response)
  const chunks: Buffer[] = []
  writer.writeTo({ write: (c: Buffer) => chunks.push(Buffer.from(c)), cork() {}, uncork() {} } as unknown as Socket)
  return Buffer.concat(chunks).subarray(FRAME_HEADER_BYTES)
}

describe('the client reads replies', () => {
  // Every byte-string head: inline (0..23), 1-, 2- and 4-byte lengths, and their edges.
  const lengths = [0, 1, 23, 24, 255, 256, 65535, 65536, 100_000]

  it('reads the daemon\'s Value replies as the general decoder does, for every length class and a miss', () => {
    for (const n of lengths) {
      const value = Buffer.alloc(n, n % 251)
      const payload = daemonPayload({ type: 'Value', value })
      expect(decodeReply(payload)).toEqual({ type: 'Value', value })
      const general = decodePayload(payload) as { type: string; value: Uint8Array }
      expect(general.type).toBe('Value')
      expect(Buffer.from(general.value).equals(value)).toBe(true)
    }
    expect(decodeReply(daemonPayload({ type: 'Value', value: null }))).toEqual({ type: 'Value', value: null })
  })

  it('gives a Value its own bytes, never a view of the read buffer, however the reply was encoded', () => {
    for (const payload of [daemonPayload({ type: 'Value', value: Buffer.from('abc') }), Buffer.from(encodePayload({ type: 'Value', value: Buffer.from('abc') }))]) {
      const reply = decodeReply(payload) as { value: Buffer }
      expect(Buffer.isBuffer(reply.value)).toBe(true)
      payload.fill(0)
      expect(reply.value.toString()).toBe('abc')
    }
  })

  it('leaves anything else to the general decoder: other replies, and Value payloads that are cut short or run on', () => {
    expect(decodeReply(Buffer.from(encodePayload({ type: 'Ok' })))).toEqual({ type: 'Ok' })
    const whole = daemonPayload({ type: 'Value', value: Buffer.alloc(40, 1) })
    expect(() => decodeReply(whole.subarray(0, whole.length - 1))).toThrow()
    // A trailing byte after the value is not one CBOR item: refused as the general decoder refuses it.
    expect(() => decodeReply(Buffer.concat([whole, Buffer.from([0x00])]))).toThrow()
    expect(() => decodeReply(Buffer.concat([daemonPayload({ type: 'Value', value: null }), Buffer.from([0x01])]))).toThrow()
  })
})
