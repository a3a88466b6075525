// Turns the native flat removal batches into notices and hands them to listeners.

export type RemovalNotice =
  | { key: string; cause: 'evicted' | 'expired' | 'dependency' }
  | { cause: 'overflow'; dropped: number }

export type RemovalListener = (notice: RemovalNotice) => void

const CAUSES = { 1: 'evicted', 2: 'expired', 5: 'dependency' } as const

/** Delivers a `[key, cause, …, dropped]` batch. A listener that throws does not stop the
 * others or the store call that triggered delivery; its error is rethrown on the next
 * tick, as an EventEmitter listener's would surface. */
export function dispatchRemovals(listeners: ReadonlySet<RemovalListener>, batch: Array<string | number>): void {
  if (listeners.size === 0) return
  const last = batch.length - 1
  for (let i = 0; i < last; i += 2) {
    const cause = CAUSES[batch[i + 1] as 1 | 2 | 5]
    deliver(listeners, { key: batch[i] as string, cause })
  }
  const dropped = batch[last] as number
  if (dropped > 0) deliver(listeners, { cause: 'overflow', dropped })
}

function deliver(listeners: ReadonlySet<RemovalListener>, notice: RemovalNotice): void {
  for (const listener of listeners) {
    try {
      listener(notice)
    } catch (err) {
      process.nextTick(() => {
        throw err
      })
    }
  }
}
