// A change a request caused, as Operations reports it to its change sink (the bridge): what
// other hosts must drop. Values never cross; a write says which key and at what version.

import type { InvalidationScope } from '../protocol/messages'

/** How a key changed; it decides which event a receiving host publishes. */
export type KeyChangeKind = 'write' | 'upsert' | 'delete' | 'invalidate'

export type Change =
  | {
      kind: KeyChangeKind
      key: string
      /** The version written, when the write had one: a host holding an equal or newer version keeps its entry. */
      version?: number
      /** Whether the origin published an event for this change. */
      published: boolean
      /** The origin's L2 step failed (docs/tiers.md): a receiver deletes the key in L2 itself. */
      l2Failed?: boolean
    }
  | { kind: 'scope'; scope: InvalidationScope; published: boolean; l2Failed?: boolean }
  | { kind: 'clear'; published: boolean; l2Failed?: boolean }

/**
 * Where Operations sends request-caused changes (never evictions, expiries, dependency
 * removals, nor remote changes). With `settled`, the change's L2 step: its announcement waits
 * for it and carries what it resolves to (`l2Failed`).
 */
export type ChangeSink = (change: Change, settled?: Promise<{ l2Failed: true } | undefined>) => void

/** Why the whole store was emptied without a request asking: a bridge gap, or the offline policy. */
export type BridgeFlushReason = 'bridge_gap' | 'bridge_offline'
