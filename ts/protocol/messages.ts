// Every message of the native protocol (docs/protocol.md), with the checks that turn an
// untrusted decoded payload into a typed request or response.

import { LocalCachedError } from '../errors'
import type { CacheEvent } from './events'
import { MAX_BATCH_KEYS, MAX_SCAN_LIMIT } from '../limits'

export const PROTOCOL_VERSION = 1

/** Largest TTL accepted: JavaScript's Number.MAX_SAFE_INTEGER milliseconds. */
export const MAX_TTL_MS = Number.MAX_SAFE_INTEGER

export interface ServerLimits {
  maxFrameBytes: number
  maxValueBytes: number
  maxKeyBytes: number
  /** Interval of heartbeats on subscribed connections; a subscriber that misses 3 may assume the daemon is gone. */
  heartbeatMs: number
}

export type Request =
  | { type: 'Hello'; protocolVersion: number }
  | { type: 'Ping' }
  | { type: 'Get'; key: string }
  | { type: 'Put'; key: string; value: Uint8Array; ttlMs?: number; version?: number; dependsOn?: string[]; publish?: boolean; lease?: boolean }
  | { type: 'Del'; key: string; publish?: boolean }
  | { type: 'Invalidate'; key: string; publish?: boolean }
  | { type: 'TableChangedUpsert'; svc: string; table: string; pk: string; value: Uint8Array; ttlMs?: number; version?: number; publish?: boolean }
  | { type: 'Subscribe'; svc?: string; table?: string }
  | { type: 'Stats' }
  | { type: 'MGet'; keys: string[] }
  | { type: 'MSet'; entries: Array<[string, Uint8Array]>; ttlMs?: number; publish?: boolean }
  | { type: 'MDel'; keys: string[]; publish?: boolean }
  | { type: 'Exists'; keys: string[] }
  | { type: 'Incr'; key: string; delta: number; ttlMs?: number; publish?: boolean }
  | { type: 'GetWithMeta'; key: string; track?: boolean }
  | { type: 'Cas'; key: string; expected: Uint8Array | null; next: Uint8Array; publish?: boolean }
  | { type: 'Keys'; svc?: string; table?: string; prefix?: string; limit?: number; cursor?: string }
  | { type: 'Clear'; publish?: boolean }
  | { type: 'InvalidateTable'; svc: string; table: string; publish?: boolean }
  | { type: 'InvalidateService'; svc: string; publish?: boolean }
  | { type: 'InvalidatePrefix'; prefix: string; publish?: boolean }
  | { type: 'Track' }
  | { type: 'Lease'; key: string; ttlMs: number }
  | { type: 'LeaseRelease'; key: string }
  | { type: 'Snapshot' }

export type RequestType = Request['type']

export type Response =
  | { type: 'HelloOk'; protocolVersion: number; serverVersion: string; limits: ServerLimits }
  | { type: 'Pong' }
  | { type: 'Value'; value: Uint8Array | null }
  | { type: 'Ok' }
  | { type: 'Deleted'; existed: boolean }
  | { type: 'StatsBinary'; stats: Uint8Array }
  | { type: 'Err'; code: string; message: string }
  | { type: 'Values'; values: Array<Uint8Array | null> }
  | { type: 'Integer'; value: number }
  | { type: 'Bool'; value: boolean }
  | { type: 'Meta'; value: Uint8Array | null; version: number | null; ttlMs: number | null }
  | { type: 'Keys'; keys: string[]; cursor: string | null }

/**
 * What the daemon sends unasked: events and heartbeats on a subscribed connection; on a
 * tracking connection (after `Track`), heartbeats and `Invalidated` between its replies.
 */
export type Push = { type: 'Event'; event: CacheEvent } | { type: 'Heartbeat'; unixMs: number } | ({ type: 'Invalidated' } & Invalidation)

/** A scoped invalidation, as the daemon pushes it to tracking connections. */
export type InvalidationScope = { scope: 'table'; svc: string; table: string } | { scope: 'service'; svc: string } | { scope: 'prefix'; prefix: string }

/** What an `Invalidated` push says changed: keys, a scope, or everything. */
export type Invalidation = { keys: string[] } | InvalidationScope | { all: true; reason: FlushAllReason }

/** clear: a Clear request; lagged: changes were lost on this connection; bridge_gap / bridge_offline: the cross-host bridge missed changes or lost contact (docs/multi-host.md). */
export type FlushAllReason = 'clear' | 'lagged' | 'bridge_gap' | 'bridge_offline'

export const PUSH_TYPES: readonly Push['type'][] = ['Event', 'Heartbeat', 'Invalidated']

export const REQUEST_TYPES: readonly RequestType[] = [
  'Hello', 'Ping', 'Get', 'Put', 'Del', 'Invalidate', 'TableChangedUpsert', 'Subscribe', 'Stats',
  'MGet', 'MSet', 'MDel', 'Exists', 'Incr', 'GetWithMeta', 'Cas', 'Keys', 'Clear',
  'InvalidateTable', 'InvalidateService', 'InvalidatePrefix', 'Track', 'Lease', 'LeaseRelease', 'Snapshot',
]
export const RESPONSE_TYPES: readonly Response['type'][] = ['HelloOk', 'Pong', 'Value', 'Ok', 'Deleted', 'StatsBinary', 'Err', 'Values', 'Integer', 'Bool', 'Meta', 'Keys']

/** Longest load lease: a loader that needs longer should not hold other processes back. */
export const MAX_LEASE_MS = 10 * 60 * 1000

export { MAX_BATCH_KEYS, MAX_SCAN_LIMIT } from '../limits'
const KNOWN_REQUESTS: ReadonlySet<string> = new Set(REQUEST_TYPES)

function bad(message: string): never {
  throw new LocalCachedError('BadRequest', message)
}

function field(message: Record<string, unknown>, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(message, name) ? message[name] : undefined
}

function string(m: Record<string, unknown>, name: string): string {
  const v = field(m, name)
  if (typeof v !== 'string') bad(`${m.type}: '${name}' must be a string`)
  return v
}

function optionalString(m: Record<string, unknown>, name: string): string | undefined {
  const v = field(m, name)
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') bad(`${m.type}: '${name}' must be a string when present`)
  return v
}

function bytes(m: Record<string, unknown>, name: string): Uint8Array {
  const v = field(m, name)
  if (!(v instanceof Uint8Array)) bad(`${m.type}: '${name}' must be a byte string`)
  return v
}

function optionalBoolean(m: Record<string, unknown>, name: string): boolean | undefined {
  const v = field(m, name)
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'boolean') bad(`${m.type}: '${name}' must be a boolean when present`)
  return v
}

function optionalInteger(m: Record<string, unknown>, name: string, min: number, max: number): number | undefined {
  const v = field(m, name)
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${m.type}: '${name}' must be an integer from ${min} to ${max} when present`)
  return v
}

function stringList(m: Record<string, unknown>, name: string): string[] {
  const v = field(m, name)
  if (!Array.isArray(v) || v.length > MAX_BATCH_KEYS || !v.every((k) => typeof k === 'string')) {
    bad(`${m.type}: '${name}' must be an array of at most ${MAX_BATCH_KEYS} strings`)
  }
  return v as string[]
}

function optionalTtl(m: Record<string, unknown>): number | undefined {
  const v = field(m, 'ttlMs')
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_TTL_MS) {
    bad(`${m.type}: 'ttlMs' must be a positive integer number of milliseconds when present`)
  }
  return v
}

/**
 * Checks a decoded payload and returns the request it is. Throws BadRequest for a malformed
 * message and NotSupported for a well-formed one of a type this server does not know.
 */
export function parseRequest(decoded: unknown): Request {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded) || decoded instanceof Uint8Array) {
    bad('a request must be a CBOR map')
  }
  const m = decoded as Record<string, unknown>
  const type = field(m, 'type')
  if (typeof type !== 'string') bad("a request must have a string 'type'")
  if (!KNOWN_REQUESTS.has(type)) throw new LocalCachedError('NotSupported', `unknown request type '${type.slice(0, 64)}'`)
  switch (type as RequestType) {
    case 'Hello': {
      const v = field(m, 'protocolVersion')
      if (typeof v !== 'number' || !Number.isInteger(v)) bad("Hello: 'protocolVersion' must be an integer")
      return { type: 'Hello', protocolVersion: v }
    }
    case 'Ping':
      return { type: 'Ping' }
    case 'Stats':
      return { type: 'Stats' }
    case 'Snapshot':
      return { type: 'Snapshot' }
    case 'Get':
      return { type: 'Get', key: string(m, 'key') }
    case 'Put':
      return {
        type: 'Put',
        key: string(m, 'key'),
        value: bytes(m, 'value'),
        ttlMs: optionalTtl(m),
        version: optionalInteger(m, 'version', 0, MAX_TTL_MS),
        dependsOn: field(m, 'dependsOn') === undefined || field(m, 'dependsOn') === null ? undefined : stringList(m, 'dependsOn'),
        publish: optionalBoolean(m, 'publish'),
        lease: optionalBoolean(m, 'lease'),
      }
    case 'Del':
      return { type: 'Del', key: string(m, 'key'), publish: optionalBoolean(m, 'publish') }
    case 'Invalidate':
      return { type: 'Invalidate', key: string(m, 'key'), publish: optionalBoolean(m, 'publish') }
    case 'TableChangedUpsert':
      return {
        type: 'TableChangedUpsert',
        svc: string(m, 'svc'),
        table: string(m, 'table'),
        pk: string(m, 'pk'),
        value: bytes(m, 'value'),
        ttlMs: optionalTtl(m),
        version: optionalInteger(m, 'version', 0, MAX_TTL_MS),
        publish: optionalBoolean(m, 'publish'),
      }
    case 'MGet':
      return { type: 'MGet', keys: stringList(m, 'keys') }
    case 'MDel':
      return { type: 'MDel', keys: stringList(m, 'keys'), publish: optionalBoolean(m, 'publish') }
    case 'Exists':
      return { type: 'Exists', keys: stringList(m, 'keys') }
    case 'MSet': {
      const entries = field(m, 'entries')
      const ok =
        Array.isArray(entries) &&
        entries.length <= MAX_BATCH_KEYS &&
        entries.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && e[1] instanceof Uint8Array)
      if (!ok) bad(`MSet: 'entries' must be an array of at most ${MAX_BATCH_KEYS} [key, bytes] pairs`)
      return { type: 'MSet', entries: entries as Array<[string, Uint8Array]>, ttlMs: optionalTtl(m), publish: optionalBoolean(m, 'publish') }
    }
    case 'Incr':
      return { type: 'Incr', key: string(m, 'key'), delta: optionalInteger(m, 'delta', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) ?? 1, ttlMs: optionalTtl(m), publish: optionalBoolean(m, 'publish') }
    case 'GetWithMeta':
      return { type: 'GetWithMeta', key: string(m, 'key'), track: optionalBoolean(m, 'track') }
    case 'Track':
      return { type: 'Track' }
    case 'Lease': {
      const ttlMs = optionalTtl(m)
      if (ttlMs === undefined || ttlMs > MAX_LEASE_MS) bad(`Lease: 'ttlMs' must be an integer from 1 to ${MAX_LEASE_MS}`)
      return { type: 'Lease', key: string(m, 'key'), ttlMs }
    }
    case 'LeaseRelease':
      return { type: 'LeaseRelease', key: string(m, 'key') }
    case 'Cas': {
      const expected = field(m, 'expected')
      if (expected !== null && expected !== undefined && !(expected instanceof Uint8Array)) bad("Cas: 'expected' must be a byte string or null")
      return { type: 'Cas', key: string(m, 'key'), expected: (expected as Uint8Array | undefined) ?? null, next: bytes(m, 'next'), publish: optionalBoolean(m, 'publish') }
    }
    case 'Keys':
      return {
        type: 'Keys',
        svc: optionalString(m, 'svc'),
        table: optionalString(m, 'table'),
        prefix: optionalString(m, 'prefix'),
        limit: optionalInteger(m, 'limit', 1, MAX_SCAN_LIMIT),
        cursor: optionalString(m, 'cursor'),
      }
    case 'Clear':
      return { type: 'Clear', publish: optionalBoolean(m, 'publish') }
    case 'InvalidateTable':
      return { type: 'InvalidateTable', svc: string(m, 'svc'), table: string(m, 'table'), publish: optionalBoolean(m, 'publish') }
    case 'InvalidateService':
      return { type: 'InvalidateService', svc: string(m, 'svc'), publish: optionalBoolean(m, 'publish') }
    case 'InvalidatePrefix':
      return { type: 'InvalidatePrefix', prefix: string(m, 'prefix'), publish: optionalBoolean(m, 'publish') }
    case 'Subscribe': {
      const svc = optionalString(m, 'svc')
      const table = optionalString(m, 'table')
      if (table !== undefined && svc === undefined) bad("Subscribe: 'table' needs 'svc'")
      return { type: 'Subscribe', svc, table }
    }
  }
}

export function isResponse(value: unknown): value is Response {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
}

export function isErr(value: Response): value is Extract<Response, { type: 'Err' }> {
  return value.type === 'Err'
}

export function isPush(value: unknown): value is Push {
  const type = (value as { type?: unknown } | null)?.type
  return type === 'Event' || type === 'Heartbeat' || type === 'Invalidated'
}
