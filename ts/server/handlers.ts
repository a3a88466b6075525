// One small handler per request kind: each turns a checked request into a daemon operation
// and shapes its reply. What an operation does (store, near caches, leases, events) lives in
// operations.ts; errors are thrown as LocalCachedError and answered by the caller. A read that
// asks L2 answers with a promise; the connection keeps its later replies behind it.

import type { Daemon } from './daemon'
import type { EntryMeta } from '../native-store'
import type { Request, Response } from '../protocol/messages'
import type { MaybeAsync } from './operations'

type Handler<T extends Request['type']> = (daemon: Daemon, request: Extract<Request, { type: T }>) => MaybeAsync<Response>

/** Shapes an answer that may come later. (Not named `then`: a module exporting `then` is a thenable.) */
export function shape<T, R>(value: MaybeAsync<T>, shapeOf: (value: T) => R): MaybeAsync<R> {
  return value instanceof Promise ? value.then(shapeOf) : shapeOf(value)
}

const OK: Response = { type: 'Ok' }

const handlePing: Handler<'Ping'> = () => ({ type: 'Pong' })

const handleGet: Handler<'Get'> = (daemon, { key }) => shape(daemon.ops.get(key), (value) => ({ type: 'Value', value: value ?? null }))

const handlePut: Handler<'Put'> = (daemon, { key, value, ttlMs, version, dependsOn, publish }) => {
  daemon.ops.put(key, value, { ttlMs, version, dependsOn, publish })
  return OK
}

const handleMGet: Handler<'MGet'> = (daemon, { keys }) => shape(daemon.ops.mget(keys), (values) => ({ type: 'Values', values: values.map((v) => v ?? null) }))

const handleMSet: Handler<'MSet'> = (daemon, { entries, ttlMs, publish }) => {
  daemon.ops.mset(entries, { ttlMs, publish })
  return OK
}

const handleMDel: Handler<'MDel'> = (daemon, { keys, publish }) => ({ type: 'Integer', value: count(daemon.ops.mdel(keys, { publish })) })

const handleExists: Handler<'Exists'> = (daemon, { keys }) => ({ type: 'Integer', value: daemon.ops.exists(keys) })

const handleIncr: Handler<'Incr'> = (daemon, { key, delta, ttlMs, publish }) => ({ type: 'Integer', value: daemon.ops.incr(key, delta, { ttlMs, publish }) })

export function metaResponse(meta: EntryMeta | undefined): Response {
  return meta ? { type: 'Meta', ...meta } : { type: 'Meta', value: null, version: null, ttlMs: null }
}

const handleGetWithMeta: Handler<'GetWithMeta'> = (daemon, { key }) => shape(daemon.ops.getWithMeta(key), metaResponse)

const handleCas: Handler<'Cas'> = (daemon, { key, expected, next, publish }) => ({ type: 'Bool', value: daemon.ops.cas(key, expected, next, { publish }) })

const handleKeys: Handler<'Keys'> = (daemon, { svc, table, prefix, limit, cursor }) => ({ type: 'Keys', ...daemon.ops.keys({ svc, table, prefix, limit, cursor }) })

const handleInvalidateTable: Handler<'InvalidateTable'> = (daemon, { svc, table, publish }) => ({
  type: 'Integer',
  value: daemon.ops.invalidateScope({ scope: 'table', svc, table }, { publish }),
})

const handleInvalidateService: Handler<'InvalidateService'> = (daemon, { svc, publish }) => ({
  type: 'Integer',
  value: daemon.ops.invalidateScope({ scope: 'service', svc }, { publish }),
})

const handleInvalidatePrefix: Handler<'InvalidatePrefix'> = (daemon, { prefix, publish }) => ({
  type: 'Integer',
  value: daemon.ops.invalidateScope({ scope: 'prefix', prefix }, { publish }),
})

const handleClear: Handler<'Clear'> = (daemon, { publish }) => ({ type: 'Integer', value: daemon.ops.clear({ publish }) })

const handleDel: Handler<'Del'> = (daemon, { key, publish }) => ({ type: 'Deleted', existed: daemon.ops.del(key, { publish }) })

const handleInvalidate: Handler<'Invalidate'> = (daemon, { key, publish }) => {
  daemon.ops.invalidate(key, { publish })
  return OK
}

const handleTableChangedUpsert: Handler<'TableChangedUpsert'> = (daemon, { svc, table, pk, value, ttlMs, version, publish }) => {
  daemon.ops.upsert(svc, table, pk, value, { ttlMs, version, publish })
  return OK
}

const handleStats: Handler<'Stats'> = (daemon) => ({ type: 'StatsBinary', stats: daemon.statsBinary() })

function count(flags: readonly boolean[]): number {
  let n = 0
  for (const f of flags) if (f) n++
  return n
}

/** Requests answered by a handler here; Hello, Subscribe, Track, leases and Snapshot (answered later) live in connection.ts. */
export function handleRequest(daemon: Daemon, request: Exclude<Request, { type: 'Hello' | 'Subscribe' | 'Track' | 'Lease' | 'LeaseRelease' | 'Snapshot' }>): MaybeAsync<Response> {
  switch (request.type) {
    case 'Ping':
      return handlePing(daemon, request)
    case 'Get':
      return handleGet(daemon, request)
    case 'Put':
      return handlePut(daemon, request)
    case 'Del':
      return handleDel(daemon, request)
    case 'Invalidate':
      return handleInvalidate(daemon, request)
    case 'TableChangedUpsert':
      return handleTableChangedUpsert(daemon, request)
    case 'Stats':
      return handleStats(daemon, request)
    case 'MGet':
      return handleMGet(daemon, request)
    case 'MSet':
      return handleMSet(daemon, request)
    case 'MDel':
      return handleMDel(daemon, request)
    case 'Exists':
      return handleExists(daemon, request)
    case 'Incr':
      return handleIncr(daemon, request)
    case 'GetWithMeta':
      return handleGetWithMeta(daemon, request)
    case 'Cas':
      return handleCas(daemon, request)
    case 'Keys':
      return handleKeys(daemon, request)
    case 'Clear':
      return handleClear(daemon, request)
    case 'InvalidateTable':
      return handleInvalidateTable(daemon, request)
    case 'InvalidateService':
      return handleInvalidateService(daemon, request)
    case 'InvalidatePrefix':
      return handleInvalidatePrefix(daemon, request)
  }
}
