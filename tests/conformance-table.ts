// The conformance table (tests/conformance.test.ts): every write operation as each door
// spells it, with the one expectation every door must meet, and the harness that runs a case
// against a real daemon and records what it caused. Shared with the bridge door
// (tests/conformance-bridge.test.ts).
import { expect } from 'vitest'
import Redis from 'ioredis'
import { serve, LocalCachedClient, type CacheEvent, type DaemonServer, type NativeStore } from '../ts/index'
import type { ServeOptions } from '../ts/server/options'
import { connect } from 'node:net'
import { encodeMessage } from '../ts/protocol/codec'
import { STATS_FIELDS } from '../ts/stats'
import { RawConnection, eventually, tempSocketPath } from './helpers'

/**
 * The byte budget of every store here: a case's keys fit in it, and a big write on top of the
 * filler does not, so it evicts the filler (the oldest entry: SIEVE's hand clears the visited
 * bits of the keys read and takes it first) and only it. One shard makes the victim exact, and
 * every case starts from an empty store.
 */
export const BUDGET = 4096
export const FILLER_BYTES = 2500
export const BIG_BYTES = 1500
export const STORE_OPTIONS = { maxBytes: BUDGET, shards: 1 }

export type Door = 'native' | 'native-explicit' | 'resp' | 'store'
export type Push = Record<string, unknown>

/** The keys one case works on. */
export interface CaseKeys {
  svc: string
  /** The key the operation is about; present with value '5' and a 60 s TTL before it runs. */
  target: string
  pk: string
  /** Present before; depends on target. In another table, so a table scope reaches it only by dependency. */
  dependent: string
  /** Another key of target's table, present before (mset writes it too). */
  sibling: string
  /** Present only in eviction cases: the service's least recently used entry. */
  filler: string
  /** A lease on this key (another service) must survive everything but clear. */
  bystander: string
  /** The value the operation writes: small, or BIG_BYTES in eviction cases. */
  value: string
}

export interface Expected {
  result: unknown
  /** Whether target itself changed (written or removed): pushed, and its lease ends. */
  changed: boolean
  /** Whether the dependent is removed (by dependency or by the scope). */
  dependentRemoved: boolean
  /** Whether the dependent goes by a dependency removal (a notice), rather than with a scope or clear. */
  dependencyNotice: boolean
  /** The operation's own event when it publishes (removals' events are added by the runner). */
  event: ((k: CaseKeys) => CacheEvent) | null
  /** A scope push, or a flush, instead of per-key pushes. */
  push?: (k: CaseKeys) => Push
  /** Under --publish-writes, a write that publishes also publishes invalidate{cause: 'write'} for these keys. */
  writes?: (k: CaseKeys) => string[]
  /** Whether target's lease ends through a scope or clear. */
  scopeCoversTarget?: boolean
  clearsAll?: boolean
}

export interface Row {
  name: string
  /** Whether the write can be made big enough to force an eviction. */
  evicts: boolean
  native?: (k: CaseKeys) => Record<string, unknown>
  /** The native reply, reduced to the row's result. */
  nativeResult?: (reply: Record<string, unknown>) => unknown
  resp?: (k: CaseKeys) => Array<string>
  respResult?: (reply: unknown) => unknown
  store?: (s: NativeStore, k: CaseKeys) => unknown
  expect: Expected
}

/** A write of target's value: the dependent goes by dependency, and it is a write for --publish-writes. */
export const wrote = (result: unknown): Expected => ({ result, changed: true, dependentRemoved: true, dependencyNotice: true, event: null, writes: (k) => [k.target] })
/** An upsert: as a write, but it announces itself with table_changed, whatever --publish-writes says. */
export const upserted = (): Expected => ({ result: 'ok', changed: true, dependentRemoved: true, dependencyNotice: true, event: (k) => ({ type: 'table_changed', key: k.target }) })
export const removed = (result: unknown): Expected => ({ result, changed: true, dependentRemoved: true, dependencyNotice: true, event: (k) => ({ type: 'invalidate', key: k.target }) })
export const ok = () => 'ok'
export const okReply = (r: unknown) => (r === 'OK' || (r as { type?: string })?.type === 'Ok' ? 'ok' : r)
export const integer = (r: Record<string, unknown>) => r.value
export const asNumber = (r: unknown) => Number(r)

/** Clear, through the native request and one of RESP's two spellings of it. */
function clearRow(name: string, respCommand: 'FLUSHALL' | 'FLUSHDB'): Row {
  return {
    name,
    evicts: false,
    native: () => ({ type: 'Clear' }),
    nativeResult: () => 'cleared',
    resp: () => [respCommand],
    respResult: () => 'cleared',
    store: (s) => (s.clear(), 'cleared'),
    expect: {
      result: 'cleared',
      changed: false,
      dependentRemoved: true,
      dependencyNotice: false,
      clearsAll: true,
      event: () => ({ type: 'flush' }),
      push: () => ({ type: 'Invalidated', all: true, reason: 'clear' }),
    },
  }
}

export const ROWS: Row[] = [
  {
    name: 'put',
    evicts: true,
    native: (k) => ({ type: 'Put', key: k.target, value: Buffer.from(k.value) }),
    nativeResult: okReply,
    resp: (k) => ['SET', k.target, k.value],
    respResult: okReply,
    store: (s, k) => (s.set(k.target, k.value), 'ok'),
    expect: wrote('ok'),
  },
  {
    name: 'put with a TTL',
    evicts: true,
    native: (k) => ({ type: 'Put', key: k.target, value: Buffer.from(k.value), ttlMs: 30_000 }),
    nativeResult: okReply,
    resp: (k) => ['SET', k.target, k.value, 'PX', '30000'],
    respResult: okReply,
    store: (s, k) => (s.set(k.target, k.value, { ttlMs: 30_000 }), 'ok'),
    expect: wrote('ok'),
  },
  {
    name: 'setIf absent, on a present key (not stored)',
    evicts: false,
    resp: (k) => ['SET', k.target, k.value, 'NX'],
    respResult: (r) => (r === null ? 'not stored' : r),
    store: (s, k) => (s.setIf(k.target, k.value, { when: 'absent' }).stored ? 'stored' : 'not stored'),
    expect: { result: 'not stored', changed: false, dependentRemoved: false, dependencyNotice: false, event: null },
  },
  {
    name: 'setIf present',
    evicts: true,
    resp: (k) => ['SET', k.target, k.value, 'XX'],
    respResult: okReply,
    store: (s, k) => (s.setIf(k.target, k.value, { when: 'present' }).stored ? 'ok' : 'not stored'),
    expect: wrote('ok'),
  },
  {
    name: 'setIf returning the old value',
    evicts: true,
    resp: (k) => ['SET', k.target, k.value, 'GET'],
    respResult: (r) => String(r),
    store: (s, k) => String(s.setIf(k.target, k.value, { returnOld: true }).old),
    expect: wrote('5'),
  },
  {
    name: 'setIf keeping the TTL',
    evicts: true,
    resp: (k) => ['SET', k.target, k.value, 'KEEPTTL'],
    respResult: okReply,
    store: (s, k) => (s.setIf(k.target, k.value, { keepTtl: true }).stored ? 'ok' : 'not stored'),
    expect: wrote('ok'),
  },
  {
    name: 'upsert',
    evicts: true,
    native: (k) => ({ type: 'TableChangedUpsert', svc: k.svc, table: 'tbl', pk: k.pk, value: Buffer.from(k.value) }),
    nativeResult: okReply,
    resp: (k) => ['LC.UPSERT', k.svc, 'tbl', k.pk, k.value],
    respResult: okReply,
    store: (s, k) => (s.tableChangedUpsert(k.svc, 'tbl', k.pk, k.value), 'ok'),
    expect: upserted(),
  },
  {
    name: 'upsert with a version and a TTL',
    evicts: true,
    native: (k) => ({ type: 'TableChangedUpsert', svc: k.svc, table: 'tbl', pk: k.pk, value: Buffer.from(k.value), version: 3, ttlMs: 30_000 }),
    nativeResult: okReply,
    resp: (k) => ['LC.UPSERT', k.svc, 'tbl', k.pk, k.value, 'VERSION', '3', 'PX', '30000'],
    respResult: okReply,
    store: (s, k) => (s.tableChangedUpsert(k.svc, 'tbl', k.pk, k.value, { version: 3, ttlMs: 30_000 }), 'ok'),
    expect: upserted(),
  },
  {
    name: 'mset',
    evicts: true,
    native: (k) => ({ type: 'MSet', entries: [[k.target, Buffer.from(k.value)], [k.sibling, Buffer.from('s2')]] }),
    nativeResult: okReply,
    resp: (k) => ['MSET', k.target, k.value, k.sibling, 's2'],
    respResult: okReply,
    store: (s, k) => (s.mset([[k.target, k.value], [k.sibling, 's2']]), 'ok'),
    expect: { ...wrote('ok'), writes: (k) => [k.target, k.sibling] },
  },
  {
    name: 'incr',
    evicts: false,
    native: (k) => ({ type: 'Incr', key: k.target, delta: 1 }),
    nativeResult: integer,
    resp: (k) => ['INCR', k.target],
    respResult: asNumber,
    store: (s, k) => s.incr(k.target, 1),
    expect: wrote(6),
  },
  {
    name: 'incr by a delta',
    evicts: false,
    native: (k) => ({ type: 'Incr', key: k.target, delta: 10 }),
    nativeResult: integer,
    resp: (k) => ['INCRBY', k.target, '10'],
    respResult: asNumber,
    store: (s, k) => Number(s.incrInt64(k.target, 10n)),
    expect: wrote(15),
  },
  {
    name: 'decr',
    evicts: false,
    native: (k) => ({ type: 'Incr', key: k.target, delta: -1 }),
    nativeResult: integer,
    resp: (k) => ['DECR', k.target],
    respResult: asNumber,
    store: (s, k) => s.incr(k.target, -1),
    expect: wrote(4),
  },
  {
    name: 'decr by a delta',
    evicts: false,
    native: (k) => ({ type: 'Incr', key: k.target, delta: -3 }),
    nativeResult: integer,
    resp: (k) => ['DECRBY', k.target, '3'],
    respResult: asNumber,
    store: (s, k) => Number(s.incrInt64(k.target, -3n)),
    expect: wrote(2),
  },
  {
    name: 'put with a TTL in seconds',
    evicts: true,
    native: (k) => ({ type: 'Put', key: k.target, value: Buffer.from(k.value), ttlMs: 30_000 }),
    nativeResult: okReply,
    resp: (k) => ['SET', k.target, k.value, 'EX', '30'],
    respResult: okReply,
    store: (s, k) => (s.set(k.target, k.value, { ttlMs: 30_000 }), 'ok'),
    expect: wrote('ok'),
  },
  {
    name: 'put that depends on another key',
    evicts: true,
    native: (k) => ({ type: 'Put', key: k.target, value: Buffer.from(k.value), dependsOn: [k.sibling] }),
    nativeResult: okReply,
    store: (s, k) => (s.set(k.target, k.value, { dependsOn: [k.sibling] }), 'ok'),
    expect: wrote('ok'),
  },
  {
    name: 'cas that swaps',
    evicts: true,
    native: (k) => ({ type: 'Cas', key: k.target, expected: Buffer.from('5'), next: Buffer.from(k.value) }),
    nativeResult: integer,
    store: (s, k) => s.cas(k.target, '5', k.value),
    expect: wrote(true),
  },
  {
    name: 'cas that does not swap',
    evicts: false,
    native: (k) => ({ type: 'Cas', key: k.target, expected: Buffer.from('other'), next: Buffer.from(k.value) }),
    nativeResult: integer,
    store: (s, k) => s.cas(k.target, 'other', k.value),
    expect: { result: false, changed: false, dependentRemoved: false, dependencyNotice: false, event: null },
  },
  {
    name: 'expire',
    evicts: false,
    resp: (k) => ['PEXPIRE', k.target, '90000'],
    respResult: asNumber,
    store: (s, k) => (s.expire(k.target, 90_000) ? 1 : 0),
    // A new TTL is not a new value: what depends on the key stays.
    expect: { result: 1, changed: true, dependentRemoved: false, dependencyNotice: false, event: null, writes: (k) => [k.target] },
  },
  {
    name: 'expire in seconds',
    evicts: false,
    resp: (k) => ['EXPIRE', k.target, '90'],
    respResult: asNumber,
    store: (s, k) => (s.expire(k.target, 90_000) ? 1 : 0),
    expect: { result: 1, changed: true, dependentRemoved: false, dependencyNotice: false, event: null, writes: (k) => [k.target] },
  },
  {
    name: 'persist',
    evicts: false,
    resp: (k) => ['PERSIST', k.target],
    respResult: asNumber,
    store: (s, k) => (s.expire(k.target, null) ? 1 : 0),
    expect: { result: 1, changed: true, dependentRemoved: false, dependencyNotice: false, event: null, writes: (k) => [k.target] },
  },
  {
    name: 'expire 0 deletes',
    evicts: false,
    resp: (k) => ['EXPIRE', k.target, '0'],
    respResult: asNumber,
    expect: removed(1),
  },
  {
    name: 'del',
    evicts: false,
    native: (k) => ({ type: 'Del', key: k.target }),
    nativeResult: (r) => (r.existed ? 1 : 0),
    resp: (k) => ['DEL', k.target],
    respResult: asNumber,
    store: (s, k) => (s.delete(k.target) ? 1 : 0),
    expect: removed(1),
  },
  {
    name: 'mdel',
    evicts: false,
    native: (k) => ({ type: 'MDel', keys: [k.target, `${k.svc}:tbl:absent`] }),
    nativeResult: integer,
    resp: (k) => ['DEL', k.target, `${k.svc}:tbl:absent`],
    respResult: asNumber,
    store: (s, k) => s.mdel([k.target, `${k.svc}:tbl:absent`]),
    expect: removed(1),
  },
  {
    name: 'getdel',
    evicts: false,
    resp: (k) => ['GETDEL', k.target],
    respResult: (r) => String(r),
    expect: removed('5'),
  },
  {
    name: 'invalidate',
    evicts: false,
    native: (k) => ({ type: 'Invalidate', key: k.target }),
    nativeResult: okReply,
    resp: (k) => ['LC.INVALIDATE', k.target],
    respResult: (r) => (r === 1 ? 'ok' : r),
    store: (s, k) => (s.invalidate(k.target) ? 'ok' : 'absent'),
    expect: removed('ok'),
  },
  {
    name: 'invalidate a table',
    evicts: false,
    native: (k) => ({ type: 'InvalidateTable', svc: k.svc, table: 'tbl' }),
    nativeResult: integer,
    resp: (k) => ['LC.INVALIDATETABLE', k.svc, 'tbl'],
    respResult: asNumber,
    store: (s, k) => s.invalidateTable(k.svc, 'tbl').removed,
    expect: {
      result: 2, // target and sibling; the dependent (another table) goes by dependency
      changed: false,
      dependentRemoved: true,
      dependencyNotice: true,
      scopeCoversTarget: true,
      event: (k) => ({ type: 'invalidate_scope', scope: 'table', svc: k.svc, table: 'tbl', removed: 2 }),
      push: (k) => ({ type: 'Invalidated', scope: 'table', svc: k.svc, table: 'tbl' }),
    },
  },
  {
    name: 'invalidate a service',
    evicts: false,
    native: (k) => ({ type: 'InvalidateService', svc: k.svc }),
    nativeResult: integer,
    resp: (k) => ['LC.INVALIDATESERVICE', k.svc],
    respResult: asNumber,
    store: (s, k) => s.invalidateService(k.svc).removed,
    expect: {
      result: 3, // the dependent is in the service: it goes with the scope, not by dependency
      changed: false,
      dependentRemoved: true,
      dependencyNotice: false,
      scopeCoversTarget: true,
      event: (k) => ({ type: 'invalidate_scope', scope: 'service', svc: k.svc, removed: 3 }),
      push: (k) => ({ type: 'Invalidated', scope: 'service', svc: k.svc }),
    },
  },
  {
    name: 'invalidate a prefix',
    evicts: false,
    native: (k) => ({ type: 'InvalidatePrefix', prefix: `${k.svc}:tbl:` }),
    nativeResult: integer,
    resp: (k) => ['LC.INVALIDATEPREFIX', `${k.svc}:tbl:`],
    respResult: asNumber,
    store: (s, k) => s.invalidatePrefix(`${k.svc}:tbl:`).removed,
    expect: {
      result: 2,
      changed: false,
      dependentRemoved: true,
      dependencyNotice: true,
      scopeCoversTarget: true,
      // A prefix that spells out its svc and table carries them, so subscribers' filters apply.
      event: (k) => ({ type: 'invalidate_scope', scope: 'prefix', prefix: `${k.svc}:tbl:`, svc: k.svc, table: 'tbl', removed: 2 }),
      push: (k) => ({ type: 'Invalidated', scope: 'prefix', prefix: `${k.svc}:tbl:` }),
    },
  },
  clearRow('clear', 'FLUSHALL'),
  clearRow('clear (FLUSHDB)', 'FLUSHDB'),
]

/** A daemon with the connections that observe it. */
export interface Observed {
  server: DaemonServer
  setup: LocalCachedClient
  native: RawConnection
  tracking: RawConnection
  holder: RawConnection
  contender: RawConnection
  redis: Redis
  respSocket: string
  events: CacheEvent[]
  stopEvents: () => void
}

export async function observe(publishDefault: boolean, publishWrites = false, extra: ServeOptions = {}): Promise<Observed> {
  const socket = tempSocketPath()
  const respSocket = tempSocketPath()
  const server = await serve({ socket, respSocket, publishDefault, publishWrites, logLevel: 'silent', ...STORE_OPTIONS, ...extra })
  const setup = await LocalCachedClient.connect(socket)
  const connections = [new RawConnection(socket), new RawConnection(socket), new RawConnection(socket), new RawConnection(socket)]
  for (const c of connections) await c.hello()
  const [native, tracking, holder, contender] = connections
  await request(tracking, { type: 'Track' })
  const redis = new Redis({ path: respSocket, lazyConnect: true, maxRetriesPerRequest: 0 })
  await redis.connect()
  const events: CacheEvent[] = []
  const subscription = await setup.subscribe()
  let stopped = false
  void (async () => {
    while (!stopped) {
      const next = await subscription.next()
      if (next.done) return
      events.push(next.value)
    }
  })()
  return {
    server,
    setup,
    native,
    tracking,
    holder,
    contender,
    redis,
    respSocket,
    events,
    stopEvents: () => {
      stopped = true
      subscription.close()
    },
  }
}

/** Closes what observe() opened. */
export async function closeObserved(o: Observed | undefined): Promise<void> {
  if (!o) return
  o.stopEvents()
  o.redis.disconnect()
  for (const c of [o.native, o.tracking, o.holder, o.contender]) c.destroy()
  await o.setup.close()
  await o.server.close()
}

/** Sends a request and returns its reply, skipping pushes that arrive before it. */
export async function request(c: RawConnection, message: Record<string, unknown>): Promise<Record<string, unknown>> {
  const from = c.messages.length
  c.send(message)
  for (let i = from; ; i++) {
    const m = await c.message(i)
    if (m.type !== 'Invalidated' && m.type !== 'Heartbeat') return m
  }
}

export let caseNumber = 0

export function caseKeys(big: boolean): CaseKeys {
  const n = caseNumber++
  const svc = `c${n}`
  return {
    svc,
    target: `${svc}:tbl:1`,
    pk: '1',
    dependent: `${svc}:deps:1`,
    sibling: `${svc}:tbl:2`,
    filler: `${svc}:fill:1`,
    bystander: `by:tbl:${n}`,
    value: big ? 'v'.repeat(BIG_BYTES) : 'written',
  }
}

export interface Observation {
  result: unknown
  events: CacheEvent[]
  pushes: Push[]
  targetLeaseEnded: boolean
  bystanderLeaseEnded: boolean
  dependentPresent: boolean
}

/** Runs one operation through one door of a daemon and records everything it caused. */
export async function runDaemonCase(o: Observed, row: Row, door: Exclude<Door, 'store'>, publish: boolean, k: CaseKeys, evicting: boolean): Promise<Observation> {
  return runCase(o, k, evicting, async () => {
    if (door === 'resp') {
      const [command, ...args] = row.resp!(k)
      try {
        return row.respResult!(await o.redis.call(command, ...args))
      } catch (err) {
        return `error: ${(err as Error).message}`
      }
    }
    const message = row.native!(k)
    const reply = await request(o.native, door === 'native-explicit' ? { ...message, publish } : message)
    return reply.type === 'Err' ? `error: ${reply.code} ${reply.message}` : row.nativeResult!(reply)
  })
}

/** The keys a pipelined case adds around a row's request: written by plain puts, and one that has expired. */
export function pipelineKeys(k: CaseKeys): { extra: string[]; expired: string; missing: string } {
  return { extra: [`${k.svc}:xtra:1`, `${k.svc}:xtra:2`, `${k.svc}:xtra:3`], expired: `${k.svc}:xtra:gone`, missing: `${k.svc}:xtra:none` }
}

/**
 * The requests of a pipelined case, in order: runs of gets (hits, a miss, an expired entry)
 * and of plain puts, other requests between them, and the row's request in the middle.
 * Each is [native request, RESP command]; the row's is marked by `row: true`.
 */
function pipeline(row: Row, k: CaseKeys): Array<{ native: Record<string, unknown>; resp: string[]; row?: true }> {
  const p = pipelineKeys(k)
  const get = (key: string) => ({ native: { type: 'Get', key }, resp: ['GET', key] })
  const put = (key: string, value: string) => ({ native: { type: 'Put', key, value: Buffer.from(value) }, resp: ['SET', key, value] })
  return [
    get(k.target), get(k.sibling), get(p.missing), get(p.expired), get('not.a.key'),
    put(p.extra[0], 'x1'), put(p.extra[1], 'x2'), put('badkey', 'x'), put(p.extra[2], 'x3'),
    { native: { type: 'Ping' }, resp: ['PING'] },
    get(p.extra[0]), get(k.target),
    { native: row.native?.(k) ?? {}, resp: row.resp?.(k) ?? [], row: true },
    get(k.target), get(k.dependent), get(k.sibling), put(p.extra[0], 'x4'), get(p.extra[0]), get(p.extra[1]),
    { native: { type: 'Exists', keys: [k.target, k.dependent] }, resp: ['EXISTS', k.target, k.dependent] },
    get(k.target), put(k.sibling, 's5'), get(k.sibling),
  ]
}

/** Stats fields that are not counters of what requests did. */
const GAUGES = new Set<string>(['startUnixMs', 'bytesCurrent', 'itemsCurrent', 'subscribersCurrent', 'bytesMax', 'shards', 'maxKeys'])

/** A native request encoded with its fields in another order than the client's: the daemon's general decoder reads it, never a run. */
function singlePathFrame(message: Record<string, unknown>): Buffer {
  const { type, ...rest } = message
  return encodeMessage({ ...rest, type })
}

/** A RESP command as an inline command (the arguments here hold no spaces): the daemon's general parser reads it, never a run. */
function inlineCommand(args: string[]): Buffer {
  return Buffer.from(`${args.join(' ')}\r\n`)
}

/**
 * Runs a row's request inside pipeline() through the native door or RESP: `runs` sends every
 * request in one socket write, in the layout the daemon executes as runs (raw RESP arrays,
 * client-layout frames); otherwise each request is sent alone in a form the daemon reads
 * through its single path, waiting for each reply. Records everything the case caused, with
 * every reply (keys spelled relative to the case's service) as its result.
 */
export async function runPipelinedCase(o: Observed, row: Row, door: 'native' | 'resp', k: CaseKeys, runs: boolean): Promise<Observation> {
  const p = pipelineKeys(k)
  await o.setup.clear({ publish: false })
  await o.setup.put(p.expired, 'e', { ttlMs: 1, publish: false })
  await new Promise((r) => setTimeout(r, 5))
  const steps = pipeline(row, k)
  return runCase(o, k, false, async () => {
    const before = await o.setup.stats()
    const replies: unknown[] = []
    if (door === 'native') {
      const c = o.native
      const from = c.messages.length
      if (runs) c.sendRaw(Buffer.concat(steps.map((s) => encodeMessage(s.native))))
      for (let i = 0; i < steps.length; i++) {
        if (!runs) c.sendRaw(singlePathFrame(steps[i].native))
        const reply = await c.message(from + i)
        replies.push(steps[i].row ? (reply.type === 'Err' ? `error: ${reply.code}` : row.nativeResult!(reply)) : reply)
      }
    } else {
      const c = await rawResp(o)
      try {
        if (runs) c.write(Buffer.concat(steps.map((s) => respCommand(s.resp))))
        for (let i = 0; i < steps.length; i++) {
          if (!runs) c.write(inlineCommand(steps[i].resp))
          replies.push(await c.reply())
        }
      } finally {
        c.close()
      }
    }
    // What the requests counted: the same counters must move by the same amounts either way.
    const after = await o.setup.stats()
    const counted = Object.fromEntries(STATS_FIELDS.filter((f) => !GAUGES.has(f)).map((f) => [f, after[f] - before[f]]))
    return { replies: spelledForCase(replies, k), counted }
  }, false)
}

/** `value` with the case's keys spelled relative to its service, to compare cases of different keys. */
export function spelledForCase<T>(value: T, k: CaseKeys): T {
  return JSON.parse(JSON.stringify(value).replaceAll(`"${k.svc}:`, '"<svc>:').replaceAll(`'${k.svc}:`, "'<svc>:").replaceAll(`"${k.svc}"`, '"<svc>"'))
}

/** A RESP command as an array of bulk strings, as clients send it. */
function respCommand(args: string[]): Buffer {
  return Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.map((a) => Buffer.from(`$${Buffer.byteLength(a)}\r\n${a}\r\n`))])
}

/** A raw RESP connection to o's daemon that reads replies one by one, as text. */
async function rawResp(o: Observed): Promise<{ write(b: Buffer): void; reply(): Promise<string>; close(): void }> {
  const socket = connect(o.respSocket)
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
  let buf = Buffer.alloc(0)
  let wake: (() => void) | undefined
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk])
    wake?.()
  })
  /** One reply's length in buf (simple, error, integer, bulk or nil), or -1 until it is complete. */
  const complete = (): number => {
    const eol = buf.indexOf('\r\n')
    if (eol < 0) return -1
    if (buf[0] !== 0x24) return eol + 2
    const n = Number(buf.toString('latin1', 1, eol))
    if (n < 0) return eol + 2
    return buf.length >= eol + 2 + n + 2 ? eol + 2 + n + 2 : -1
  }
  return {
    write: (b) => socket.write(b),
    async reply() {
      for (let n = complete(); ; n = complete()) {
        if (n >= 0) {
          const text = buf.toString('latin1', 0, n)
          buf = buf.subarray(n)
          return text
        }
        await new Promise<void>((resolve) => {
          wake = resolve
          setTimeout(resolve, 50)
        })
      }
    },
    close: () => socket.destroy(),
  }
}

/** Prepares a case's keys, runs `act` (the operation, returning its result) and records everything it caused. */
async function runCase(o: Observed, k: CaseKeys, evicting: boolean, act: () => Promise<unknown>, clear = true): Promise<Observation> {
  if (clear) await o.setup.clear({ publish: false })
  if (evicting) await o.setup.put(k.filler, 'f'.repeat(FILLER_BYTES), { publish: false })
  await o.setup.put(k.target, '5', { ttlMs: 60_000, publish: false })
  await o.setup.put(k.sibling, 's', { publish: false })
  await o.setup.put(k.dependent, 'd', { dependsOn: [k.target], publish: false })
  // The near cache holds every key. The filler, written first, is the oldest: reads mark keys
  // visited, which spares each for one pass of the SIEVE hand, and the filler is its first stop.
  for (const key of [k.filler, k.target, k.sibling, k.dependent]) if (key !== k.filler || evicting) await request(o.tracking, { type: 'GetWithMeta', key, track: true })
  expect((await request(o.holder, { type: 'Lease', key: k.target, ttlMs: 60_000 })).value).toBe(true)
  expect((await request(o.holder, { type: 'Lease', key: k.bystander, ttlMs: 60_000 })).value).toBe(true)
  const eventsFrom = o.events.length
  const pushesFrom = o.tracking.messages.length

  const result = await act()

  // Everything the operation published precedes this fence on the event stream.
  const fence = `fence:x:${caseNumber}`
  await o.setup.invalidate(fence, { publish: true })
  await eventually(() => o.events.slice(eventsFrom).some((e) => 'key' in e && e.key === fence))
  const events = o.events.slice(eventsFrom, o.events.findIndex((e, i) => i >= eventsFrom && 'key' in e && e.key === fence))
  // And every push precedes the reply to a Ping sent on the tracking connection itself.
  await request(o.tracking, { type: 'Ping' })
  const pushes = o.tracking.messages.slice(pushesFrom).filter((m) => m.type === 'Invalidated')

  const targetLeaseEnded = (await request(o.contender, { type: 'Lease', key: k.target, ttlMs: 60_000 })).value === true
  const bystanderLeaseEnded = (await request(o.contender, { type: 'Lease', key: k.bystander, ttlMs: 60_000 })).value === true
  for (const c of [o.holder, o.contender]) for (const key of [k.target, k.bystander]) await request(c, { type: 'LeaseRelease', key })
  const dependentPresent = (await o.setup.exists([k.dependent])) === 1
  return { result, events, pushes, targetLeaseEnded, bystanderLeaseEnded, dependentPresent }
}

/** What a door must show for `row` when the request publishes (or not), from the one expectation. */
export function expectedObservation(row: Row, k: CaseKeys, publishes: boolean, evicting: boolean, publishWrites = false): Observation {
  const e = row.expect
  const events: CacheEvent[] = []
  const pushes: Push[] = []
  if (evicting) {
    events.push({ type: 'evicted', key: k.filler, reason: 'memory_pressure' })
    pushes.push({ type: 'Invalidated', keys: [k.filler] })
  }
  if (e.dependencyNotice) {
    events.push({ type: 'invalidate', key: k.dependent, cause: 'dependency' })
    pushes.push({ type: 'Invalidated', keys: [k.dependent] })
  }
  if (e.event) events.push(e.event(k))
  if (publishWrites && e.writes) for (const key of e.writes(k)) events.push({ type: 'invalidate', key, cause: 'write' })
  if (e.changed) pushes.push({ type: 'Invalidated', keys: [k.target] })
  if (e.push) pushes.push(e.push(k))
  if (row.name === 'mset') pushes.push({ type: 'Invalidated', keys: [k.sibling] })
  return {
    result: e.result,
    events: publishes ? events : [],
    pushes,
    targetLeaseEnded: e.changed || e.scopeCoversTarget === true || e.clearsAll === true,
    bystanderLeaseEnded: e.clearsAll === true,
    dependentPresent: !e.dependentRemoved,
  }
}

/** Removals and events are compared as sets: their order inside one store call is the core's. */
export function canonical(o: Observation): Observation {
  const byJson = (a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b))
  return { ...o, events: [...o.events].sort(byJson), pushes: [...o.pushes].sort(byJson) }
}

