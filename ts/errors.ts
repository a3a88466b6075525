// The one table of error codes. Every LocalCachedError carries one of these as `code`;
// docs/errors.md documents each, and a test keeps the two in step.

import { MAX_KEY_BYTES } from './limits'

export const ERROR_CODES = {
  InvalidKey: `The key breaks the rule: svc:table:pk, three non-empty segments of [A-Za-z0-9._-], at most ${MAX_KEY_BYTES} bytes.`,
  ValueTooLarge: 'The value is over maxValueBytes, or key + value + per-entry overhead can never fit in maxBytes. Nothing was stored.',
  BadArgument: 'A local API was misused: a wrong type, an out-of-range option, a TTL that is not a positive integer.',
  BadRequest: 'A malformed request on the wire: not CBOR, not a map, a missing or mistyped field.',
  FrameTooLarge: 'A frame declared a length over the daemon\'s --max-frame-bytes; the connection is closed.',
  ProtocolVersion: 'The handshake named a protocol version the daemon does not support; the connection is closed.',
  NotSupported: 'Not available here: a request type this daemon does not know (an older daemon than the client), the daemon on a platform without Unix sockets (Windows), or a Node.js without the N-API functions the addon needs.',
  Closed: 'The store or client was closed by its owner; create a new one.',
  ConnectionLost: 'The connection to the daemon broke, or is not up; the call was not (or may not have been) applied.',
  Timeout: 'The call outran its timeout; the daemon may still apply it.',
  CannotListen: 'The daemon cannot listen where it was told: the socket\'s directory is missing or not writable, or the TCP port is taken or not permitted.',
  LimitExceeded: 'A daemon limit refused the request (connections, subscribers).',
  NotAnInteger: 'incr on a value that is not an ASCII decimal integer in the signed 64-bit range.',
  Overflow: 'incr whose result would leave the signed 64-bit range (or, on the JS API, the safe-integer range); nothing was stored.',
  VersionConflict: 'A versioned write older than the version stored with the entry; the stored value stays.',
  LoaderFailed: 'The loader given to getOrLoad threw or rejected; nothing was cached. The loader\'s error is the cause.',
  LoaderTimeout: 'The loader given to getOrLoad did not settle within loaderTimeoutMs; nothing was cached.',
  BridgeUnavailable: 'serve --bridge could not reach its engine (Redis or NATS) at start-up, or the engine refused it; the daemon did not start. Credentials in the URL are shown as ***.',
  HostIdInUse: 'Another daemon already publishes on the bridge with this --host-id; the younger of the two stops (exit 1). Give each daemon its own host id.',
  SnapshotIo: 'A snapshot could not be written or read: the directory is missing or not writable, the disk is full, or the store was closed during the save. A failed save keeps the previous file.',
  SnapshotCorrupt: 'A snapshot file is not one (wrong magic), is truncated, or fails its checksum or a length check.',
  SnapshotIncompatible: 'A snapshot was written by another format version, or under other key rules or limits (its fingerprint differs).',
  SnapshotTooOld: 'A snapshot was saved longer ago than snapshotMaxAgeMs allows.',
  Internal: 'A bug in localcached-native (a failed N-API call, a caught panic, an unexpected reply). Please report it.',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class LocalCachedError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LocalCachedError'
    this.code = code
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code)
}

/** Turns an error thrown by the native addon (a plain Error with `code`) into a LocalCachedError. */
export function fromNative(err: unknown): unknown {
  if (err instanceof Error && !(err instanceof LocalCachedError)) {
    const code = (err as { code?: unknown }).code
    if (isErrorCode(code)) return new LocalCachedError(code, err.message)
  }
  return err
}
