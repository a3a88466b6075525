// The frames of the client's commonest requests, written by hand: `Get`, `Put` without
// options and `MGet`. Their layout is fixed, so they skip the general CBOR pass and the copy
// of its output into a frame. The bytes are the ones the codec's encoder writes for the same
// message (a map header `b9 00 NN`, minimal text and byte-string heads), which a test checks
// for keys of every length class; any other message, or one with a field of an unexpected
// type, is left to the general encoder.

import { FRAME_HEADER_BYTES } from './frame'

const TEXT = 0x60
const BYTES = 0x40
const ARRAY = 0x80
/** The largest CBOR head: the initial byte and a 32-bit length. */
const HEAD_BYTES = 5

// CBOR: a map of two pairs (cbor-x writes an object's map head as b9 and two length bytes),
// "type": "Get", then the key "key".
const GET_PREFIX = cborPrefix(2, 'Get', 'key')
// A map of three pairs, "type": "Put", then the key "key"; "value" follows the key's text.
const PUT_PREFIX = cborPrefix(3, 'Put', 'key')
const VALUE_LABEL = Buffer.from([0x65, ...Buffer.from('value')])
// A map of two pairs, "type": "MGet", then the key "keys".
const MGET_PREFIX = cborPrefix(2, 'MGet', 'keys')

/**
 * How many bytes the frame of `message` can take at most when it has a fixed layout, or -1
 * when it must go through the general encoder. Pass a positive bound to `writeFixedRequest`.
 */
export function fixedRequestBound(message: object): number {
  const m = message as Record<string, unknown>
  switch (m.type) {
    case 'Get':
      return typeof m.key === 'string' ? FRAME_HEADER_BYTES + GET_PREFIX.length + textBound(m.key) : -1
    case 'Put':
      if (typeof m.key !== 'string' || !(m.value instanceof Uint8Array)) return -1
      if (m.ttlMs !== undefined || m.version !== undefined || m.dependsOn !== undefined || m.publish !== undefined) return -1
      return FRAME_HEADER_BYTES + PUT_PREFIX.length + textBound(m.key) + VALUE_LABEL.length + HEAD_BYTES + m.value.length
    case 'MGet': {
      const keys = m.keys
      if (!Array.isArray(keys)) return -1
      let bound = FRAME_HEADER_BYTES + MGET_PREFIX.length + HEAD_BYTES
      for (const key of keys) {
        if (typeof key !== 'string') return -1
        bound += textBound(key)
      }
      return bound
    }
    default:
      return -1
  }
}

/**
 * Writes the frame of `message` at `at` and returns where it ends. Only for a message whose
 * `fixedRequestBound` is positive, into a buffer with at least that many bytes from `at`.
 */
export function writeFixedRequest(buf: Buffer, at: number, message: object): number {
  const m = message as { type: string; key: string; value: Uint8Array; keys: string[] }
  let end = at + FRAME_HEADER_BYTES
  if (m.type === 'Get') {
    end = copyAt(buf, end, GET_PREFIX)
    end = textAt(buf, end, m.key)
  } else if (m.type === 'Put') {
    end = copyAt(buf, end, PUT_PREFIX)
    end = textAt(buf, end, m.key)
    end = copyAt(buf, end, VALUE_LABEL)
    end = headAt(buf, end, BYTES, m.value.length)
    end = copyAt(buf, end, m.value)
  } else {
    end = copyAt(buf, end, MGET_PREFIX)
    end = headAt(buf, end, ARRAY, m.keys.length)
    for (const key of m.keys) end = textAt(buf, end, key)
  }
  buf.writeUInt32BE(end - at - FRAME_HEADER_BYTES, at)
  return end
}

/** A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, 4 bytes for 2 units). */
function textBound(s: string): number {
  return HEAD_BYTES + 3 * s.length
}

/** A text string: ASCII is copied a char at a time (keys are short and ASCII), anything else through UTF-8. */
function textAt(buf: Buffer, at: number, s: string): number {
  const n = s.length
  const start = headAt(buf, at, TEXT, n)
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) return utf8TextAt(buf, at, s)
    buf[start + i] = c
  }
  return start + n
}

function utf8TextAt(buf: Buffer, at: number, s: string): number {
  const bytes = Buffer.byteLength(s)
  const start = headAt(buf, at, TEXT, bytes)
  return start + buf.write(s, start, bytes, 'utf8')
}

/** A CBOR head: major type (as its high bits) and a length, in its shortest form. */
function headAt(buf: Buffer, at: number, major: number, n: number): number {
  if (n < 24) {
    buf[at] = major | n
    return at + 1
  }
  if (n < 0x100) {
    buf[at] = major | 24
    buf[at + 1] = n
    return at + 2
  }
  if (n < 0x10000) {
    buf[at] = major | 25
    buf.writeUInt16BE(n, at + 1)
    return at + 3
  }
  buf[at] = major | 26
  buf.writeUInt32BE(n, at + 1)
  return at + 5
}

function copyAt(buf: Buffer, at: number, bytes: Uint8Array): number {
  buf.set(bytes, at)
  return at + bytes.length
}

/** `{ type: <type>, <field>: …` as cbor-x writes an object of `pairs` entries, up to the field's value. */
function cborPrefix(pairs: number, type: string, field: string): Buffer {
  const text = (s: string) => [TEXT | s.length, ...Buffer.from(s)]
  return Buffer.from([0xb9, 0, pairs, ...text('type'), ...text(type), ...text(field)])
}

// --- the daemon's side: recognizing the same frames -------------------------------------------

/** readRunRequest's answers. */
export const RUN_NONE = 0
export const RUN_GET = 1
export const RUN_PUT = 2

// The payloads after their map head: "type": "Get", then the key "key" (and for a Put, the
// key's text is followed by "value").
const GET_BODY = cborPrefix(2, 'Get', 'key').subarray(3)
const PUT_BODY = cborPrefix(3, 'Put', 'key').subarray(3)
const MAP = 0xa0

/**
 * Recognizes the payload of a `Get` or a `Put` without options in the layout
 * writeFixedRequest writes (or with a one-byte map head, as other encoders write it), and
 * writes its spans at `spans[at..]` as offsets in `payload.buffer`: the key's start and end,
 * and for a Put the value's. RUN_NONE for any other payload, which the general decoder
 * handles: a payload recognized here decodes to the same request there.
 */
export function readRunRequest(payload: Buffer, spans: Int32Array, at: number): number {
  const n = payload.length
  if (n < 12) return RUN_NONE
  let i = payload[0] === 0xb9 && payload[1] === 0 ? 3 : 1
  const pairs = i === 3 ? payload[2] : payload[0] - MAP
  if (pairs !== 2 && pairs !== 3) return RUN_NONE
  const body = pairs === 2 ? GET_BODY : PUT_BODY
  if (n < i + body.length + 1) return RUN_NONE
  for (let j = 0; j < body.length; j++) if (payload[i + j] !== body[j]) return RUN_NONE
  i += body.length
  const base = payload.byteOffset
  const key = headLength(payload, i, TEXT)
  if (key < 0) return RUN_NONE
  i += headBytes(payload[i])
  const keyEnd = i + key
  if (pairs === 2) {
    if (keyEnd !== n) return RUN_NONE
    spans[at] = base + i
    spans[at + 1] = base + keyEnd
    return RUN_GET
  }
  i = keyEnd
  if (n < i + VALUE_LABEL.length + 1) return RUN_NONE
  for (let j = 0; j < VALUE_LABEL.length; j++) if (payload[i + j] !== VALUE_LABEL[j]) return RUN_NONE
  i += VALUE_LABEL.length
  const value = headLength(payload, i, BYTES)
  if (value < 0) return RUN_NONE
  const valueStart = i + headBytes(payload[i])
  if (valueStart + value !== n) return RUN_NONE
  spans[at] = base + keyEnd - key
  spans[at + 1] = base + keyEnd
  spans[at + 2] = base + valueStart
  spans[at + 3] = base + n
  return RUN_PUT
}

/** The length a definite text or byte-string head at `at` declares, or -1 for another item or a head past the end. */
export function headLength(buf: Buffer, at: number, major: number): number {
  if (at >= buf.length) return -1
  const b = buf[at]
  if ((b & 0xe0) !== major) return -1
  const info = b & 0x1f
  if (info < 24) return info
  const bytes = headBytes(b) - 1
  if (bytes > 4 || at + bytes >= buf.length) return -1
  if (info === 24) return buf[at + 1]
  if (info === 25) return buf.readUInt16BE(at + 1)
  return buf.readUInt32BE(at + 1)
}

/** How many bytes a head with this initial byte takes (9 for 64-bit and indefinite ones: never accepted). */
export function headBytes(initial: number): number {
  const info = initial & 0x1f
  return info < 24 ? 1 : info === 24 ? 2 : info === 25 ? 3 : info === 26 ? 5 : 9
}
