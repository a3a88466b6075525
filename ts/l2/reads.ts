// A local miss's answer from L2, in each read's shape: get's value, mget's values with the
// hits it already had, getWithMeta's entry. Operations calls these; the fill itself (and the
// fill rule) is the tier's.

import type { EntryMeta } from '../native-store'
import type { PendingRead } from './tier'

/** The value L2 gave `pending`'s key, if any. */
export function valueOf(pending: PendingRead): Promise<Buffer | undefined> {
  return new Promise((resolve) => pending.onSettled((entry) => resolve(entry?.value)))
}

/** `values` (local answers, undefined at each miss) completed from the L2 reads of the misses at `missed`. */
export function completeValues(values: Array<Buffer | undefined>, missed: readonly number[], pendings: ReadonlyArray<PendingRead | undefined>): Promise<Array<Buffer | undefined>> {
  return Promise.all(
    missed.map(async (at, n) => {
      const pending = pendings[n]
      if (pending) values[at] = await valueOf(pending)
    }),
  ).then(() => values)
}

/**
 * getWithMeta's answer from L2. `track` runs as the answer lands, in the fill's tick, before
 * any later change can pass it by; `discarded` says the fill was dropped (the caller's near
 * cache must be told after the reply).
 */
export function metaOf(pending: PendingRead, track?: (discarded: boolean) => void): Promise<EntryMeta | undefined> {
  return new Promise((resolve) =>
    pending.onSettled((entry, discarded) => {
      if (entry === undefined) return resolve(undefined)
      track?.(discarded)
      const ttlMs = entry.expiresAt === undefined ? null : Math.max(1, entry.expiresAt - Date.now())
      resolve({ value: entry.value, version: entry.version ?? null, ttlMs })
    }),
  )
}
