// The options each client method takes, and their checks before anything is sent: a typo or
// a value of the wrong type is a BadArgument here, as NativeStore answers the same call,
// rather than the daemon's BadRequest (or silence) later.

import { check, checkOptions, type OptionCheck, type OptionSpec } from '../option-check'
import { LocalCachedError } from '../errors'
import type { ReconnectOptions } from './backoff'
import type { NearCacheOptions } from './near-cache'
import { MAX_SCAN_LIMIT } from '../limits'

export interface ConnectOptions {
  /** Default timeout for the handshake and for every call, in ms. Default 5000. */
  timeoutMs?: number
  /**
   * How long connect() waits for the daemon: until the socket appears and the handshake
   * succeeds, retrying with a short backoff, so a service and its daemon can start in any
   * order. Default 0: fail at once if the daemon is not up.
   */
  waitMs?: number
  /** Reconnect after the connection breaks: { enabled: true, initialDelayMs: 50, maxDelayMs: 2000 } by default. */
  reconnect?: ReconnectOptions
  /**
   * Serve hot reads from an in-process NativeStore kept coherent by the daemon (client
   * tracking on this connection). See docs/near-cache.md for the guarantees.
   */
  nearCache?: NearCacheOptions
}

export interface CallOptions {
  signal?: AbortSignal
  /** Overrides the client's timeoutMs for this call. */
  timeoutMs?: number
}

export interface WriteOptions extends CallOptions {
  /** Whether this write publishes events; omitted means the daemon's --publish-default. */
  publish?: boolean
}

export interface PutOptions extends WriteOptions {
  ttlMs?: number
  /** Refuse (VersionConflict) if the stored entry has a higher version; see NativeStore's SetOptions. */
  version?: number
  /** Keys this value derives from; see NativeStore's SetOptions. (put only) */
  dependsOn?: readonly string[]
}

export interface TtlWriteOptions extends WriteOptions {
  ttlMs?: number
}

export interface ClientEntryMeta {
  value: Buffer
  version: number | null
  ttlMs: number | null
}

export interface ClientKeysOptions extends CallOptions {
  svc?: string
  table?: string
  prefix?: string
  limit?: number
  cursor?: string
}

export type ClientValue = Buffer | Uint8Array | string


const anyString: OptionCheck = (value, name, where) => {
  if (typeof value !== 'string') return check.string(value, name, where)
  return value
}

const fn: OptionCheck = (value, name, where) => {
  if (typeof value !== 'function') throw new LocalCachedError('BadArgument', `${where}: ${name} must be a function`)
  return value
}

/** An option that is itself an options object, checked against its own names and types. */
const nested = (spec: OptionSpec): OptionCheck => (value, name, where) => {
  check.object(value, name, where)
  return checkOptions(`${where} ${name}`, value as object, spec)
}

export const CONNECT_OPTIONS: OptionSpec = {
  timeoutMs: check.integer(1),
  waitMs: check.integer(0),
  reconnect: nested({ enabled: check.boolean, initialDelayMs: check.integer(1), maxDelayMs: check.integer(1) }),
  nearCache: nested({ maxBytes: check.integer(1), ttlMs: check.integer(1), maxValueBytes: check.integer(1), onInvalidated: fn }),
}

const CALL: OptionSpec = { signal: check.signal, timeoutMs: check.integer(1) }
const WRITE: OptionSpec = { ...CALL, publish: check.boolean }
const TTL_WRITE: OptionSpec = { ...WRITE, ttlMs: check.integer(1) }
const PUT: OptionSpec = { ...TTL_WRITE, version: check.integer(0), dependsOn: check.stringArray }
const UPSERT: OptionSpec = { ...TTL_WRITE, version: check.integer(0) }
const KEYS: OptionSpec = { ...CALL, svc: check.string, table: check.string, prefix: anyString, limit: check.integer(1, MAX_SCAN_LIMIT), cursor: anyString }

const SUBSCRIBE: OptionSpec = { svc: check.string, table: check.string, bufferEvents: check.integer(1) }

export const CALL_OPTIONS = { call: CALL, write: WRITE, ttlWrite: TTL_WRITE, put: PUT, upsert: UPSERT, keys: KEYS, subscribe: SUBSCRIBE } as const

/** Throws BadArgument naming the method and the option if `options` has an unknown name or a wrong type. */
export function checkCallOptions<T extends object>(method: string, options: T | undefined, kind: keyof typeof CALL_OPTIONS): T {
  return checkOptions(`client.${method}()`, options, CALL_OPTIONS[kind])
}

/** A copy the caller owns: a value that several callers share (one fetch for concurrent gets) is never handed out twice. */
export function copy(value: Buffer | null): Buffer | null {
  return value === null ? null : Buffer.from(value)
}

/** A value as the bytes the protocol carries. */
export function toBytes(value: ClientValue): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value)
  if (value instanceof Uint8Array) return value
  throw new LocalCachedError('BadArgument', 'value must be a Buffer, Uint8Array or string')
}
