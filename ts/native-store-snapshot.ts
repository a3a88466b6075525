// NativeStore.fromSnapshot()'s load: a missing file starts the store empty; a file that
// cannot be used (corrupt, truncated, foreign, incompatible, too old) is never fatal: it is
// moved aside to `<file>.corrupt-<ISO time without colons>` and the store starts empty.
// Either way `store.snapshotLoad` says what happened.

import { rename, stat } from 'node:fs/promises'
import type { RawStore } from '../binding'
import { fromNative, LocalCachedError } from './errors'
import type { SnapshotLoad } from './native-store-types'

/** The codes of a file that is there but cannot be used: moved aside, never thrown. */
const UNUSABLE = new Set(['SnapshotCorrupt', 'SnapshotIncompatible', 'SnapshotTooOld'])

const EMPTY = { loaded: 0, skippedExpired: 0, skippedOverBudget: 0, savedAtMs: 0 } as const

/** Loads `path` into the (new, empty) store; throws only for a misuse (BadArgument). */
export async function loadSnapshotInto(native: RawStore, path: string, maxAgeMs: number | undefined): Promise<SnapshotLoad> {
  try {
    await stat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing', ...EMPTY }
  }
  try {
    const report = await native.loadSnapshot(path, maxAgeMs)
    return { status: 'loaded', ...report }
  } catch (raw) {
    const err = fromNative(raw)
    if (!(err instanceof LocalCachedError) || err.code === 'BadArgument' || err.code === 'Closed') throw err
    const reason = { code: err.code, message: err.message }
    // An I/O error (a file we may not read, say) is reported but the file left where it is.
    if (!UNUSABLE.has(err.code)) return { status: 'rejected', ...EMPTY, reason }
    const movedTo = `${path}.corrupt-${new Date().toISOString().replace(/:/g, '')}`
    try {
      await rename(path, movedTo)
      return { status: 'rejected', ...EMPTY, reason, movedTo }
    } catch {
      return { status: 'rejected', ...EMPTY, reason }
    }
  }
}
