// CBOR for message payloads: plain maps with string keys and byte strings, no cbor-x
// extensions (records, typed-array tags), so any CBOR library can speak the protocol.

import { Encoder } from 'cbor-x'
import { encodeFrame } from './frame'

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, pack: false })

export function encodeMessage(message: object): Buffer {
  return encodeFrame(cbor.encode(message))
}

/**
 * A message's payload without its frame header. The result is a view of the encoder's own
 * buffer: copy it (FrameWriter does) before the next call to this function.
 */
export function encodePayload(message: object): Uint8Array {
  return cbor.encode(message)
}

/** Decodes one payload; throws (any error) on bytes that are not one CBOR item. */
export function decodePayload(payload: Uint8Array): unknown {
  return cbor.decode(payload)
}
