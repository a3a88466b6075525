// The events the daemon publishes, one union shared by the server, the client and the CLI.

export type CacheEvent = LocalEvent & {
  /** The hostId of the daemon whose request caused it, on events a bridge applied (docs/multi-host.md); absent on local ones. */
  origin?: string
}

type LocalEvent =
  /** `cause` is absent for a delete or an invalidation, 'dependency' for an entry whose dependency changed, 'write' for an overwrite under --publish-writes. */
  | { type: 'invalidate'; key: string; cause?: 'dependency' | 'write' }
  | { type: 'table_changed'; key: string }
  | { type: 'evicted'; key: string; reason: 'memory_pressure' | 'expired' }
  | { type: 'lagged'; dropped: number }
  | { type: 'invalidate_scope'; scope: 'table' | 'service' | 'prefix'; svc?: string; table?: string; prefix?: string; removed: number }
  /** `reason` is absent for a clear; 'bridge_gap' or 'bridge_offline' when the bridge emptied the store. */
  | { type: 'flush'; reason?: 'bridge_gap' | 'bridge_offline' }
  | { type: 'reset' }

export interface EventFilter {
  svc?: string
  table?: string
}

/** Whether a subscriber with `filter` receives `event`. Events without a key go to everyone. */
export function eventMatches(filter: EventFilter, event: CacheEvent): boolean {
  if (filter.svc === undefined) return true
  if (!('key' in event)) {
    if (event.type === 'invalidate_scope') {
      if (event.svc === undefined) return true
      return event.svc === filter.svc && (filter.table === undefined || event.table === undefined || event.table === filter.table)
    }
    return true
  }
  const key = event.key
  const firstColon = key.indexOf(':')
  if (key.slice(0, firstColon) !== filter.svc) return false
  if (filter.table === undefined) return true
  const secondColon = key.indexOf(':', firstColon + 1)
  return key.slice(firstColon + 1, secondColon) === filter.table
}
