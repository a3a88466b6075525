// The client's hand-written request frames: byte for byte what the general encoder writes for
// the same message, at every CBOR length class of a key, and decoded back to the same message.
import { describe, expect, it } from 'vitest'
import { decodePayload, encodeMessage } from '../ts/protocol/codec'
import { FRAME_HEADER_BYTES } from '../ts/protocol/frame'
import { fixedRequestBound, writeFixedRequest } from '../ts/protocol/request-frames'

/** Keys of every text-length class: 0–23 bytes, 24–255, 256–65535, 65536+, and multi-byte UTF-8 of each. */
const KEYS = [
  '',
  'a',
  'svc:table:pk',
  'k'.repeat(23),
  'k'.repeat(24),
  'k'.repeat(255),
  'k'.repeat(256),
  'k'.repeat(65_535),
  'k'.repeat(65_536),
  'é',
  'é'.repeat(11), // 22 bytes
  'é'.repeat(12), // 24 bytes: the head grows although the string has 12 chars
  '€'.repeat(85), // 255 bytes
  '€'.repeat(86), // 258 bytes
  'a:b:😀',
  'x'.repeat(20) + '€', // ASCII first, then a char that sends it through UTF-8
]

function handWritten(message: object): Buffer {
  const bound = fixedRequestBound(message)
  expect(bound).toBeGreaterThan(0)
  const buf = Buffer.alloc(bound + 8, 0xee)
  const end = writeFixedRequest(buf, 3, message)
  expect(end).toBeLessThanOrEqual(3 + bound)
  expect(buf[end]).toBe(0xee) // nothing written past the end
  return buf.subarray(3, end)
}

function expectSameAsGeneral(message: object): void {
  const frame = handWritten(message)
  const general = encodeMessage(message)
  expect(frame.equals(general)).toBe(true)
  expect(frame.readUInt32BE(0)).toBe(frame.length - FRAME_HEADER_BYTES)
  expect(decodePayload(frame.subarray(FRAME_HEADER_BYTES))).toEqual(decodePayload(general.subarray(FRAME_HEADER_BYTES)))
}

describe('hand-written request frames', () => {
  it('writes Get as the general encoder does, for keys of every length class', () => {
    for (const key of KEYS) expectSameAsGeneral({ type: 'Get', key })
  })

  it('writes Put without options as the general encoder does, for every key and value length class', () => {
    const values = [0, 1, 23, 24, 255, 256, 65_535, 65_536].map((n) => Buffer.alloc(n, n % 251))
    for (const key of KEYS) expectSameAsGeneral({ type: 'Put', key, value: values[key.length % values.length] })
    for (const value of values) expectSameAsGeneral({ type: 'Put', key: 'a:b:c', value })
    expectSameAsGeneral({ type: 'Put', key: 'a:b:c', value: new Uint8Array([1, 2, 3]) })
    // The client passes absent options as undefined fields: the frame leaves them out.
    const frame = handWritten({ type: 'Put', key: 'a:b:c', value: Buffer.from('v'), ttlMs: undefined, version: undefined, dependsOn: undefined, publish: undefined })
    expect(frame.equals(encodeMessage({ type: 'Put', key: 'a:b:c', value: Buffer.from('v') }))).toBe(true)
  })

  it('writes MGet as the general encoder does, for lists of every length class', () => {
    for (const count of [0, 1, 23, 24, 255, 256]) expectSameAsGeneral({ type: 'MGet', keys: Array.from({ length: count }, (_, i) => KEYS[i % KEYS.length]) })
  })

  it('leaves other messages, options and unexpected field types to the general encoder', () => {
    for (const message of [
      { type: 'Ping' },
      { type: 'GetWithMeta', key: 'a:b:c' },
      { type: 'Get', key: 7 },
      { type: 'Put', key: 'a:b:c', value: Buffer.from('v'), ttlMs: 10 },
      { type: 'Put', key: 'a:b:c', value: Buffer.from('v'), publish: false },
      { type: 'Put', key: 'a:b:c', value: 'text' },
      { type: 'MGet', keys: ['a:b:c', 1] },
      { type: 'MGet', keys: 'a:b:c' },
    ]) {
      expect(fixedRequestBound(message)).toBe(-1)
    }
  })
})
