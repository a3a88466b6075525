// One small handler per request kind. Each takes the daemon and a checked request and
// returns the response; errors are thrown as LocalCachedError and answered by the caller.

import type { Daemon } from './daemon'
import type { Request, Response } from '../protocol/messages'

type Handler<T extends Request['type']> = (daemon: Daemon, request: Extract<Request, { type: T }>) => Response

const OK: Response = { type: 'Ok' }

const handlePing: Handler<'Ping'> = () => ({ type: 'Pong' })

const handleGet: Handler<'Get'> = (daemon, { key }) => ({ type: 'Value', value: daemon.store.get(key) ?? null })

const handlePut: Handler<'Put'> = (daemon, { key, value, ttlMs, version, dependsOn, publish }) => {
  daemon.write(daemon.publishes(publish), () => daemon.store.set(key, value, { ttlMs, version, dependsOn }))
  daemon.changed(key)
  return OK
}

const handleMGet: Handler<'MGet'> = (daemon, { keys }) => ({ type: 'Values', values: daemon.store.mget(keys).map((v) => v ?? null) })

const handleMSet: Handler<'MSet'> = (daemon, { entries, ttlMs, publish }) => {
  daemon.write(daemon.publishes(publish), () => daemon.store.mset(entries, { ttlMs }))
  for (const [key] of entries) daemon.changed(key)
  return OK
}

const handleMDel: Handler<'MDel'> = (daemon, { keys, publish }) => {
  const existed = daemon.store.mdelEach(keys)
  const publishes = daemon.publishes(publish)
  existed.forEach((e, i) => {
    if (!e) return
    daemon.changed(keys[i])
    if (publishes) daemon.publish({ type: 'invalidate', key: keys[i] })
  })
  return { type: 'Integer', value: existed.filter(Boolean).length }
}

const handleExists: Handler<'Exists'> = (daemon, { keys }) => ({ type: 'Integer', value: daemon.store.exists(keys) })

const handleIncr: Handler<'Incr'> = (daemon, { key, delta, ttlMs, publish }) => {
  const value = daemon.write(daemon.publishes(publish), () => daemon.store.incr(key, delta, { ttlMs }))
  daemon.changed(key)
  return { type: 'Integer', value }
}

const handleGetWithMeta: Handler<'GetWithMeta'> = (daemon, { key }) => {
  const meta = daemon.store.getWithMeta(key)
  return meta ? { type: 'Meta', ...meta } : { type: 'Meta', value: null, version: null, ttlMs: null }
}

const handleCas: Handler<'Cas'> = (daemon, { key, expected, next, publish }) => {
  const swapped = daemon.write(daemon.publishes(publish), () => daemon.store.cas(key, expected, next))
  if (swapped) daemon.changed(key)
  return { type: 'Bool', value: swapped }
}

const handleKeys: Handler<'Keys'> = (daemon, { svc, table, prefix, limit, cursor }) => ({ type: 'Keys', ...daemon.store.keys({ svc, table, prefix, limit, cursor }) })

// Each scoped invalidation publishes one invalidate_scope event, not one per key. Its svc and
// table (where the scope names them) let subscribers' filters apply.
const handleInvalidateTable: Handler<'InvalidateTable'> = (daemon, { svc, table, publish }) => {
  const { removed } = daemon.store.invalidateTable(svc, table)
  daemon.changedScope({ scope: 'table', svc, table })
  if (daemon.publishes(publish)) daemon.publish({ type: 'invalidate_scope', scope: 'table', svc, table, removed })
  return { type: 'Integer', value: removed }
}

const handleInvalidateService: Handler<'InvalidateService'> = (daemon, { svc, publish }) => {
  const { removed } = daemon.store.invalidateService(svc)
  daemon.changedScope({ scope: 'service', svc })
  if (daemon.publishes(publish)) daemon.publish({ type: 'invalidate_scope', scope: 'service', svc, removed })
  return { type: 'Integer', value: removed }
}

const handleInvalidatePrefix: Handler<'InvalidatePrefix'> = (daemon, { prefix, publish }) => {
  const { removed } = daemon.store.invalidatePrefix(prefix)
  daemon.changedScope({ scope: 'prefix', prefix })
  if (daemon.publishes(publish)) {
    // A prefix that spells out its svc (and table) reaches only subscribers of those.
    const [svc, table, rest] = prefix.split(':')
    const scope = { type: 'invalidate_scope' as const, scope: 'prefix' as const, prefix, removed }
    if (rest !== undefined) daemon.publish({ ...scope, svc, table })
    else if (table !== undefined) daemon.publish({ ...scope, svc })
    else daemon.publish(scope)
  }
  return { type: 'Integer', value: removed }
}

const handleClear: Handler<'Clear'> = (daemon, { publish }) => {
  const removed = daemon.store.clear()
  daemon.cleared()
  if (daemon.publishes(publish)) daemon.publish({ type: 'flush' })
  return { type: 'Integer', value: removed }
}

const handleDel: Handler<'Del'> = (daemon, { key, publish }) => {
  const existed = daemon.write(daemon.publishes(publish), () => daemon.store.delete(key))
  if (existed) daemon.changed(key)
  if (existed && daemon.publishes(publish)) daemon.publish({ type: 'invalidate', key })
  return { type: 'Deleted', existed }
}

const handleInvalidate: Handler<'Invalidate'> = (daemon, { key, publish }) => {
  daemon.write(daemon.publishes(publish), () => daemon.store.invalidate(key))
  daemon.changed(key)
  // Published even if the key was absent: other processes may hold it in their own caches.
  if (daemon.publishes(publish)) daemon.publish({ type: 'invalidate', key })
  return OK
}

const handleTableChangedUpsert: Handler<'TableChangedUpsert'> = (daemon, { svc, table, pk, value, ttlMs, version, publish }) => {
  const publishes = daemon.publishes(publish)
  daemon.write(publishes, () => daemon.store.tableChangedUpsert(svc, table, pk, value, { ttlMs, version }))
  daemon.changed(`${svc}:${table}:${pk}`)
  if (publishes) daemon.publish({ type: 'table_changed', key: `${svc}:${table}:${pk}` })
  return OK
}

const handleStats: Handler<'Stats'> = (daemon) => ({ type: 'StatsBinary', stats: daemon.statsBinary() })

/** Requests answered by a handler here; Hello and Subscribe change the connection's state and live in connection.ts. */
export function handleRequest(daemon: Daemon, request: Exclude<Request, { type: 'Hello' | 'Subscribe' | 'Track' | 'Lease' | 'LeaseRelease' }>): Response {
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
