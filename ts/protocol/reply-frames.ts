// The client's reading of the daemon's replies. `Value`, the reply to every get, is read by
// hand when it has the layout the daemon writes (`FrameWriter`): a general CBOR pass would
// build the map and a view of the value that `get` then copies again, about 2 µs of the
// client's ~20 µs of CPU per sequential get (measured for issue #15). Anything else, or a
// `Value` in another valid encoding, goes through the general decoder.

import { decodePayload } from './codec'
import { VALUE_PREFIX } from './frame-writer'
import { headBytes, headLength } from './request-frames'

const CBOR_NULL = 0xf6
const BYTES = 0x40

/**
 * Decodes one reply payload; throws (any error) on bytes that are not one CBOR item. A
 * `Value` reply's bytes are always a fresh Buffer of their own, never a view of `payload`.
 */
export function decodeReply(payload: Buffer): unknown {
  const value = valueReplyBytes(payload)
  if (value !== undefined) return { type: 'Value', value }
  const message = decodePayload(payload) as { type?: unknown; value?: unknown }
  if (message?.type === 'Value' && message.value instanceof Uint8Array) message.value = Buffer.from(message.value)
  return message
}

/** A canonical `Value` reply's value (null for a miss), or undefined if `payload` is not one. */
function valueReplyBytes(payload: Buffer): Buffer | null | undefined {
  const at = VALUE_PREFIX.length
  if (payload.length <= at || payload.compare(VALUE_PREFIX, 0, at, 0, at) !== 0) return undefined
  if (payload[at] === CBOR_NULL) return payload.length === at + 1 ? null : undefined
  const length = headLength(payload, at, BYTES)
  if (length < 0) return undefined
  const start = at + headBytes(payload[at])
  if (start + length !== payload.length) return undefined
  const value = Buffer.allocUnsafe(length)
  payload.copy(value, 0, start, start + length)
  return value
}
