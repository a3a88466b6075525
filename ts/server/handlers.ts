// One small handler per request kind. Each takes the daemon and a checked request and
// returns the response; errors are thrown as LocalCachedError and answered by the caller.

import type { Daemon } from './daemon'
import type { Request, Response } from '../protocol/messages'

type Handler<T extends Request['type']> = (daemon: Daemon, request: Extract<Request, { type: T }>) => Response

const OK: Response = { type: 'Ok' }

const handlePing: Handler<'Ping'> = () => ({ type: 'Pong' })

const handleGet: Handler<'Get'> = (daemon, { key }) => ({ type: 'Value', value: daemon.store.get(key) ?? null })

const handlePut: Handler<'Put'> = (daemon, { key, value, ttlMs, publish }) => {
  daemon.write(daemon.publishes(publish), () => daemon.store.set(key, value, { ttlMs }))
  return OK
}

const handleDel: Handler<'Del'> = (daemon, { key, publish }) => {
  const existed = daemon.store.delete(key)
  if (existed && daemon.publishes(publish)) daemon.publish({ type: 'invalidate', key })
  return { type: 'Deleted', existed }
}

const handleInvalidate: Handler<'Invalidate'> = (daemon, { key, publish }) => {
  daemon.store.invalidate(key)
  // Published even if the key was absent: other processes may hold it in their own caches.
  if (daemon.publishes(publish)) daemon.publish({ type: 'invalidate', key })
  return OK
}

const handleTableChangedUpsert: Handler<'TableChangedUpsert'> = (daemon, { svc, table, pk, value, ttlMs, publish }) => {
  const publishes = daemon.publishes(publish)
  daemon.write(publishes, () => daemon.store.tableChangedUpsert(svc, table, pk, value, { ttlMs }))
  if (publishes) daemon.publish({ type: 'table_changed', key: `${svc}:${table}:${pk}` })
  return OK
}

const handleStats: Handler<'Stats'> = (daemon) => ({ type: 'StatsBinary', stats: daemon.statsBinary() })

/** Requests answered by a handler here; Hello and Subscribe change the connection's state and live in connection.ts. */
export function handleRequest(daemon: Daemon, request: Exclude<Request, { type: 'Hello' | 'Subscribe' }>): Response {
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
  }
}
