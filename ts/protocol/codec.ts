// CBOR for message payloads: plain maps with string keys and byte strings, no cbor-x
// extensions (records, typed-array tags), so any CBOR library can speak the protocol.

import { Encoder } from 'cbor-x'
import { encodeFrame } from './frame'

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false, pack: false })

export function encodeMessage(message: object): Buffer {
  return encodeFrame(cbor.encode(message))
}

/** Decodes one payload; throws (any error) on bytes that are not one CBOR item. */
export function decodePayload(payload: Uint8Array): unknown {
  return cbor.decode(payload)
}
