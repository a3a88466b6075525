// The bridge's message: one per change, heartbeat or goodbye, JSON in the engine's entry.
// (hostId, epoch, seq) lets a receiver prove it saw every message of an origin in order.

import type { InvalidationScope } from '../protocol/messages'
import type { Change, KeyChangeKind } from '../server/change'

/** The format version; a receiver rejects any other. */
export const BRIDGE_FORMAT_VERSION = 1

export type MessageKind = KeyChangeKind | 'scope' | 'clear' | 'heartbeat' | 'bye'

export interface BridgeMessage {
  v: typeof BRIDGE_FORMAT_VERSION
  hostId: string
  /** Random per daemon start (and per outbox overflow). */
  epoch: string
  /** 1, 2, 3, … within an epoch: one per message, heartbeats and bye included. */
  seq: number
  /** When the epoch began (origin's clock): of two daemons sharing a host id, the younger exits. */
  start: number
  /** Origin's clock when the change was applied there (the lag stat's start). */
  ts: number
  kind: MessageKind
  key?: string
  scope?: InvalidationScope
  version?: number
  /** Whether the origin published an event for the change. */
  published?: boolean
  /** The change did not reach L2 at the origin: receivers delete the key (bump the scope) in L2 themselves. */
  l2Failed?: boolean
}

/** A message as read from the engine: the body may be anything anyone wrote there. */
export interface RawMessage {
  /** The origin named outside the body (a stream field, a header), if any. */
  hostId: string | undefined
  body: string | Uint8Array | undefined
}

/** The wire form: what the publisher writes as the entry's body. */
export function encodeMessage(message: BridgeMessage): string {
  return JSON.stringify(message)
}

const KEY_KINDS = new Set(['write', 'upsert', 'delete', 'invalidate'])
const KINDS = new Set([...KEY_KINDS, 'scope', 'clear', 'heartbeat', 'bye'])

const isNonEmptyString = (x: unknown): x is string => typeof x === 'string' && x.length > 0
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0

function isScope(x: unknown): x is InvalidationScope {
  if (typeof x !== 'object' || x === null) return false
  const s = x as Record<string, unknown>
  if (s.scope === 'table') return isNonEmptyString(s.svc) && isNonEmptyString(s.table)
  if (s.scope === 'service') return isNonEmptyString(s.svc)
  if (s.scope === 'prefix') return typeof s.prefix === 'string'
  return false
}

/** The message, or undefined when the body is not one this version can apply. */
export function decodeMessage(body: string | Uint8Array | undefined): BridgeMessage | undefined {
  if (body === undefined) return undefined
  let m: Record<string, unknown>
  try {
    m = JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined
  if (m.v !== BRIDGE_FORMAT_VERSION || !isNonEmptyString(m.hostId) || !isNonEmptyString(m.epoch)) return undefined
  if (!isCount(m.seq) || (m.seq as number) < 1 || !isCount(m.start) || !isCount(m.ts) || !KINDS.has(m.kind as string)) return undefined
  if (KEY_KINDS.has(m.kind as string) && !isNonEmptyString(m.key)) return undefined
  if (m.kind === 'scope' && !isScope(m.scope)) return undefined
  if (m.version !== undefined && !isCount(m.version)) return undefined
  if (m.published !== undefined && typeof m.published !== 'boolean') return undefined
  if (m.l2Failed !== undefined && typeof m.l2Failed !== 'boolean') return undefined
  return m as unknown as BridgeMessage
}

/** The change a message carries, if it carries one (not a heartbeat or bye). */
export function changeOf(m: BridgeMessage): Change | undefined {
  const published = m.published === true
  const l2Failed = m.l2Failed === true ? { l2Failed: true } : {}
  switch (m.kind) {
    case 'heartbeat':
    case 'bye':
      return undefined
    case 'scope':
      return { kind: 'scope', scope: m.scope!, published, ...l2Failed }
    case 'clear':
      return { kind: 'clear', published, ...l2Failed }
    default:
      return { kind: m.kind, key: m.key!, version: m.version, published, ...l2Failed }
  }
}

/** The message fields a change fills. */
export function changeFields(change: Change): Pick<BridgeMessage, 'kind' | 'key' | 'scope' | 'version' | 'published'> {
  switch (change.kind) {
    case 'scope':
      return { kind: 'scope', scope: change.scope, published: change.published }
    case 'clear':
      return { kind: 'clear', published: change.published }
    default:
      return change.version === undefined
        ? { kind: change.kind, key: change.key, published: change.published }
        : { kind: change.kind, key: change.key, version: change.version, published: change.published }
  }
}
